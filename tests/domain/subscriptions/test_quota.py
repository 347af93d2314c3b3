"""Subscriptions and their quota: a booking of a covered service uses a unit of the period it takes place
in; an empty period refuses clearly; a cancel before the cut-off (or a staff override) gives it back."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from bizzly import clock
from bizzly.settings import Settings
from tests.conftest import make_settings
from tests.support.accounts import SignedUp, database_snapshot, sign_up, snapshot_changes
from tests.support.customers import create_customer, register
from tests.support.graphql import GraphQLClient
from tests.support.scheduling import (
    book,
    cancel,
    codes,
    create_service,
    local,
    next_weekday,
    ok,
    set_hours,
    update_settings,
)


@pytest.fixture
def settings(database_settings: dict[str, str]) -> Settings:
    # The clock moves by days below: access tokens must outlive that.
    return make_settings(database_settings, access_token_ttl_seconds=90 * 86400)


@pytest.fixture
async def owner(gql: GraphQLClient) -> SignedUp:
    business = await sign_up(gql, slug="gym-club", email="owner@gym.example.com")
    await set_hours(gql, business.access_token)
    await update_settings(gql, business.access_token, cancellationCutoffHours=24)
    return business


async def _plan(
    gql: GraphQLClient, token: str, service_ids: list[str] | None, quota: int = 2
) -> dict[str, Any]:
    variables: dict[str, Any] = {
        "input": {
            "name": "Twice a week",
            "quota": quota,
            "period": "WEEK",
            "price": {"amount": 3000, "currency": "GBP"},
        }
    }
    if service_ids is not None:
        variables["input"]["serviceIds"] = service_ids
    plan: dict[str, Any] = ok(await gql.op("CreatePlan", variables, token=token), "createPlan")["plan"]
    return plan


async def _subscribe(gql: GraphQLClient, token: str, customer_id: str, plan_id: str) -> dict[str, Any]:
    result = await gql.op(
        "SubscribeCustomer", {"input": {"customerId": customer_id, "planId": plan_id}}, token=token
    )
    subscription: dict[str, Any] = ok(result, "subscribeCustomer")["subscription"]
    return subscription


async def _my_subscriptions(gql: GraphQLClient, token: str) -> list[dict[str, Any]]:
    result = await gql.op("MyBookings", token=token)
    assert not result.errors, result.body
    subs: list[dict[str, Any]] = result.data["me"]["subscriptions"]
    return subs


async def test_use_refusal_refund_before_the_cut_off_and_none_after(
    gql: GraphQLClient, owner: SignedUp, settings: Settings
) -> None:
    token = owner.access_token
    class_ = await create_service(gql, token, name="Spin class", duration=60, capacity=10)
    massage = await create_service(gql, token, name="Massage", duration=60)
    plan = await _plan(gql, token, [class_["id"]])
    zoe = await register(gql, owner.slug, name="Zoe", email="zoe@example.com")
    zoe_token = zoe["accessToken"]
    sub = await _subscribe(gql, token, zoe["customer"]["id"], plan["id"])
    assert sub["status"] == "ACTIVE"
    assert sub["remaining"] == 2
    assert sub["plan"] == {"id": plan["id"], "name": "Twice a week", "quota": 2}

    monday = next_weekday(0, after_days=7)
    wednesday = monday + timedelta(days=2)
    first = await book(gql, zoe_token, service_id=class_["id"], starts_at=local(wednesday, 10))
    second = await book(gql, zoe_token, service_id=class_["id"], starts_at=local(wednesday, 12))
    assert first["errors"] == second["errors"] == []

    # The week is used up: a clear refusal, and nothing written.
    before = await database_snapshot(settings)
    third = await book(gql, zoe_token, service_id=class_["id"], starts_at=local(wednesday, 14))
    assert third["booking"] is None
    (error,) = third["errors"]
    assert (error["field"], error["code"]) == ("startsAt", "LIMIT_REACHED")
    assert "Twice a week" in error["message"]
    assert (monday + timedelta(days=7)).isoformat() in error["message"]  # when it renews
    assert snapshot_changes(before, await database_snapshot(settings)) == {}

    # Other services and other weeks are not this week's quota.
    assert (await book(gql, zoe_token, service_id=massage["id"], starts_at=local(wednesday, 14)))[
        "errors"
    ] == []
    next_week = wednesday + timedelta(days=7)
    assert (await book(gql, zoe_token, service_id=class_["id"], starts_at=local(next_week, 10)))[
        "errors"
    ] == []

    # In that week, the subscription shows what is left and when it renews.
    clock.advance(local(monday, 0, 30) - clock.now())
    (mine,) = await _my_subscriptions(gql, zoe_token)
    assert mine["remaining"] == 0
    detail = await gql.op("CustomerDetail", {"id": zoe["customer"]["id"]}, token=token)
    (seen,) = detail.data["node"]["subscriptions"]
    assert seen["periodEndsAt"] == local(monday + timedelta(days=7), 0).isoformat()

    # Cancelled before the cut-off: the unit comes back, and can be used again.
    assert (await cancel(gql, zoe_token, first["booking"]["id"]))["booking"]["status"] == "CANCELLED"
    assert (await _my_subscriptions(gql, zoe_token))[0]["remaining"] == 1
    rebooked = await book(gql, zoe_token, service_id=class_["id"], starts_at=local(wednesday, 10))
    assert rebooked["errors"] == []
    assert (await _my_subscriptions(gql, zoe_token))[0]["remaining"] == 0

    # 23 hours before the noon class: too late for Zoe; staff may cancel, the unit stays used...
    clock.advance(local(wednesday, 12) - timedelta(hours=23) - clock.now())
    assert codes(await cancel(gql, zoe_token, second["booking"]["id"])) == ["TOO_LATE"]
    assert (await cancel(gql, token, second["booking"]["id"]))["booking"]["status"] == "CANCELLED"
    assert (await _my_subscriptions(gql, zoe_token))[0]["remaining"] == 0
    # ...unless staff override and give it back.
    override = await cancel(gql, token, rebooked["booking"]["id"], refundQuota=True)
    assert override["booking"]["status"] == "CANCELLED"
    assert (await _my_subscriptions(gql, zoe_token))[0]["remaining"] == 1


async def test_a_cancelled_subscription_stops_covering_and_cannot_be_taken_twice(
    gql: GraphQLClient, owner: SignedUp
) -> None:
    token = owner.access_token
    class_ = await create_service(gql, token, name="Spin class", capacity=10)
    plan = await _plan(gql, token, None, quota=1)  # every service
    ann = await create_customer(gql, owner, name="Ann", email="ann@example.com")
    sub = await _subscribe(gql, token, ann["id"], plan["id"])
    naive = await gql.op(
        "SubscribeCustomer",
        {"input": {"customerId": ann["id"], "planId": plan["id"], "endsAt": "2030-01-01T00:00:00"}},
        token=token,
    )
    assert codes(naive.data["subscribeCustomer"]) == ["INVALID"]
    twice = await gql.op(
        "SubscribeCustomer", {"input": {"customerId": ann["id"], "planId": plan["id"]}}, token=token
    )
    assert codes(twice.data["subscribeCustomer"]) == ["CONFLICT"]

    day = next_weekday(2)
    assert (await book(gql, token, service_id=class_["id"], starts_at=local(day, 10), customer_id=ann["id"]))[
        "errors"
    ] == []
    refused = await book(gql, token, service_id=class_["id"], starts_at=local(day, 12), customer_id=ann["id"])
    assert codes(refused) == ["LIMIT_REACHED"]

    done = await gql.op("CancelSubscription", {"id": sub["id"]}, token=token)
    assert done.data["cancelSubscription"] == {
        "subscription": {"id": sub["id"], "status": "CANCELLED"},
        "errors": [],
    }
    # Without a running plan the booking is simply paid on its own.
    assert (await book(gql, token, service_id=class_["id"], starts_at=local(day, 12), customer_id=ann["id"]))[
        "errors"
    ] == []
    detail = await gql.op("CustomerDetail", {"id": ann["id"]}, token=token)
    (seen,) = detail.data["node"]["subscriptions"]
    assert (seen["status"], seen["remaining"], seen["periodEndsAt"]) == ("CANCELLED", 0, None)
    again = await gql.op("CancelSubscription", {"id": sub["id"]}, token=token)
    assert codes(again.data["cancelSubscription"]) == ["CONFLICT"]
    # A new subscription to the same plan is fine once the old one has ended.
    assert (await _subscribe(gql, token, ann["id"], plan["id"]))["status"] == "ACTIVE"


async def test_racing_bookings_never_use_more_units_than_the_quota(
    gql: GraphQLClient, owner: SignedUp
) -> None:
    token = owner.access_token
    class_ = await create_service(gql, token, name="Spin class", duration=30, capacity=10)
    plan = await _plan(gql, token, [class_["id"]], quota=2)
    ann = await create_customer(gql, owner, name="Ann", email="ann@example.com")
    await _subscribe(gql, token, ann["id"], plan["id"])
    day = next_weekday(2)

    results = await asyncio.gather(
        *(
            book(
                gql,
                token,
                service_id=class_["id"],
                starts_at=local(day, 9) + timedelta(minutes=30 * i),
                customer_id=ann["id"],
            )
            for i in range(8)
        )
    )
    assert sorted(tuple(codes(r)) for r in results) == [()] * 2 + [("LIMIT_REACHED",)] * 6


async def test_a_customer_cannot_see_another_customers_subscription(
    gql: GraphQLClient, owner: SignedUp
) -> None:
    token = owner.access_token
    plan = await _plan(gql, token, None)
    zoe = await register(gql, owner.slug, name="Zoe", email="zoe@example.com")
    max_ = await register(gql, owner.slug, name="Max", email="max@example.com")
    sub = await _subscribe(gql, token, zoe["customer"]["id"], plan["id"])
    query = "query($id: ID!) { node(id: $id) { id } }"
    assert (await gql(query, {"id": sub["id"]}, token=max_["accessToken"])).error_codes == ["NOT_FOUND"]
    assert (await gql(query, {"id": sub["id"]}, token=zoe["accessToken"])).data == {"node": {"id": sub["id"]}}
    assert await _my_subscriptions(gql, max_["accessToken"]) == []
    # Plans are the business's settings: not for customers.
    assert (await gql.op("Plans", token=zoe["accessToken"])).error_codes == ["FORBIDDEN"]
