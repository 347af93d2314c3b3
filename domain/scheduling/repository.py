"""SQL for bookings and their seats (built on a tenant-bound session)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from bizzly.db.paging import Page, PageRequest, encode_cursor, keyset_page
from bizzly.ids import new_id
from domain.catalog.repository import bound_tenant
from domain.scheduling.models import Booking, BookingSeat

# Newest start first (then id): the order of a bookings page and of a customer's bookings.
ORDER = [(Booking.starts_at, True), (Booking.id, True)]


@dataclass(frozen=True)
class BookingFilter:
    status: str | None = None
    source: str | None = None
    customer_id: uuid.UUID | None = None
    starts_from: datetime | None = None
    starts_before: datetime | None = None


class Bookings:
    def __init__(self, session: AsyncSession) -> None:
        self.tenant_id = bound_tenant(session, "Bookings")
        self.session = session

    def _base(self) -> Select[Booking]:
        return select(Booking).where(Booking.tenant_id == self.tenant_id)

    async def get(self, booking_id: uuid.UUID, *, lock: bool = False) -> Booking | None:
        """``lock``: hold the row to commit, so a cancel and a reschedule of one booking do not interleave."""
        stmt = self._base().where(Booking.id == booking_id)
        if lock:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def by_ids(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Booking]:
        if not ids:
            return {}
        stmt = self._base().where(Booking.id.in_(set(ids)))
        return {b.id: b for b in (await self.session.execute(stmt)).scalars()}

    def _filtered(self, where: BookingFilter) -> Select[Booking]:
        stmt = self._base()
        conditions: list[ColumnElement[bool]] = []
        if where.status is not None:
            conditions.append(Booking.status == where.status)
        if where.source is not None:
            conditions.append(Booking.source == where.source)
        if where.customer_id is not None:
            conditions.append(Booking.customer_id == where.customer_id)
        if where.starts_from is not None:
            conditions.append(Booking.starts_at >= where.starts_from)
        if where.starts_before is not None:
            conditions.append(Booking.starts_at < where.starts_before)
        return stmt.where(*conditions) if conditions else stmt

    async def page(
        self, request: PageRequest, where: BookingFilter, *, with_total: bool = False
    ) -> Page[Booking]:
        return await keyset_page(
            self.session, self._filtered(where), order=ORDER, page=request, with_total=with_total
        )

    async def first_of_customers(
        self, customer_ids: Sequence[uuid.UUID], first: int
    ) -> dict[uuid.UUID, Page[Booking]]:
        """The first ``first`` bookings of each customer, in one statement (a window per customer)."""
        if not customer_ids:
            return {}
        rank = (
            func.row_number()
            .over(partition_by=Booking.customer_id, order_by=(Booking.starts_at.desc(), Booking.id.desc()))
            .label("rank")
        )
        inner = (
            select(Booking.id.label("booking_id"), rank)
            .where(Booking.tenant_id == self.tenant_id, Booking.customer_id.in_(set(customer_ids)))
            .subquery()
        )
        stmt = (
            self._base()
            .join(inner, inner.c.booking_id == Booking.id)
            .where(inner.c.rank <= first + 1)
            .order_by(Booking.customer_id, Booking.starts_at.desc(), Booking.id.desc())
        )
        grouped: dict[uuid.UUID, list[Booking]] = defaultdict(list)
        for booking in (await self.session.execute(stmt)).scalars():
            grouped[booking.customer_id].append(booking)
        pages: dict[uuid.UUID, Page[Booking]] = {}
        for customer_id in customer_ids:
            rows = grouped.get(customer_id, [])
            pages[customer_id] = Page(
                items=[(encode_cursor([b.starts_at, b.id]), b) for b in rows[:first]],
                has_next=len(rows) > first,
                has_previous=False,
            )
        return pages

    def add(self, booking: Booking) -> None:
        self.session.add(booking)


class Seats:
    def __init__(self, session: AsyncSession) -> None:
        self.tenant_id = bound_tenant(session, "Seats")
        self.session = session

    async def counts(self, service_id: uuid.UUID, since: datetime, until: datetime) -> dict[datetime, int]:
        """Seats taken per tick of one service in [since, until)."""
        stmt = (
            select(BookingSeat.starts_at, func.count())
            .where(
                BookingSeat.tenant_id == self.tenant_id,
                BookingSeat.service_id == service_id,
                BookingSeat.starts_at >= since,
                BookingSeat.starts_at < until,
            )
            .group_by(BookingSeat.starts_at)
        )
        return {tick: int(n) for tick, n in (await self.session.execute(stmt)).all()}

    async def taken(self, service_id: uuid.UUID, ticks: Sequence[datetime]) -> dict[datetime, set[int]]:
        stmt = select(BookingSeat.starts_at, BookingSeat.seat_no).where(
            BookingSeat.tenant_id == self.tenant_id,
            BookingSeat.service_id == service_id,
            BookingSeat.starts_at.in_(list(ticks)),
        )
        found: dict[datetime, set[int]] = defaultdict(set)
        for tick, seat in (await self.session.execute(stmt)).all():
            found[tick].add(seat)
        return found

    async def insert(
        self, *, booking_id: uuid.UUID, service_id: uuid.UUID, capacity: int, seats: dict[datetime, int]
    ) -> None:
        rows = [
            {
                "tenant_id": self.tenant_id,
                "id": new_id(),
                "booking_id": booking_id,
                "service_id": service_id,
                "starts_at": tick,
                "seat_no": seat,
                "capacity": capacity,
            }
            for tick, seat in seats.items()
        ]
        await self.session.execute(insert(BookingSeat), rows)

    async def release(self, booking_id: uuid.UUID) -> None:
        await self.session.execute(
            delete(BookingSeat)
            .where(BookingSeat.tenant_id == self.tenant_id, BookingSeat.booking_id == booking_id)
            .execution_options(synchronize_session=False)
        )
