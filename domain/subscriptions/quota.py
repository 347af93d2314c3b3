"""Using and giving back quota units. Scheduling calls these inside its booking transaction."""

from __future__ import annotations

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bizzly.errors import DomainError, ErrorCode
from bizzly.ids import new_id
from domain.subscriptions.models import CustomerSubscription, Plan, PlanPeriod, QuotaUse
from domain.subscriptions.periods import describe, next_period_start, period_start
from domain.subscriptions.repository import QuotaUses, Subscriptions


class QuotaExhausted(DomainError):
    def __init__(self, plan: Plan, renews: str) -> None:
        period = describe(PlanPeriod(plan.period))
        super().__init__(
            ErrorCode.LIMIT_REACHED,
            f"The {plan.name} plan has no bookings left for that {period} "
            f"({plan.quota} per {period}; it renews on {renews}).",
            field="startsAt",
        )


async def _take_unit(
    session: AsyncSession,
    sub: CustomerSubscription,
    plan: Plan,
    booking_id: uuid.UUID,
    zone: ZoneInfo,
    at: datetime,
) -> QuotaUse | None:
    """The lowest free unit of the period ``at`` falls in, or None when the period is used up.

    Two bookings racing for the last unit both try to insert the same unit number: the unique key lets
    one win, the other retries with a fresh read and finds none left.
    """
    uses = QuotaUses(session)
    period = period_start(PlanPeriod(plan.period), at, zone)
    for _ in range(plan.quota + 3):
        taken = await uses.units_taken(sub.id, period)
        free = next((n for n in range(plan.quota) if n not in taken), None)
        if free is None:
            return None
        use = QuotaUse(
            id=new_id(),
            subscription_id=sub.id,
            booking_id=booking_id,
            period_start=period,
            unit_no=free,
            quota=plan.quota,
        )
        try:
            async with session.begin_nested():
                uses.add(use)
                await session.flush()
            return use
        except IntegrityError:
            continue
    return None


async def use_quota(
    session: AsyncSession,
    *,
    customer_id: uuid.UUID,
    service_id: uuid.UUID,
    booking_id: uuid.UUID,
    starts_at: datetime,
    zone: ZoneInfo,
) -> QuotaUse | None:
    """One unit of the period the booking takes place in, from the customer's oldest running
    subscription that covers the service and has one left. None when no subscription covers it (a
    booking paid on its own); ``LIMIT_REACHED`` when every covering subscription is used up."""
    covering = await Subscriptions(session).covering(customer_id, service_id, starts_at)
    if not covering:
        return None
    for sub, plan in covering:
        use = await _take_unit(session, sub, plan, booking_id, zone, starts_at)
        if use is not None:
            return use
    sub, plan = covering[0]
    renews = next_period_start(
        PlanPeriod(plan.period), period_start(PlanPeriod(plan.period), starts_at, zone)
    )
    raise QuotaExhausted(plan, renews.isoformat())


async def give_back(session: AsyncSession, *, booking_id: uuid.UUID) -> bool:
    """Return the unit a booking used, if it used one."""
    return await QuotaUses(session).release(booking_id)
