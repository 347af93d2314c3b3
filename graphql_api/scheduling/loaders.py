"""The request's DataLoaders of bookings: by id, and each customer's first page (``Customer.bookings``)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence

from strawberry.dataloader import DataLoader

from bizzly.db.paging import Page, PageRequest
from domain.scheduling.models import Booking as BookingRow
from domain.scheduling.repository import BookingFilter, Bookings
from graphql_api.context import Context

# (customer id, first, after)
PageKey = tuple[uuid.UUID, int, str | None]


def booking_loader(ctx: Context) -> DataLoader[uuid.UUID, BookingRow | None]:
    async def load(ids: Sequence[uuid.UUID]) -> list[BookingRow | None]:
        async with await ctx.session() as session:
            found = await Bookings(session).by_ids(list(ids))
        return [found.get(i) for i in ids]

    return ctx.loaders.get("scheduling.bookings_by_id", lambda: DataLoader(load_fn=load))


def customer_bookings_loader(ctx: Context) -> DataLoader[PageKey, Page[BookingRow]]:
    """First pages of many customers in one statement per page size; a page after a cursor (rare: the
    client paging one customer's list) is read on its own."""

    async def load(keys: Sequence[PageKey]) -> list[Page[BookingRow]]:
        pages: dict[PageKey, Page[BookingRow]] = {}
        firsts: dict[int, list[uuid.UUID]] = defaultdict(list)
        for customer_id, first, after in keys:
            if after is None:
                firsts[first].append(customer_id)
        async with await ctx.session() as session:
            repo = Bookings(session)
            for first, customer_ids in firsts.items():
                for customer_id, page in (await repo.first_of_customers(customer_ids, first)).items():
                    pages[(customer_id, first, None)] = page
            for key in keys:
                customer_id, first, after = key
                if after is not None:
                    pages[key] = await repo.page(
                        PageRequest(first=first, after=after), BookingFilter(customer_id=customer_id)
                    )
        return [pages[k] for k in keys]

    return ctx.loaders.get("scheduling.customer_bookings", lambda: DataLoader(load_fn=load))
