"""Help articles: writing them, and searching them ranked by relevance (typo-tolerant for short queries)."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bizzly.errors import DomainError, ErrorCode, Invalid, NotFound
from bizzly.ids import new_id
from bizzly.patch import UNSET, is_set
from domain.catalog.help_repository import HelpArticles
from domain.catalog.models import HelpArticle
from domain.catalog.search import SHORT_QUERY_TERMS, fuzzy_rank, terms
from domain.catalog.text import storable
from domain.privacy.audit import record
from tenants.validation import Problems, required_text

BODY_MAX = 100_000
WORDS_PER_MINUTE = 200
# A search returns at most this many articles (then pages through them).
SEARCH_LIMIT = 100
# Typo-tolerant matching reads at most this many articles' text (a help centre, not a library).
FUZZY_DOCUMENTS = 500


@dataclass(frozen=True)
class ArticlePatch:
    title: Any = UNSET
    body: Any = UNSET
    category: Any = UNSET
    level: Any = UNSET
    read_minutes: Any = UNSET
    published: Any = UNSET


def reading_time(body: str) -> int:
    return max(1, math.ceil(len(body.split()) / WORDS_PER_MINUTE))


def _body(value: str | None) -> str:
    text = (storable(value, field="body") or "").strip()
    if not text:
        raise DomainError(ErrorCode.REQUIRED, "Write the article's text.", field="body")
    if len(text) > BODY_MAX:
        raise Invalid(f"Use at most {BODY_MAX} characters for the article.", field="body")
    return text


def _level(value: str | None) -> str | None:
    text = (storable(value, field="level") or "").strip()
    if len(text) > 40:
        raise Invalid("Use at most 40 characters for the level.", field="level")
    return text or None


def _read_minutes(value: int | None, body: str) -> int:
    if value is None:
        return reading_time(body)
    if not 1 <= value <= 600:
        raise Invalid("Reading time must be between 1 and 600 minutes.", field="readMinutes")
    return value


async def create_article(
    session: AsyncSession,
    *,
    actor: str,
    title: str,
    body: str,
    category: str,
    level: str | None = None,
    read_minutes: int | None = None,
    published: bool = True,
) -> HelpArticle:
    problems = Problems()
    clean_title = problems.check(
        lambda: required_text(storable(title, field="title"), field="title", label="a title")
    )
    clean_body = problems.check(lambda: _body(body))
    clean_category = problems.check(
        lambda: required_text(
            storable(category, field="category"), field="category", label="a category", max_length=100
        )
    )
    clean_level = problems.check(lambda: _level(level))
    minutes = problems.check(lambda: _read_minutes(read_minutes, clean_body or ""))
    problems.raise_if_any()
    assert clean_title
    assert clean_body
    assert clean_category
    assert minutes
    article = HelpArticle(
        id=new_id(),
        title=clean_title,
        body=clean_body,
        category=clean_category,
        level=clean_level,
        read_minutes=minutes,
        published=published,
    )
    HelpArticles(session).add(article)
    await session.flush()
    record(
        session, actor=actor, action="help_article.created", subject_type="HelpArticle", subject_id=article.id
    )
    return article


async def update_article(
    session: AsyncSession, *, actor: str, article_id: uuid.UUID, patch: ArticlePatch
) -> HelpArticle:
    article = await HelpArticles(session).get(article_id)
    if article is None:
        raise NotFound("No help article with this id.", field="id")
    problems = Problems()
    changes: dict[str, Any] = {}
    if is_set(patch.title):
        changes["title"] = problems.check(
            lambda: required_text(storable(patch.title, field="title"), field="title", label="a title")
        )
    if is_set(patch.body):
        changes["body"] = problems.check(lambda: _body(patch.body))
    if is_set(patch.category):
        changes["category"] = problems.check(
            lambda: required_text(
                storable(patch.category, field="category"),
                field="category",
                label="a category",
                max_length=100,
            )
        )
    if is_set(patch.level):
        changes["level"] = problems.check(lambda: _level(patch.level))
    if is_set(patch.read_minutes):
        # null: back to the reading time the text suggests.
        body = changes.get("body") or article.body
        changes["read_minutes"] = problems.check(lambda: _read_minutes(patch.read_minutes, body))
    elif is_set(patch.body) and changes.get("body"):
        changes["read_minutes"] = reading_time(changes["body"])
    if is_set(patch.published):
        if patch.published is None:
            problems.errors.append(
                DomainError(ErrorCode.REQUIRED, "Say whether it is published.", field="published")
            )
        changes["published"] = bool(patch.published)
    problems.raise_if_any()
    for key, value in changes.items():
        setattr(article, key, value)
    await session.flush()
    record(
        session, actor=actor, action="help_article.updated", subject_type="HelpArticle", subject_id=article.id
    )
    return article


async def delete_article(session: AsyncSession, *, actor: str, article_id: uuid.UUID) -> None:
    articles = HelpArticles(session)
    article = await articles.get(article_id)
    if article is None:
        raise NotFound("No help article with this id.", field="id")
    await articles.remove(article)
    await session.flush()
    record(
        session, actor=actor, action="help_article.deleted", subject_type="HelpArticle", subject_id=article_id
    )


async def search_articles(
    session: AsyncSession, *, query: str, published_only: bool, limit: int = SEARCH_LIMIT
) -> list[HelpArticle]:
    """Articles matching ``query``, most relevant first.

    Every term (as a prefix) in the title, category or body, ranked by the database's full-text score;
    for a short query, then the articles that match every term allowing a typo or two (a one-letter
    slip is most of a one-word query); then those matching only some of the terms.
    """
    words = terms(query)
    if not words:
        return []
    repo = HelpArticles(session)
    ranked = await repo.full_text(words, all_terms=True, published_only=published_only, limit=limit)
    if len(words) <= SHORT_QUERY_TERMS and len(ranked) < limit:
        documents = await repo.documents(published_only=published_only, limit=FUZZY_DOCUMENTS)
        ranked += [doc_id for doc_id, _ in fuzzy_rank(words, documents) if doc_id not in ranked]
    if len(words) > 1 and len(ranked) < limit:
        some = await repo.full_text(words, all_terms=False, published_only=published_only, limit=limit)
        ranked += [doc_id for doc_id in some if doc_id not in ranked]
    ranked = ranked[:limit]
    found = await repo.by_ids(ranked, published_only=published_only)
    return [found[i] for i in ranked if i in found]
