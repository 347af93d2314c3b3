"""Availability and bookings: create, reschedule, cancel, and mark them done. Nothing here commits.

Who may do what:
- Staff book for any customer of the tenant, move and cancel any booking. The cancellation cut-off does
  not stop staff (a staff cancel past it is the override); a late staff cancel keeps the quota unit used
  unless staff also ask to refund it. Staff may book inside the minimum notice (a walk-in), never in the past.
- A customer books for themself, and moves or cancels only their own bookings (another customer's booking
  is "not found"), and only until the cut-off (``TOO_LATE`` after it).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bizzly import clock
from bizzly.errors import Conflict, DomainError, ErrorCode, Invalid, NotFound
from bizzly.ids import new_id
from domain.catalog.hours import OpeningRange, format_time
from domain.catalog.models import Service
from domain.catalog.repository import Hours, Services
from domain.catalog.text import storable
from domain.connections.analytics import queue_event
from domain.customers.repository import Customers
from domain.customers.service import current_tenant
from domain.notifications.models import NotificationKind
from domain.notifications.service import booking_notices
from domain.privacy.audit import record
from domain.scheduling.models import Booking, BookingSource, BookingStatus
from domain.scheduling.repository import Bookings as BookingRows
from domain.scheduling.repository import Seats
from domain.scheduling.slots import Refusal, Rules, Slot, is_full, open_slots, refusal, ticks
from domain.subscriptions.quota import give_back, use_quota
from tenants.models import Tenant

# Bookings and availability reach this far ahead.
HORIZON_DAYS = 365
REASON_MAX = 1000


@dataclass(frozen=True)
class BookingCaller:
    """Who acts on a booking. ``customer_id`` set: a customer acting for themself (cut-off applies)."""

    actor: str  # for the audit log: "staff:<email>", "customer:<id>", "whatsapp:<phone>"
    source: BookingSource
    customer_id: uuid.UUID | None = None

    @property
    def is_staff(self) -> bool:
        return self.customer_id is None


class FullyBooked(DomainError):
    def __init__(self) -> None:
        super().__init__(ErrorCode.UNAVAILABLE, "This time is fully booked.", field="startsAt")


async def rules_of(session: AsyncSession, tenant: Tenant, *, minimum_notice: bool = True) -> Rules:
    return Rules(
        zone=ZoneInfo(tenant.timezone),
        ranges=tuple(await _ranges(session)),
        closed_dates=frozenset(tenant.closed_dates or []),
        step_minutes=tenant.slot_step_minutes,
        minimum_notice=timedelta(minutes=tenant.minimum_notice_minutes if minimum_notice else 0),
        horizon_days=HORIZON_DAYS,
    )


async def _ranges(session: AsyncSession) -> list[OpeningRange]:
    return [OpeningRange(h.weekday, h.opens_minute, h.closes_minute) for h in await Hours(session).week()]


async def availability(
    session: AsyncSession, *, service_id: uuid.UUID, day: date, include_inactive: bool = False
) -> list[Slot]:
    """The free slots of a service on a local date: open, on the grid, not past, not inside the minimum
    notice, not on a closed date, and with a seat free at every moment of the service."""
    service = await Services(session).get(service_id)
    if service is None or service.archived_at is not None or (not service.active and not include_inactive):
        raise NotFound("No service with this id.", field="serviceId")
    if not service.active:
        return []
    tenant = await current_tenant(session)
    today = clock.now().astimezone(ZoneInfo(tenant.timezone)).date()
    if not today - timedelta(days=1) <= day <= today + timedelta(days=HORIZON_DAYS + 1):
        return []  # past, or beyond the booking horizon (and far from the calendar's edges)
    rules = await rules_of(session, tenant)
    slots = open_slots(day, rules, duration_minutes=service.duration_minutes, now=clock.now())
    if not slots:
        return []
    taken = await Seats(session).counts(
        service.id, slots[0].starts_at - timedelta(minutes=5), slots[-1].ends_at
    )
    return [s for s in slots if not is_full(s, taken, service.capacity)]


def _refusal_error(why: Refusal, *, tenant: Tenant, rules: Rules) -> DomainError:
    messages = {
        Refusal.PAST: "This time has already passed.",
        Refusal.TOO_SOON: f"Book at least {tenant.minimum_notice_minutes} minutes ahead.",
        Refusal.TOO_FAR: f"Bookings open at most {HORIZON_DAYS} days ahead.",
        Refusal.CLOSED_DATE: "The business is closed on that day.",
        Refusal.OUTSIDE_HOURS: "This time is outside business hours.",
        Refusal.OFF_GRID: (
            f"Bookings start every {rules.step_minutes} minutes from opening time "
            f"({', '.join(format_time(r.opens) for r in rules.ranges[:1]) or 'opening'}, ...)."
        ),
    }
    code = ErrorCode.UNAVAILABLE if why is Refusal.CLOSED_DATE else ErrorCode.INVALID
    return DomainError(code, messages[why], field="startsAt")


async def _bookable_service(session: AsyncSession, service_id: uuid.UUID, caller: BookingCaller) -> Service:
    # A shared lock: a capacity or duration change waits until this booking commits (PostgreSQL).
    service = await Services(session).get(service_id, lock="share")
    if service is None or service.archived_at is not None or (not service.active and not caller.is_staff):
        raise NotFound("No service with this id.", field="serviceId")
    if not service.active:
        raise DomainError(
            ErrorCode.UNAVAILABLE, "This service is not offered at the moment.", field="serviceId"
        )
    return service


async def _check_time(
    session: AsyncSession, tenant: Tenant, service: Service, starts_at: datetime, caller: BookingCaller
) -> None:
    if starts_at.tzinfo is None:
        raise Invalid("Give the time with its UTC offset.", field="startsAt")
    rules = await rules_of(session, tenant, minimum_notice=not caller.is_staff)
    why = refusal(starts_at, rules, duration_minutes=service.duration_minutes, now=clock.now())
    if why is not None:
        raise _refusal_error(why, tenant=tenant, rules=rules)


async def _take_seats(session: AsyncSession, booking: Booking, service: Service) -> None:
    """A seat below capacity at every tick of the booking, or ``UNAVAILABLE``.

    The lowest free seat number is read, then inserted; a concurrent booking that inserted the same seat
    first makes the insert fail on the unique key (PostgreSQL waits for it to commit), and the next round
    reads again. When a tick has no seat below capacity the time is full; the database's check refuses
    a seat at or beyond capacity whatever this code computes.
    """
    seats = Seats(session)
    wanted = ticks(booking.starts_at, booking.ends_at)
    for _ in range(service.capacity + 3):
        taken = await seats.taken(service.id, wanted)
        chosen: dict[datetime, int] = {}
        for tick in wanted:
            free = next((n for n in range(service.capacity) if n not in taken.get(tick, ())), None)
            if free is None:
                raise FullyBooked()
            chosen[tick] = free
        try:
            async with session.begin_nested():
                await seats.insert(
                    booking_id=booking.id, service_id=service.id, capacity=service.capacity, seats=chosen
                )
            return
        except IntegrityError:
            continue
    raise FullyBooked()


async def create_booking(
    session: AsyncSession,
    *,
    caller: BookingCaller,
    customer_id: uuid.UUID | None,
    service_id: uuid.UUID,
    starts_at: datetime,
    analytics_client_id: str | None = None,
) -> Booking:
    if caller.customer_id is not None:
        if customer_id is not None and customer_id != caller.customer_id:
            raise NotFound("No customer with this id.", field="customerId")
        customer_id = caller.customer_id
    if customer_id is None:
        raise DomainError(ErrorCode.REQUIRED, "Choose the customer to book for.", field="customerId")
    if await Customers(session).get(customer_id) is None:
        raise NotFound("No customer with this id.", field="customerId")
    service = await _bookable_service(session, service_id, caller)
    tenant = await current_tenant(session)
    await _check_time(session, tenant, service, starts_at, caller)
    starts_at = starts_at.astimezone(UTC)
    booking = Booking(
        id=new_id(),
        customer_id=customer_id,
        service_id=service.id,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=service.duration_minutes),
        status=BookingStatus.CONFIRMED.value,
        source=caller.source.value,
        analytics_client_id=(analytics_client_id or "").replace("\x00", "").strip()[:100] or None,
    )
    BookingRows(session).add(booking)
    await session.flush()
    await _take_seats(session, booking, service)
    await use_quota(
        session,
        customer_id=customer_id,
        service_id=service.id,
        booking_id=booking.id,
        starts_at=starts_at,
        zone=ZoneInfo(tenant.timezone),
    )
    record(
        session, actor=caller.actor, action="booking.created", subject_type="Booking", subject_id=booking.id
    )
    await queue_event(
        session,
        name="booking_created",
        customer_id=customer_id,
        client_id=booking.analytics_client_id,
        booking_id=booking.id,
    )
    await booking_notices(session, booking=booking, kind=NotificationKind.BOOKING_CONFIRMATION)
    return booking


async def _own_booking(session: AsyncSession, booking_id: uuid.UUID, caller: BookingCaller) -> Booking:
    booking = await BookingRows(session).get(booking_id, lock=True)
    if booking is None or (caller.customer_id is not None and booking.customer_id != caller.customer_id):
        raise NotFound("No booking with this id.", field="id")
    return booking


def _before_cutoff(tenant: Tenant, booking: Booking, now: datetime) -> bool:
    return now <= booking.starts_at - timedelta(hours=tenant.cancellation_cutoff_hours)


def _too_late(tenant: Tenant, verb: str) -> DomainError:
    return DomainError(
        ErrorCode.TOO_LATE,
        f"Bookings can be {verb} up to {tenant.cancellation_cutoff_hours} hours before they start. "
        f"Please contact {tenant.name} to change this one.",
        field="id",
    )


def _check_changeable(booking: Booking, now: datetime, verb: str) -> None:
    if booking.status != BookingStatus.CONFIRMED.value:
        raise Conflict(
            f"This booking is {booking.status.lower().replace('_', ' ')}: it cannot be {verb}.", field="id"
        )
    if booking.starts_at <= now:
        raise Conflict(f"This booking has already started: it cannot be {verb}.", field="id")


async def reschedule_booking(
    session: AsyncSession, *, caller: BookingCaller, booking_id: uuid.UUID, starts_at: datetime
) -> Booking:
    booking = await _own_booking(session, booking_id, caller)
    tenant = await current_tenant(session)
    now = clock.now()
    _check_changeable(booking, now, "moved")
    if not caller.is_staff and not _before_cutoff(tenant, booking, now):
        raise _too_late(tenant, "moved")
    service = await _bookable_service(session, booking.service_id, caller)
    await _check_time(session, tenant, service, starts_at, caller)
    starts_at = starts_at.astimezone(UTC)
    # The booking's own seats and unit go first, so it can move to an overlapping time or the same period.
    await Seats(session).release(booking.id)
    had_unit = await give_back(session, booking_id=booking.id)
    booking.starts_at = starts_at
    booking.ends_at = starts_at + timedelta(minutes=service.duration_minutes)
    await session.flush()
    await _take_seats(session, booking, service)
    if had_unit:
        await use_quota(
            session,
            customer_id=booking.customer_id,
            service_id=service.id,
            booking_id=booking.id,
            starts_at=starts_at,
            zone=ZoneInfo(tenant.timezone),
        )
    record(
        session,
        actor=caller.actor,
        action="booking.rescheduled",
        subject_type="Booking",
        subject_id=booking.id,
    )
    await booking_notices(session, booking=booking, kind=NotificationKind.BOOKING_RESCHEDULED)
    return booking


async def cancel_booking(
    session: AsyncSession,
    *,
    caller: BookingCaller,
    booking_id: uuid.UUID,
    reason: str | None = None,
    refund_quota: bool = False,
) -> Booking:
    """Cancel and free the seat. The quota unit comes back when the cancel is before the cut-off, or
    when staff cancelling after it ask for the refund (``refund_quota``)."""
    booking = await _own_booking(session, booking_id, caller)
    tenant = await current_tenant(session)
    now = clock.now()
    _check_changeable(booking, now, "cancelled")
    in_time = _before_cutoff(tenant, booking, now)
    if not caller.is_staff and not in_time:
        raise _too_late(tenant, "cancelled")
    text = (storable(reason, field="reason") or "").strip()
    if len(text) > REASON_MAX:
        raise Invalid(f"Use at most {REASON_MAX} characters for the reason.", field="reason")
    booking.status = BookingStatus.CANCELLED.value
    booking.cancelled_at = now
    booking.cancel_reason = text or None
    await Seats(session).release(booking.id)
    refunded = (
        await give_back(session, booking_id=booking.id)
        if in_time or (caller.is_staff and refund_quota)
        else False
    )
    await session.flush()
    detail = "quota unit refunded" if refunded else None
    if not in_time:
        detail = f"after the cut-off; {detail or 'quota unit kept'}"
    record(
        session,
        actor=caller.actor,
        action="booking.cancelled",
        subject_type="Booking",
        subject_id=booking.id,
        detail=detail,
    )
    await queue_event(
        session,
        name="booking_cancelled",
        customer_id=booking.customer_id,
        client_id=booking.analytics_client_id,
        booking_id=booking.id,
    )
    await booking_notices(session, booking=booking, kind=NotificationKind.BOOKING_CANCELLED)
    return booking


async def mark_booking(
    session: AsyncSession, *, caller: BookingCaller, booking_id: uuid.UUID, status: BookingStatus
) -> Booking:
    """Staff record how a booking went: COMPLETED or NO_SHOW, once it has started."""
    if status not in (BookingStatus.COMPLETED, BookingStatus.NO_SHOW):
        raise Invalid("A booking can be marked COMPLETED or NO_SHOW.", field="status")
    booking = await _own_booking(session, booking_id, caller)
    if booking.status not in (
        BookingStatus.CONFIRMED.value,
        BookingStatus.COMPLETED.value,
        BookingStatus.NO_SHOW.value,
    ):
        raise Conflict("A cancelled booking cannot be marked.", field="id")
    if booking.starts_at > clock.now():
        raise Conflict("This booking has not started yet.", field="id")
    booking.status = status.value
    await session.flush()
    record(
        session,
        actor=caller.actor,
        action=f"booking.{status.value.lower()}",
        subject_type="Booking",
        subject_id=booking.id,
    )
    return booking
