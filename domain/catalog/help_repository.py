"""SQL for help articles, including full-text search on each dialect.

SQLite: the FTS5 table ``fts_help_articles`` (kept in step by triggers, see migration 0004), ranked with
bm25. PostgreSQL: a GIN expression index ``ix_help_articles_tsv`` over the weighted tsvector below, ranked
with ts_rank. Both use prefix matching without stemming, so they behave alike in any language.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import Select, Uuid, bindparam, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from bizzly.db.paging import Page, PageRequest, keyset_page
from domain.catalog.models import HelpArticle
from domain.catalog.repository import bound_tenant
from domain.catalog.search import Document, fts5_match, tsquery

# Must stay character for character the expression of the ix_help_articles_tsv index (migration 0004),
# or PostgreSQL will not use the index.
PG_VECTOR = (
    "(setweight(to_tsvector('simple'::regconfig, title), 'A') || "
    "setweight(to_tsvector('simple'::regconfig, category), 'B') || "
    "setweight(to_tsvector('simple'::regconfig, body), 'D'))"
)

_SQLITE_SEARCH = text(
    "SELECT h.id AS id FROM fts_help_articles "
    "JOIN help_articles h ON h.tenant_id = fts_help_articles.tenant_id "
    "AND h.id = fts_help_articles.article_id "
    "WHERE fts_help_articles MATCH :match AND fts_help_articles.tenant_id = :tenant "
    "AND (h.published OR NOT :published_only) "
    "ORDER BY bm25(fts_help_articles, 10.0, 4.0, 1.0, 0.0, 0.0), h.id LIMIT :limit"
)
_PG_SEARCH = text(
    f"SELECT h.id AS id FROM help_articles h, to_tsquery('simple'::regconfig, :match) q "
    f"WHERE h.tenant_id = :tenant AND {PG_VECTOR} @@ q "
    f"AND (h.published OR NOT :published_only) "
    f"ORDER BY ts_rank({PG_VECTOR}, q) DESC, h.id LIMIT :limit"
)


class HelpArticles:
    def __init__(self, session: AsyncSession) -> None:
        self.tenant_id = bound_tenant(session, "HelpArticles")
        self.session = session

    def _base(self, *, published_only: bool) -> Select[HelpArticle]:
        stmt = select(HelpArticle).where(HelpArticle.tenant_id == self.tenant_id)
        if published_only:
            stmt = stmt.where(HelpArticle.published.is_(True))
        return stmt

    async def get(self, article_id: uuid.UUID) -> HelpArticle | None:
        stmt = self._base(published_only=False).where(HelpArticle.id == article_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def by_ids(self, ids: Sequence[uuid.UUID], *, published_only: bool) -> dict[uuid.UUID, HelpArticle]:
        if not ids:
            return {}
        stmt = self._base(published_only=published_only).where(HelpArticle.id.in_(set(ids)))
        return {a.id: a for a in (await self.session.execute(stmt)).scalars()}

    async def page(self, request: PageRequest, *, published_only: bool) -> Page[HelpArticle]:
        """By category, then title: the order of a help centre's table of contents."""
        return await keyset_page(
            self.session,
            self._base(published_only=published_only),
            order=[(HelpArticle.category, False), (HelpArticle.title, False), (HelpArticle.id, False)],
            page=request,
            with_total=True,
        )

    async def full_text(
        self, words: list[str], *, all_terms: bool, published_only: bool, limit: int
    ) -> list[uuid.UUID]:
        """Ids of matching articles, most relevant first."""
        if not words:
            return []
        postgres = self.session.get_bind().dialect.name == "postgresql"
        sql = _PG_SEARCH if postgres else _SQLITE_SEARCH
        match = tsquery(words, all_terms=all_terms) if postgres else fts5_match(words, all_terms=all_terms)
        stmt = sql.bindparams(bindparam("tenant", type_=Uuid())).columns(id=Uuid())
        params = {"match": match, "tenant": self.tenant_id, "published_only": published_only, "limit": limit}
        return list((await self.session.execute(stmt, params)).scalars())

    async def documents(self, *, published_only: bool, limit: int) -> list[Document]:
        """The most recently edited articles' text, for typo-tolerant matching in Python."""
        stmt = (
            select(HelpArticle.id, HelpArticle.title, HelpArticle.category, HelpArticle.body)
            .where(HelpArticle.tenant_id == self.tenant_id)
            .order_by(HelpArticle.updated_at.desc())
            .limit(limit)
        )
        if published_only:
            stmt = stmt.where(HelpArticle.published.is_(True))
        rows = (await self.session.execute(stmt)).all()
        return [Document(id=i, title=t, category=c, body=b) for i, t, c, b in rows]

    def add(self, article: HelpArticle) -> None:
        self.session.add(article)

    async def remove(self, article: HelpArticle) -> None:
        await self.session.delete(article)
