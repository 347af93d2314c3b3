"""Help-article search helpers: query terms, the full-text query strings of both dialects, and the
typo-tolerant ranking used for short queries (where one wrong letter is most of the query)."""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

# Letters and digits only: every other character (quotes, operators, colons) is a separator, so no user
# input can change the meaning of an FTS5 MATCH or a tsquery.
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
MAX_TERMS = 8
# A query of at most this many terms is "short": it also gets typo-tolerant matches.
SHORT_QUERY_TERMS = 3
# Field weights: a hit in the title says more than one in the body.
TITLE, CATEGORY, BODY = 3.0, 2.0, 1.0


def fold(text: str) -> str:
    """Lower case without accents ("Café" -> "cafe"), as FTS5's remove_diacritics and our fuzzy match do."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def terms(query: str) -> list[str]:
    seen: list[str] = []
    for word in _WORD.findall(fold(query)):
        if word not in seen:
            seen.append(word)
    return seen[:MAX_TERMS]


def fts5_match(words: list[str], *, all_terms: bool) -> str:
    """An FTS5 MATCH string: each term as a quoted prefix query, ANDed (or ORed)."""
    joiner = " AND " if all_terms else " OR "
    return joiner.join(f'"{w}"*' for w in words)


def tsquery(words: list[str], *, all_terms: bool) -> str:
    """A ``to_tsquery('simple', ...)`` string: each term as a prefix, ANDed (or ORed)."""
    joiner = " & " if all_terms else " | "
    return joiner.join(f"{w}:*" for w in words)


def allowed_typos(term: str) -> int:
    if len(term) <= 3:
        return 0
    if len(term) <= 7:
        return 1
    return 2


def edit_distance(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment distance (a swap of two letters is one typo), or ``limit + 1`` when the
    distance is over ``limit`` (the band keeps it cheap)."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        best = cur[0]
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            value = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                value = min(value, prev2[j - 2] + 1)
            cur[j] = value
            best = min(best, value)
        if best > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[len(b)]


def term_matches(term: str, word: str) -> float:
    """How well one query term matches one word: 1 exact or prefix, less per typo, 0 no match."""
    if word.startswith(term):
        return 1.0
    limit = allowed_typos(term)
    if limit == 0:
        return 0.0
    distance = edit_distance(term, word, limit)
    if distance > limit and len(word) > len(term):
        # A mistyped beginning of a longer word: "cancle" for "cancellation".
        distance = edit_distance(term, word[: len(term)], limit)
    if distance > limit:
        return 0.0
    return 1.0 - 0.25 * distance


@dataclass(frozen=True)
class Document:
    id: uuid.UUID
    title: str
    category: str
    body: str


def fuzzy_rank(query_terms: list[str], documents: Iterable[Document]) -> list[tuple[uuid.UUID, float]]:
    """Documents where every term matches some word (allowing typos), best first."""
    ranked: list[tuple[uuid.UUID, float]] = []
    for doc in documents:
        fields = (
            (TITLE, set(_WORD.findall(fold(doc.title)))),
            (CATEGORY, set(_WORD.findall(fold(doc.category)))),
            (BODY, set(_WORD.findall(fold(doc.body)))),
        )
        score = 0.0
        for term in query_terms:
            best = 0.0
            for weight, words in fields:
                for word in words:
                    quality = term_matches(term, word)
                    if quality:
                        best = max(best, weight * quality)
                        if quality == 1.0:
                            break
            if best == 0.0:
                break
            score += best
        else:
            ranked.append((doc.id, score))
    ranked.sort(key=lambda item: -item[1])
    return ranked
