"""The request's DataLoaders of services by id and of help articles by id."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from strawberry.dataloader import DataLoader

from domain.catalog.help_repository import HelpArticles
from domain.catalog.models import HelpArticle as ArticleRow
from domain.catalog.models import Service as ServiceRow
from domain.catalog.repository import Services
from graphql_api.context import Context


def service_loader(ctx: Context) -> DataLoader[uuid.UUID, ServiceRow | None]:
    """Every service asked for in one statement, archived ones included (old bookings point at them):
    callers decide what the public may see."""

    async def load(ids: Sequence[uuid.UUID]) -> list[ServiceRow | None]:
        async with await ctx.session() as session:
            found = await Services(session).by_ids(list(ids))
        return [found.get(i) for i in ids]

    return ctx.loaders.get("catalog.services_by_id", lambda: DataLoader(load_fn=load))


def article_loader(ctx: Context) -> DataLoader[uuid.UUID, ArticleRow | None]:
    async def load(ids: Sequence[uuid.UUID]) -> list[ArticleRow | None]:
        async with await ctx.session() as session:
            found = await HelpArticles(session).by_ids(list(ids), published_only=False)
        return [found.get(i) for i in ids]

    return ctx.loaders.get("catalog.articles_by_id", lambda: DataLoader(load_fn=load))


def prime_services(ctx: Context, rows: Sequence[ServiceRow]) -> None:
    loader = service_loader(ctx)
    for row in rows:
        loader.prime(row.id, row)
