"""Catalog and scheduling helpers for tests: a business with hours and services, slots, bookings, plans."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bizzly import clock
from tests.support.graphql import GraphQLClient, Result

EVERY_DAY_9_TO_5 = [{"weekday": d, "opens": "09:00", "closes": "17:00"} for d in range(7)]


def payload(result: Result, name: str) -> dict[str, Any]:
    """A mutation's payload, failing the test on a top-level error."""
    assert not result.errors, result.body
    value: dict[str, Any] = result.data[name]
    return value


def ok(result: Result, name: str) -> dict[str, Any]:
    """A mutation's payload, failing the test on any error."""
    value = payload(result, name)
    assert value["errors"] == [], value["errors"]
    return value


async def set_hours(gql: GraphQLClient, token: str, hours: list[dict[str, Any]] | None = None) -> None:
    ok(
        await gql.op(
            "SetBusinessHours",
            {"input": {"hours": EVERY_DAY_9_TO_5 if hours is None else hours}},
            token=token,
        ),
        "setBusinessHours",
    )


async def update_settings(gql: GraphQLClient, token: str, **values: Any) -> dict[str, Any]:
    """``UpdateTenantSettings`` with camelCase values (cancellationCutoffHours=24, ...)."""
    return ok(await gql.op("UpdateTenantSettings", {"input": values}, token=token), "updateTenantSettings")


async def create_service(
    gql: GraphQLClient,
    token: str,
    *,
    name: str = "Haircut",
    duration: int = 60,
    capacity: int = 1,
    amount: int = 2500,
    currency: str = "GBP",
    active: bool = True,
) -> dict[str, Any]:
    variables = {
        "input": {
            "name": name,
            "description": f"{name}, done well",
            "durationMinutes": duration,
            "price": {"amount": amount, "currency": currency},
            "capacity": capacity,
            "active": active,
        }
    }
    service: dict[str, Any] = ok(await gql.op("CreateService", variables, token=token), "createService")[
        "service"
    ]
    return service


async def slots(
    gql: GraphQLClient, service_id: str, day: date, *, tenant: str | None = None, token: str | None = None
) -> list[datetime]:
    result = await gql.op(
        "Availability", {"serviceId": service_id, "date": day.isoformat()}, tenant=tenant, token=token
    )
    assert not result.errors, result.body
    return [datetime.fromisoformat(s["startsAt"]) for s in result.data["availability"]]


async def book(
    gql: GraphQLClient,
    token: str,
    *,
    service_id: str,
    starts_at: datetime,
    customer_id: str | None = None,
) -> dict[str, Any]:
    """``CreateBooking``'s payload (errors included)."""
    variables: dict[str, Any] = {"input": {"serviceId": service_id, "startsAt": starts_at.isoformat()}}
    if customer_id is not None:
        variables["input"]["customerId"] = customer_id
    return payload(await gql.op("CreateBooking", variables, token=token), "createBooking")


async def cancel(gql: GraphQLClient, token: str, booking_id: str, **extra: Any) -> dict[str, Any]:
    return payload(
        await gql.op("CancelBooking", {"input": {"id": booking_id, **extra}}, token=token), "cancelBooking"
    )


def codes(value: dict[str, Any]) -> list[str]:
    return [str(e["code"]) for e in value["errors"]]


def local(day: date, hour: int, minute: int = 0, zone: str = "Europe/London") -> datetime:
    """A wall-clock time of the business, as an aware UTC instant."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def next_weekday(weekday: int, *, after_days: int = 7) -> date:
    """The first ``weekday`` (0 = Monday) at least ``after_days`` from now."""
    day = (clock.now() + timedelta(days=after_days)).date()
    return day + timedelta(days=(weekday - day.weekday()) % 7)


def last_sunday(year: int, month: int) -> date:
    first_next = date(year + (month == 12), month % 12 + 1, 1)
    last = first_next - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - 6) % 7)


def next_last_sunday(month: int) -> date:
    """The next last Sunday of ``month`` (Europe's daylight-saving changes: March and October)."""
    today = clock.now().date()
    for year in (today.year, today.year + 1):
        day = last_sunday(year, month)
        if day > today + timedelta(days=1):
            return day
    raise AssertionError("unreachable")
