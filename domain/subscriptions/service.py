"""Plans and customers' subscriptions. Callers own the transaction; nothing here commits."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bizzly import clock
from bizzly.errors import Conflict, DomainError, ErrorCode, Invalid, NotFound
from bizzly.ids import new_id
from bizzly.patch import UNSET, is_set
from domain.catalog.money import money
from domain.catalog.repository import Services
from domain.catalog.text import storable
from domain.customers.repository import Customers
from domain.customers.service import current_tenant
from domain.privacy.audit import record
from domain.subscriptions.models import CustomerSubscription, Plan, PlanPeriod
from domain.subscriptions.periods import period_ends_at, period_start
from domain.subscriptions.repository import Plans, QuotaUses, Subscriptions
from tenants.validation import Problems, required_text

MAX_QUOTA = 1000


class SubscriptionStatus(StrEnum):
    ACTIVE = "ACTIVE"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"


@dataclass(frozen=True)
class PlanPatch:
    name: Any = UNSET
    quota: Any = UNSET
    period: Any = UNSET
    price_amount: Any = UNSET
    price_currency: Any = UNSET
    service_ids: Any = UNSET  # None: every service; a list: exactly these
    active: Any = UNSET


def status(sub: CustomerSubscription, now: datetime) -> SubscriptionStatus:
    if sub.cancelled_at is not None:
        return SubscriptionStatus.CANCELLED
    if sub.ends_at is not None and sub.ends_at <= now:
        return SubscriptionStatus.EXPIRED
    return SubscriptionStatus.ACTIVE


def current_period(plan: Plan, now: datetime, zone: ZoneInfo) -> tuple[date, datetime]:
    """The current period's first local day and the instant it ends."""
    period = PlanPeriod(plan.period)
    return period_start(period, now, zone), period_ends_at(period, now, zone)


def _quota(value: int | None) -> int:
    if value is None:
        raise DomainError(ErrorCode.REQUIRED, "Enter how many bookings the plan includes.", field="quota")
    if not 1 <= value <= MAX_QUOTA:
        raise Invalid(f"The quota must be between 1 and {MAX_QUOTA}.", field="quota")
    return value


def _period(value: str | None) -> PlanPeriod:
    try:
        return PlanPeriod(str(value))
    except ValueError as exc:
        raise Invalid("The period is WEEK or MONTH.", field="period") from exc


async def _check_services(session: AsyncSession, service_ids: list[uuid.UUID]) -> list[uuid.UUID]:
    if not service_ids:
        raise Invalid(
            "Choose at least one service, or leave the services out to cover every service.",
            field="serviceIds",
        )
    unique = list(dict.fromkeys(service_ids))
    found = await Services(session).by_ids(unique)
    if any(found.get(s) is None or found[s].archived_at is not None for s in unique):
        raise NotFound("One of these services does not exist.", field="serviceIds")
    return unique


async def create_plan(
    session: AsyncSession,
    *,
    actor: str,
    name: str,
    quota: int,
    period: str,
    price_amount: int,
    price_currency: str,
    service_ids: list[uuid.UUID] | None,
) -> Plan:
    problems = Problems()
    clean_name = problems.check(
        lambda: required_text(storable(name, field="name"), field="name", label="the plan's name")
    )
    clean_quota = problems.check(lambda: _quota(quota))
    clean_period = problems.check(lambda: _period(period))
    price = problems.check(lambda: money(price_amount, price_currency))
    problems.raise_if_any()
    assert clean_name
    assert clean_quota
    assert clean_period
    assert price
    covered = None if service_ids is None else await _check_services(session, service_ids)
    plan = Plan(
        id=new_id(),
        name=clean_name,
        quota=clean_quota,
        period=clean_period.value,
        price_amount=price.amount,
        price_currency=price.currency,
        covers_all_services=covered is None,
        active=True,
    )
    plans = Plans(session)
    plans.add(plan)
    await session.flush()
    if covered is not None:
        await plans.set_services(plan.id, covered)
        await session.flush()
    record(session, actor=actor, action="plan.created", subject_type="Plan", subject_id=plan.id)
    return plan


