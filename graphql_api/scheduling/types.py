"""GraphQL types of scheduling: Slot, Booking and its enums and filter."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, TypeVar

import strawberry
from strawberry import relay

from domain.scheduling import models
from domain.scheduling.slots import Slot as SlotValue
from graphql_api.catalog.loaders import service_loader
from graphql_api.catalog.types import Service
from graphql_api.context import Info
from graphql_api.customers.loaders import customer_loader
from graphql_api.errors import not_found
from graphql_api.scheduling.loaders import booking_loader
from tenants.permissions import Permission, role_can

if TYPE_CHECKING:
    from graphql_api.customers.types import Customer


R = TypeVar("R")
T = TypeVar("T")


def _now_or_later(found: Awaitable[R | None], convert: Callable[[R], T], missing: str) -> T | Awaitable[T]:
    """The value at once when the loader already holds it (a page primes its loaders), else an awaitable.

    A synchronous answer spares graphql-core a coroutine and a task per row, most of the cost of a
    100-row page's nested objects."""
    if isinstance(found, asyncio.Future) and found.done():
        row = found.result()
        if row is None:
            raise not_found(missing)
        return convert(row)

    async def later() -> T:
        row = await found
        if row is None:
            raise not_found(missing)
        return convert(row)

    return later()


@strawberry.enum
class BookingStatus(Enum):
    CONFIRMED = "CONFIRMED"
    CANCELLED = "CANCELLED"
    COMPLETED = "COMPLETED"
    NO_SHOW = "NO_SHOW"


@strawberry.enum
class BookingSource(Enum):
    DASHBOARD = "DASHBOARD"
    WEBSITE = "WEBSITE"
    WHATSAPP = "WHATSAPP"


@strawberry.type(description="A free time for a service: bookable as it is.")
class Slot:
    starts_at: datetime
    ends_at: datetime

    @classmethod
    def from_value(cls, slot: SlotValue) -> Slot:
        return cls(starts_at=slot.starts_at, ends_at=slot.ends_at)


@strawberry.input(description="Every given condition must hold; `from`/`to` bound the start time.")
class BookingFilter:
    status: BookingStatus | None = None
    from_: datetime | None = strawberry.field(default=None, name="from")
    to: datetime | None = None
    customer_id: strawberry.ID | None = None
    source: BookingSource | None = None


@strawberry.type(description="A customer's booking of a service.")
class Booking(relay.Node):
    id: relay.NodeID[str]
    status: BookingStatus
    source: BookingSource = strawberry.field(description="Where it was made: dashboard, website, WhatsApp.")
    starts_at: datetime
    ends_at: datetime
    cancelled_at: datetime | None
    cancel_reason: str | None
    created_at: datetime
    customer_id: strawberry.Private[uuid.UUID]
    service_id: strawberry.Private[uuid.UUID]

    @classmethod
    def from_model(cls, row: models.Booking) -> Booking:
        return cls(
            id=str(row.id),
            status=BookingStatus(row.status),
            source=BookingSource(row.source),
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            cancelled_at=row.cancelled_at,
            cancel_reason=row.cancel_reason,
            created_at=row.created_at,
            customer_id=row.customer_id,
            service_id=row.service_id,
        )

    @strawberry.field(description="Who booked.")
    def customer(self, info: Info) -> Annotated["Customer", strawberry.lazy("graphql_api.customers.types")]:  # noqa: UP037
        from graphql_api.customers.types import Customer

        return _now_or_later(  # type: ignore[return-value]
            customer_loader(info.context).load(self.customer_id),
            Customer.from_model,
            "This booking's customer no longer exists.",
        )

    @strawberry.field(description="What was booked (also when the service has since been archived).")
    def service(self, info: Info) -> Service:
        return _now_or_later(  # type: ignore[return-value]
            service_loader(info.context).load(self.service_id),
            Service.from_model,
            "This booking's service no longer exists.",
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Booking | None]:
        """Staff see every booking of their business; a customer only their own."""
        caller = info.context.caller
        staff = caller.is_staff and caller.role is not None and role_can(caller.role, Permission.OPERATE)
        ids: list[uuid.UUID | None] = []
        for node_id in node_ids:
            try:
                ids.append(uuid.UUID(node_id))
            except ValueError:
                ids.append(None)
        rows = await booking_loader(info.context).load_many([i for i in ids if i is not None])
        found = {r.id: r for r in rows if r is not None}
        result: list[Booking | None] = []
        for i in ids:
            row = found.get(i) if i is not None else None
            visible = row is not None and (
                staff or (caller.is_customer and row.customer_id == caller.subject_id)
            )
            result.append(cls.from_model(row) if visible and row is not None else None)
        return result


async def prefetch(info: Info, rows: Sequence[models.Booking]) -> None:
    """Load a page's customers and services now (one batch each), so each row's fields answer at once."""
    await asyncio.gather(
        customer_loader(info.context).load_many([r.customer_id for r in rows]),
        service_loader(info.context).load_many([r.service_id for r in rows]),
    )
