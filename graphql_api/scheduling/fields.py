"""``Customer.bookings``: resolved here, batched across every customer of the request."""

from __future__ import annotations

import uuid

from bizzly.db.paging import PageRequest, decode_cursor
from bizzly.errors import DomainError
from graphql_api.context import Info
from graphql_api.errors import from_domain
from graphql_api.relay import Connection
from graphql_api.scheduling.loaders import customer_bookings_loader
from graphql_api.scheduling.types import Booking


async def customer_bookings(
    info: Info, customer_id: uuid.UUID, *, first: int | None, after: str | None
) -> Connection[Booking]:
    """A customer's bookings, latest start first (the Customer is already visible to the caller)."""
    try:
        size = PageRequest(first=first).size()
        if after:
            decode_cursor(after, 2, field="after")  # a bad cursor fails here, not inside the shared batch
    except DomainError as exc:
        raise from_domain(exc) from exc
    page = await customer_bookings_loader(info.context).load((customer_id, size, after or None))
    return Connection.from_page(page, Booking.from_model)
