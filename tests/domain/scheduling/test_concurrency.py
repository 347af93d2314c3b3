"""No slot is ever booked beyond its capacity, however many requests race for it: the database refuses the
extra seats itself (unique seat numbers per service and time, each below the capacity)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from bizzly.ids import new_id
from domain.scheduling.models import Booking, BookingSeat
from tests.support.accounts import SignedUp, sign_up
from tests.support.customers import create_customer, row_id, tenant_session
from tests.support.graphql import GraphQLClient
from tests.support.scheduling import book, codes, create_service, local, next_weekday, set_hours


@pytest.fixture
async def owner(gql: GraphQLClient) -> SignedUp:
    business = await sign_up(gql, slug="busy-studio")
    await set_hours(gql, business.access_token)
    return business


async def _race(gql: GraphQLClient, owner: SignedUp, *, contenders: int, capacity: int) -> None:
    service = await create_service(gql, owner.access_token, name=f"Class of {capacity}", capacity=capacity)
    customers = [
        await create_customer(gql, owner, name=f"Racer {i}", email=f"racer{i}@example.com")
        for i in range(contenders)
    ]
    starts = local(next_weekday(2), 10)

    results = await asyncio.gather(
        *(
            book(gql, owner.access_token, service_id=service["id"], starts_at=starts, customer_id=c["id"])
            for c in customers
        )
    )

    won = [r for r in results if not r["errors"]]
    lost = [r for r in results if r["errors"]]
    assert len(won) == capacity
    assert len(lost) == contenders - capacity
    assert all(r["booking"] is None and codes(r) == ["UNAVAILABLE"] for r in lost), lost[:3]
    assert {r["booking"]["startsAt"] for r in won} == {starts.isoformat()}
    # What the database holds agrees: exactly ``capacity`` bookings, each with its own seat at each tick.
    async with tenant_session(gql, owner) as s:
        bookings = await s.scalar(
            select(func.count()).select_from(Booking).where(Booking.service_id == row_id(service["id"]))
        )
        per_tick = (
            await s.execute(
                select(BookingSeat.starts_at, func.count())
                .where(BookingSeat.service_id == row_id(service["id"]))
                .group_by(BookingSeat.starts_at)
            )
        ).all()
    assert bookings == capacity
    assert len(per_tick) == 12  # an hour of 5-minute ticks
    assert {n for _, n in per_tick} == {capacity}


@pytest.mark.parametrize("capacity", [1, 3])
async def test_ten_concurrent_bookings_of_one_slot(
    gql: GraphQLClient, owner: SignedUp, capacity: int
) -> None:
    await _race(gql, owner, contenders=10, capacity=capacity)


@pytest.mark.postgres_only
@pytest.mark.parametrize("capacity", [1, 3])
async def test_fifty_concurrent_bookings_of_one_slot(
    gql: GraphQLClient, owner: SignedUp, capacity: int
) -> None:
    await _race(gql, owner, contenders=50, capacity=capacity)


async def test_the_database_refuses_a_seat_beyond_capacity_or_taken_twice(
    gql: GraphQLClient, owner: SignedUp
) -> None:
    """Whatever the code computes: here the seats are written by hand, past every check in Python."""
    service = await create_service(gql, owner.access_token, capacity=2)
    customer = await create_customer(gql, owner, name="Ann", email="ann@example.com")
    starts = local(next_weekday(2), 10)
    done = await book(
        gql, owner.access_token, service_id=service["id"], starts_at=starts, customer_id=customer["id"]
    )
    booking_id = row_id(done["booking"]["id"])

    def seat(seat_no: int, capacity: int, at: datetime = starts) -> dict[str, Any]:
        return {
            "id": new_id(),
            "tenant_id": row_id(owner.tenant_id),
            "booking_id": booking_id,
            "service_id": row_id(service["id"]),
            "starts_at": at,
            "seat_no": seat_no,
            "capacity": capacity,
        }

    for bad in (seat(0, 2), seat(2, 2), seat(-1, 2)):  # taken; at capacity; negative
        with pytest.raises(IntegrityError):
            async with tenant_session(gql, owner) as s:
                await s.execute(insert(BookingSeat), [bad])
    async with tenant_session(gql, owner) as s:
        await s.execute(insert(BookingSeat), [seat(1, 2)])  # the one seat still free is accepted
