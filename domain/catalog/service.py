"""Rules for services and business hours. Callers own the transaction; nothing here commits."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bizzly import clock
from bizzly.errors import DomainError, ErrorCode, Invalid, NotFound
from bizzly.ids import new_id
from bizzly.patch import UNSET, is_set
from domain.catalog.hours import OpeningRange, opening_ranges
from domain.catalog.models import BusinessHours, Service
from domain.catalog.money import money
from domain.catalog.repository import Hours, Services
from domain.catalog.text import storable
from domain.privacy.audit import record
from tenants.validation import Problems, required_text

MAX_DURATION_MINUTES = 24 * 60
MAX_CAPACITY = 1000
DESCRIPTION_MAX = 5000


@dataclass(frozen=True)
class ServicePatch:
    name: Any = UNSET
    description: Any = UNSET
    duration_minutes: Any = UNSET
    price_amount: Any = UNSET
    price_currency: Any = UNSET
    capacity: Any = UNSET
    active: Any = UNSET


def _duration(value: int | None) -> int:
    if value is None:
        raise DomainError(ErrorCode.REQUIRED, "Enter how long the service takes.", field="durationMinutes")
    if not 5 <= value <= MAX_DURATION_MINUTES:
        raise Invalid("A service takes 5 minutes to 24 hours.", field="durationMinutes")
    if value % 5:
        raise Invalid("Use a duration in steps of 5 minutes.", field="durationMinutes")
    return value


def _capacity(value: int | None) -> int:
    if value is None:
        raise DomainError(
            ErrorCode.REQUIRED, "Enter how many people can book the same time.", field="capacity"
        )
    if not 1 <= value <= MAX_CAPACITY:
        raise Invalid(f"Capacity must be between 1 and {MAX_CAPACITY}.", field="capacity")
    return value


def _description(value: str | None) -> str | None:
    text = (storable(value, field="description") or "").strip()
    if len(text) > DESCRIPTION_MAX:
        raise Invalid(f"Use at most {DESCRIPTION_MAX} characters for the description.", field="description")
    return text or None


async def create_service(
    session: AsyncSession,
    *,
    actor: str,
    name: str,
    description: str | None,
    duration_minutes: int,
    price_amount: int,
    price_currency: str,
    capacity: int = 1,
    active: bool = True,
) -> Service:
    problems = Problems()
    clean_name = problems.check(
        lambda: required_text(storable(name, field="name"), field="name", label="the service's name")
    )
    clean_description = problems.check(lambda: _description(description))
    duration = problems.check(lambda: _duration(duration_minutes))
    price = problems.check(lambda: money(price_amount, price_currency))
    seats = problems.check(lambda: _capacity(capacity))
    problems.raise_if_any()
    assert clean_name is not None
    assert duration is not None
    assert price is not None
    assert seats is not None
    service = Service(
        id=new_id(),
        name=clean_name,
        description=clean_description,
        duration_minutes=duration,
        price_amount=price.amount,
        price_currency=price.currency,
        capacity=seats,
        active=active,
    )
    Services(session).add(service)
    await session.flush()
    record(session, actor=actor, action="service.created", subject_type="Service", subject_id=service.id)
    return service


async def update_service(
    session: AsyncSession, *, actor: str, service_id: uuid.UUID, patch: ServicePatch
) -> Service:
    service = await Services(session).get(service_id, lock="update")
    if service is None or service.archived_at is not None:
        raise NotFound("No service with this id.", field="id")
    problems = Problems()
    changes: dict[str, Any] = {}
    if is_set(patch.name):
        changes["name"] = problems.check(
            lambda: required_text(
                storable(patch.name, field="name"), field="name", label="the service's name"
            )
        )
    if is_set(patch.description):
        changes["description"] = problems.check(lambda: _description(patch.description))
    if is_set(patch.duration_minutes):
        changes["duration_minutes"] = problems.check(lambda: _duration(patch.duration_minutes))
    if is_set(patch.price_amount) or is_set(patch.price_currency):
        amount = patch.price_amount if is_set(patch.price_amount) else service.price_amount
        code = patch.price_currency if is_set(patch.price_currency) else service.price_currency
        if amount is None or code is None:
            problems.errors.append(DomainError(ErrorCode.REQUIRED, "Enter a price.", field="price"))
        else:
            price = problems.check(lambda: money(amount, code))
            if price is not None:
                changes["price_amount"], changes["price_currency"] = price.amount, price.currency
    if is_set(patch.capacity):
        changes["capacity"] = problems.check(lambda: _capacity(patch.capacity))
    if is_set(patch.active):
        if patch.active is None:
            problems.errors.append(
                DomainError(ErrorCode.REQUIRED, "Say whether it is active.", field="active")
            )
        changes["active"] = bool(patch.active)
    problems.raise_if_any()
    for key, value in changes.items():
        setattr(service, key, value)
    await session.flush()
    record(session, actor=actor, action="service.updated", subject_type="Service", subject_id=service.id)
    return service


async def archive_service(session: AsyncSession, *, actor: str, service_id: uuid.UUID) -> Service:
    """Retire a service: it leaves every list and takes no new bookings; existing bookings keep it."""
    service = await Services(session).get(service_id, lock="update")
    if service is None or service.archived_at is not None:
        raise NotFound("No service with this id.", field="id")
    service.archived_at = clock.now()
    service.active = False
    await session.flush()
    record(session, actor=actor, action="service.archived", subject_type="Service", subject_id=service.id)
    return service


async def set_business_hours(
    session: AsyncSession, *, actor: str, hours: list[tuple[int, str, str]]
) -> list[OpeningRange]:
    """Replace the whole week (a weekday left out is closed)."""
    ranges = opening_ranges(hours)
    await Hours(session).replace(
        [
            BusinessHours(id=new_id(), weekday=r.weekday, opens_minute=r.opens, closes_minute=r.closes)
            for r in ranges
        ]
    )
    record(session, actor=actor, action="business_hours.set", subject_type="BusinessHours", subject_id=None)
    return ranges


async def week(session: AsyncSession) -> list[OpeningRange]:
    return [OpeningRange(h.weekday, h.opens_minute, h.closes_minute) for h in await Hours(session).week()]