async def update_plan(session: AsyncSession, *, actor: str, plan_id: uuid.UUID, patch: PlanPatch) -> Plan:
    """A new quota or period applies to units taken from now on; units already used stay used."""
    plans = Plans(session)
    plan = await plans.get(plan_id)
    if plan is None:
        raise NotFound("No plan with this id.", field="id")
    problems = Problems()
    changes: dict[str, Any] = {}
    if is_set(patch.name):
        changes["name"] = problems.check(
            lambda: required_text(storable(patch.name, field="name"), field="name", label="the plan's name")
        )
    if is_set(patch.quota):
        changes["quota"] = problems.check(lambda: _quota(patch.quota))
    if is_set(patch.period):
        chosen = problems.check(lambda: _period(patch.period))
        changes["period"] = chosen.value if chosen else None
    if is_set(patch.price_amount) or is_set(patch.price_currency):
        amount = patch.price_amount if is_set(patch.price_amount) else plan.price_amount
        code = patch.price_currency if is_set(patch.price_currency) else plan.price_currency
        price = problems.check(lambda: money(amount, code))
        if price is not None:
            changes["price_amount"], changes["price_currency"] = price.amount, price.currency
    if is_set(patch.active):
        changes["active"] = bool(patch.active)
    problems.raise_if_any()
    covered: list[uuid.UUID] | None = None
    if is_set(patch.service_ids) and patch.service_ids is not None:
        covered = await _check_services(session, list(patch.service_ids))
    for key, value in changes.items():
        setattr(plan, key, value)
    if is_set(patch.service_ids):
        plan.covers_all_services = covered is None
        await plans.set_services(plan.id, covered or [])
    await session.flush()
    record(session, actor=actor, action="plan.updated", subject_type="Plan", subject_id=plan.id)
    return plan


async def subscribe(
    session: AsyncSession,
    *,
    actor: str,
    customer_id: uuid.UUID,
    plan_id: uuid.UUID,
    ends_at: datetime | None = None,
) -> CustomerSubscription:
    now = clock.now()
    if await Customers(session).get(customer_id) is None:
        raise NotFound("No customer with this id.", field="customerId")
    plan = await Plans(session).get(plan_id)
    if plan is None:
        raise NotFound("No plan with this id.", field="planId")
    if not plan.active:
        raise Invalid("This plan takes no new subscribers.", field="planId")
    if ends_at is not None and ends_at.tzinfo is None:
        raise Invalid("Give the time with its UTC offset.", field="endsAt")
    if ends_at is not None and ends_at <= now:
        raise Invalid("The end must be in the future.", field="endsAt")
    subscriptions = Subscriptions(session)
    if await subscriptions.running(customer_id, plan_id, now):
        raise Conflict("This customer already has this plan.", field="planId")
    sub = CustomerSubscription(
        id=new_id(), customer_id=customer_id, plan_id=plan_id, started_at=now, ends_at=ends_at
    )
    subscriptions.add(sub)
    await session.flush()
    record(
        session,
        actor=actor,
        action="subscription.created",
        subject_type="CustomerSubscription",
        subject_id=sub.id,
    )
    return sub


async def cancel_subscription(
    session: AsyncSession, *, actor: str, subscription_id: uuid.UUID
) -> CustomerSubscription:
    """Ends it now: later bookings no longer use it; bookings that already used a unit keep it."""
    sub = await Subscriptions(session).get(subscription_id, lock=True)
    if sub is None:
        raise NotFound("No subscription with this id.", field="id")
    now = clock.now()
    current = status(sub, now)
    if current is not SubscriptionStatus.ACTIVE:
        raise Conflict(f"This subscription is already {current.value.lower()}.", field="id")
    sub.cancelled_at = now
    await session.flush()
    record(
        session,
        actor=actor,
        action="subscription.cancelled",
        subject_type="CustomerSubscription",
        subject_id=sub.id,
    )
    return sub


@dataclass(frozen=True)
class SubscriptionView:
    """A subscription as a customer sees it now: its plan, status and what is left of this period."""

    subscription: CustomerSubscription
    plan: Plan
    status: SubscriptionStatus
    remaining: int  # units left in the current period (0 unless ACTIVE)
    period_ends_at: datetime | None  # when the current period ends (None unless ACTIVE)


async def views(
    session: AsyncSession, subs: list[CustomerSubscription], *, now: datetime | None = None
) -> list[SubscriptionView]:
    """Views of many subscriptions in three statements (tenant, plans, units used), whatever their number."""
    if not subs:
        return []
    now = now or clock.now()
    zone = ZoneInfo((await current_tenant(session)).timezone)
    plans = await Plans(session).by_ids(list({s.plan_id for s in subs}))
    periods = {s.id: current_period(plans[s.plan_id], now, zone) for s in subs}
    used = await QuotaUses(session).used([(s.id, periods[s.id][0]) for s in subs])
    result = []
    for sub in subs:
        plan = plans[sub.plan_id]
        state = status(sub, now)
        active = state is SubscriptionStatus.ACTIVE
        start, ends = periods[sub.id]
        result.append(
            SubscriptionView(
                subscription=sub,
                plan=plan,
                status=state,
                remaining=max(0, plan.quota - used[(sub.id, start)]) if active else 0,
                period_ends_at=ends if active else None,
            )
        )
    return result


async def customers_subscriptions(
    session: AsyncSession, customer_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[SubscriptionView]]:
    """Every subscription of each customer (newest first) with what is left of this period."""
    by_customer = await Subscriptions(session).of_customers(customer_ids)
    every = [s for subs in by_customer.values() for s in subs]
    seen = {v.subscription.id: v for v in await views(session, every)}
    return {c: [seen[s.id] for s in subs] for c, subs in by_customer.items()}
