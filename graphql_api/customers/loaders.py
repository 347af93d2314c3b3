"""The request's DataLoader of customers by id (other contexts' ``customer`` fields use it too)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from strawberry.dataloader import DataLoader

from domain.customers import service
from domain.customers.models import Customer as CustomerRow
from graphql_api.context import Context

NAME = "customers.by_id"


def customer_loader(ctx: Context) -> DataLoader[uuid.UUID, CustomerRow | None]:
    """One query per request tick for every customer asked for, in the caller's tenant only."""

    async def load(ids: Sequence[uuid.UUID]) -> list[CustomerRow | None]:
        async with await ctx.session() as session:
            found = await service.customers_by_ids(session, list(ids))
        return [found.get(i) for i in ids]

    return ctx.loaders.get(NAME, lambda: DataLoader(load_fn=load))


def prime(ctx: Context, rows: Sequence[CustomerRow]) -> None:
    """Put rows already read (a page, a resolution) into the loader so fields on them cost nothing."""
    loader = customer_loader(ctx)
    for row in rows:
        loader.prime(row.id, row)
