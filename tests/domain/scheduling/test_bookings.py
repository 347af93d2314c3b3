"""Bookings: who books (and the source that follows), the slot rules as typed errors that write nothing,
capacity, rescheduling, the cancellation cut-off, and customers kept to their own bookings."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from bizzly import clock
from bizzly.settings import Settings
from tests.conftest import make_settings
from tests.support.accounts import SignedUp, database_snapshot, sign_up, snapshot_changes, staff_token
from tests.support.customers import create_customer, register, row_id
from tests.support.graphql import GraphQLClient
from tests.support.scheduling import (
    book,
    cancel,
    codes,
    create_service,
    local,
    next_weekday,
    set_hours,
    slots,
    update_settings,
)


@pytest.fixture
def settings(database_settings: dict[str, str]) -> Settings:
    # Tests below move the clock by days: access tokens must outlive that.
    return make_settings(database_settings, access_token_ttl_seconds=90 * 86400)


@pytest.fixture
async def owner(gql: GraphQLClient) -> SignedUp:
    business = await sign_up(gql, slug="kind-cuts", email="owner@kind.example.com")
    await set_hours(gql, business.access_token)
    return business


@pytest.fixture
async def haircut(gql: GraphQLClient, owner: SignedUp) -> dict[str, Any]:
    return await create_service(gql, owner.access_token, name="Haircut", duration=60)


async def test_staff_book_from_the_dashboard_and_customers_from_the_website(
    gql: GraphQLClient, owner: SignedUp, haircut: dict[str, Any]
) -> None:
    ann = await create_customer(gql, owner, name="Ann", email="ann@example.com")
    zoe = await register(gql, owner.slug, name="Zoe", email="zoe@example.com")
    day = next_weekday(2)

    by_staff = await book(
        gql, owner.access_token, service_id=haircut["id"], starts_at=local(day, 10), customer_id=ann["id"]
    )
    assert by_staff["errors"] == []
    booking = by_staff["booking"]
    assert booking["status"] == "CONFIRMED"
    assert booking["source"] == "DASHBOARD"
    assert booking["customer"] == {"id": ann["id"]}
    assert booking["service"] == {"id": haircut["id"]}
    assert booking["endsAt"] == (local(day, 11)).isoformat()

    by_customer = await book(gql, zoe["accessToken"], service_id=haircut["id"], starts_at=local(day, 14))
    assert by_customer["errors"] == []
    assert by_customer["booking"]["source"] == "WEBSITE"
    assert by_customer["booking"]["customer"] == {"id": zoe["customer"]["id"]}

    # Staff must say for whom; a customer cannot book for someone else.
    nobody = await book(gql, owner.access_token, service_id=haircut["id"], starts_at=local(day, 15))
    assert [(e["field"], e["code"]) for e in nobody["errors"]] == [("customerId", "REQUIRED")]
    for_ann = await book(
        gql, zoe["accessToken"], service_id=haircut["id"], starts_at=local(day, 15), customer_id=ann["id"]
    )
    assert [(e["field"], e["code"]) for e in for_ann["errors"]] == [("customerId", "NOT_FOUND")]

    audit = await gql.op("AuditLog", {"first": 20}, token=owner.access_token)
    created = [e["node"] for e in audit.data["auditLog"]["edges"] if e["node"]["action"] == "booking.created"]
    assert {(e["actor"], e["subjectId"]) for e in created} == {
        ("staff:owner@kind.example.com", booking["id"]),
        (f"customer:{row_id(zoe['customer']['id'])}", by_customer["booking"]["id"]),
    }


async def test_bad_input_is_a_typed_error_and_writes_nothing(
    gql: GraphQLClient, owner: SignedUp, haircut: dict[str, Any], settings: Settings
) -> None:
    ann = await create_customer(gql, owner, name="Ann", email="ann@example.com")
    day = next_weekday(2)
    closed = next_weekday(3)
    await gql.op(
        "UpdateTenantSettings", {"input": {"closedDates": [closed.isoformat()]}}, token=owner.access_token
    )
    other_owner = await sign_up(gql, slug="other-cuts")
    foreign = await create_service(gql, other_owner.access_token, name="Theirs")
    before = await database_snapshot(settings)

    cases = [
        ({"serviceId": foreign["id"], "startsAt": local(day, 10)}, ("serviceId", "NOT_FOUND")),
        ({"serviceId": "garbage", "startsAt": local(day, 10)}, ("serviceId", "INVALID")),
        ({"startsAt": local(day, 10, 7)}, ("startsAt", "INVALID")),  # off the 15-minute grid
        ({"startsAt": local(day, 8)}, ("startsAt", "INVALID")),  # before opening
        ({"startsAt": local(day, 16, 30)}, ("startsAt", "INVALID")),  # would end after closing
        ({"startsAt": local(closed, 10)}, ("startsAt", "UNAVAILABLE")),
        ({"startsAt": local(day, 10) - timedelta(days=14)}, ("startsAt", "INVALID")),  # in the past
        ({"startsAt": local(day, 10) + timedelta(days=400)}, ("startsAt", "INVALID")),  # too far ahead
    ]
    for change, expected in cases:
        values = {"serviceId": haircut["id"], "customerId": ann["id"], **change}
        variables = {"input": {**values, "startsAt": values["startsAt"].isoformat()}}
        result = await gql.op("CreateBooking", variables, token=owner.access_token)
        payload = result.data["createBooking"]
        assert payload["booking"] is None, change
        assert [(e["field"], e["code"]) for e in payload["errors"]] == [expected], (change, payload["errors"])
        assert all(e["message"] for e in payload["errors"])
    assert snapshot_changes(before, await database_snapshot(settings)) == {}


async def test_capacity_counts_every_overlapping_booking(gql: GraphQLClient, owner: SignedUp) -> None:
    customers = [await create_customer(gql, owner, name=f"C{i}", email=f"c{i}@example.com") for i in range(4)]
    chair = await create_service(gql, owner.access_token, name="Chair", duration=60, capacity=1)
    yoga = await create_service(gql, owner.access_token, name="Yoga", duration=60, capacity=3)
    day = next_weekday(1)
    token = owner.access_token

    assert (
        await book(
            gql, token, service_id=chair["id"], starts_at=local(day, 10), customer_id=customers[0]["id"]
        )
    )["errors"] == []
    # Half an hour later overlaps the first hour: refused by the seat at 10:30 already taken.
    late = await book(
        gql, token, service_id=chair["id"], starts_at=local(day, 10, 30), customer_id=customers[1]["id"]
    )
    assert [(e["field"], e["code"], e["message"]) for e in late["errors"]] == [
        ("startsAt", "UNAVAILABLE", "This time is fully booked.")
    ]
    after = await book(
        gql, token, service_id=chair["id"], starts_at=local(day, 11), customer_id=customers[1]["id"]
    )
    assert after["errors"] == []

    results = [
        await book(gql, token, service_id=yoga["id"], starts_at=local(day, 10), customer_id=c["id"])
        for c in customers
    ]
    assert [codes(r) for r in results] == [[], [], [], ["UNAVAILABLE"]]
    assert local(day, 10) not in await slots(gql, yoga["id"], day, tenant=owner.slug)
    # Capacity is per service: the chair's bookings do not fill yoga and the other way round.
    assert local(day, 12) in await slots(gql, chair["id"], day, tenant=owner.slug)


async def test_rescheduling_moves_the_seat_and_cancelling_frees_it(
    gql: GraphQLClient, owner: SignedUp, haircut: dict[str, Any]
) -> None:
    ann = await create_customer(gql, owner, name="Ann", email="ann@example.com")
    bob = await create_customer(gql, owner, name="Bob", email="bob@example.com")
    day = next_weekday(2)
    token = owner.access_token
    booking = (
        await book(gql, token, service_id=haircut["id"], starts_at=local(day, 10), customer_id=ann["id"])
    )["booking"]

    moved = await gql.op(
        "RescheduleBooking",
        {"input": {"id": booking["id"], "startsAt": local(day, 10, 30).isoformat()}},
        token=token,
    )
    assert moved.data["rescheduleBooking"]["errors"] == []
    assert moved.data["rescheduleBooking"]["booking"]["startsAt"] == local(day, 10, 30).isoformat()
    assert moved.data["rescheduleBooking"]["booking"]["endsAt"] == local(day, 11, 30).isoformat()
    free = await slots(gql, haircut["id"], day, tenant=owner.slug)
    assert local(day, 9, 30) in free
    assert local(day, 10) not in free
    assert local(day, 11, 15) not in free

    # Bob cannot take the old overlapping time, but can take the time the move freed.
    clash = await book(gql, token, service_id=haircut["id"], starts_at=local(day, 11), customer_id=bob["id"])
    assert codes(clash) == ["UNAVAILABLE"]
    assert (
        await book(gql, token, service_id=haircut["id"], starts_at=local(day, 9, 30), customer_id=bob["id"])
    )["errors"] == []

    # Moving onto a full time is refused and leaves the booking where it was.
    refused = await gql.op(
        "RescheduleBooking",
        {"input": {"id": booking["id"], "startsAt": local(day, 9).isoformat()}},
        token=token,
    )
    assert codes(refused.data["rescheduleBooking"]) == ["UNAVAILABLE"]
    assert local(day, 11, 15) not in await slots(gql, haircut["id"], day, tenant=owner.slug)

    refused_nul = await gql.op(
        "CancelBooking", {"input": {"id": booking["id"], "reason": "\x00"}}, token=token
    )
    assert refused_nul.status == 400  # NUL is refused at the endpoint, before anything runs
    cancelled = await cancel(gql, token, booking["id"], reason="Feeling unwell")
    assert cancelled["booking"] == {"id": booking["id"], "status": "CANCELLED"}
    assert local(day, 11, 15) in await slots(gql, haircut["id"], day, tenant=owner.slug)
    again = await cancel(gql, token, booking["id"])
    assert codes(again) == ["CONFLICT"]


async def test_customers_reach_only_their_own_bookings(
    gql: GraphQLClient, owner: SignedUp, haircut: dict[str, Any]
) -> None:
    zoe = await register(gql, owner.slug, name="Zoe", email="zoe@example.com")
    max_ = await register(gql, owner.slug, name="Max", email="max@example.com")
    day = next_weekday(2)
    zoes = (await book(gql, zoe["accessToken"], service_id=haircut["id"], starts_at=local(day, 10)))[
        "booking"
    ]

    attempts = [
        await gql.op("CancelBooking", {"input": {"id": zoes["id"]}}, token=max_["accessToken"]),
        await gql.op(
            "RescheduleBooking",
            {"input": {"id": zoes["id"], "startsAt": local(day, 13).isoformat()}},
            token=max_["accessToken"],
        ),
    ]
    for result in attempts:
        name = next(iter(result.data))
        assert result.data[name]["booking"] is None
        assert [(e["field"], e["code"]) for e in result.data[name]["errors"]] == [("id", "NOT_FOUND")]
    peek = await gql(
        "query($id: ID!) { node(id: $id) { id } }", {"id": zoes["id"]}, token=max_["accessToken"]
    )
    assert peek.error_codes == ["NOT_FOUND"]
    mine = await gql("query($id: ID!) { node(id: $id) { id } }", {"id": zoes["id"]}, token=zoe["accessToken"])
    assert mine.data == {"node": {"id": zoes["id"]}}
    # Max's own list is empty; Zoe's holds her booking; the staff list is not for customers.
    assert (await gql.op("MyBookings", token=max_["accessToken"])).data["me"]["bookings"]["edges"] == []
    zoe_list = (await gql.op("MyBookings", token=zoe["accessToken"])).data["me"]["bookings"]["edges"]
    assert [e["node"]["id"] for e in zoe_list] == [zoes["id"]]
    assert zoe_list[0]["node"]["service"] == {"name": "Haircut"}
    assert (await gql.op("Bookings", {"first": 5}, token=zoe["accessToken"])).error_codes == ["FORBIDDEN"]


async def test_the_cancellation_cut_off_binds_customers_not_staff(
    gql: GraphQLClient, owner: SignedUp, haircut: dict[str, Any]
) -> None:
    await update_settings(gql, owner.access_token, cancellationCutoffHours=24)
    zoe = await register(gql, owner.slug, name="Zoe", email="zoe@example.com")
    day = next_weekday(2)
    first = (await book(gql, zoe["accessToken"], service_id=haircut["id"], starts_at=local(day, 10)))[
        "booking"
    ]
    second = (await book(gql, zoe["accessToken"], service_id=haircut["id"], starts_at=local(day, 12)))[
        "booking"
    ]

    clock.advance(local(day, 10) - clock.now() - timedelta(hours=23))  # 23 hours before the first
    late = await cancel(gql, zoe["accessToken"], first["id"])
    assert late["booking"] is None
    (error,) = late["errors"]
    assert error["code"] == "TOO_LATE"
    assert "24 hours" in error["message"]
    moved = await gql.op(
        "RescheduleBooking",
        {"input": {"id": first["id"], "startsAt": local(day, 15).isoformat()}},
        token=zoe["accessToken"],
    )
    assert codes(moved.data["rescheduleBooking"]) == ["TOO_LATE"]

    # Staff override the cut-off (the audit log says it was late).
    staff = await staff_token(gql, owner, "STAFF")
    by_staff = await cancel(gql, staff, first["id"])
    assert by_staff["booking"] == {"id": first["id"], "status": "CANCELLED"}
    audit = await gql.op("AuditLog", {"first": 5}, token=owner.access_token)
    cancelled = [
        e["node"] for e in audit.data["auditLog"]["edges"] if e["node"]["action"] == "booking.cancelled"
    ]
    assert [e["subjectId"] for e in cancelled] == [first["id"]]
    assert cancelled[0]["actor"].startswith("staff:")

    # The second booking (25 hours away) is still the customer's to cancel.
    assert (await cancel(gql, zoe["accessToken"], second["id"]))["booking"]["status"] == "CANCELLED"


async def test_bookings_page_filters_and_pages(
    gql: GraphQLClient, owner: SignedUp, haircut: dict[str, Any]
) -> None:
    ann = await create_customer(gql, owner, name="Ann", email="ann@example.com", phone="+447700900123")
    zoe = await register(gql, owner.slug, name="Zoe", email="zoe@example.com")
    day = next_weekday(2)
    token = owner.access_token
    for hour in (9, 11, 13):
        await book(gql, token, service_id=haircut["id"], starts_at=local(day, hour), customer_id=ann["id"])
    web = (await book(gql, zoe["accessToken"], service_id=haircut["id"], starts_at=local(day, 15)))["booking"]
    await cancel(gql, token, web["id"])

    page = (await gql.op("Bookings", {"first": 2}, token=token)).data["bookings"]
    assert [e["node"]["startsAt"] for e in page["edges"]] == [
        local(day, 15).isoformat(),
        local(day, 13).isoformat(),
    ]
    assert page["pageInfo"]["hasNextPage"] is True
    rest = (await gql.op("Bookings", {"first": 5, "after": page["pageInfo"]["endCursor"]}, token=token)).data[
        "bookings"
    ]
    assert [e["node"]["startsAt"] for e in rest["edges"]] == [
        local(day, 11).isoformat(),
        local(day, 9).isoformat(),
    ]
    node = rest["edges"][0]["node"]
    assert node["customer"] == {"id": ann["id"], "name": "Ann", "phone": "+447700900123"}
    assert node["service"] == {
        "id": haircut["id"],
        "name": "Haircut",
        "price": {"amount": 2500, "currency": "GBP"},
    }

    async def ids(filter_: dict[str, Any]) -> list[str]:
        result = await gql.op("Bookings", {"first": 10, "filter": filter_}, token=token)
        assert not result.errors, result.body
        return [e["node"]["startsAt"] for e in result.data["bookings"]["edges"]]

    assert await ids({"status": "CANCELLED"}) == [local(day, 15).isoformat()]
    assert await ids({"source": "WEBSITE"}) == [local(day, 15).isoformat()]
    assert len(await ids({"customerId": ann["id"]})) == 3
    window = {"from": local(day, 10).isoformat(), "to": local(day, 14).isoformat()}
    assert await ids(window) == [local(day, 13).isoformat(), local(day, 11).isoformat()]
    bad = await gql.op("Bookings", {"first": 500}, token=token)
    assert bad.error_codes == ["BAD_USER_INPUT"]
    naive = await gql.op("Bookings", {"first": 5, "filter": {"from": "2026-01-01T10:00:00"}}, token=token)
    assert naive.error_codes == ["BAD_USER_INPUT"]


async def test_the_bookings_page_counts_the_whole_filtered_list_when_asked(
    gql: GraphQLClient, owner: SignedUp, haircut: dict[str, Any]
) -> None:
    ann = await create_customer(gql, owner, name="Ann", email="ann@example.com", phone="+447700900123")
    day = next_weekday(2)
    token = owner.access_token
    for hour in (9, 11, 13):
        await book(gql, token, service_id=haircut["id"], starts_at=local(day, hour), customer_id=ann["id"])
    query = """query Count($filter: BookingFilter) {
      bookings(first: 1, filter: $filter) { totalCount edges { node { id } } }
    }"""
    result = await gql(query, token=token)
    assert not result.errors, result.body
    assert result.data["bookings"]["totalCount"] == 3
    assert len(result.data["bookings"]["edges"]) == 1
    window = {"from": local(day, 10).isoformat(), "to": local(day, 14).isoformat()}
    assert (await gql(query, {"filter": window}, token=token)).data["bookings"]["totalCount"] == 2
    # Asked for through a fragment, as a dashboard's generated client does.
    fragment = """query Count { bookings(first: 1) { ...Total } }
    fragment Total on BookingConnection { totalCount }"""
    result = await gql(fragment, token=token)
    assert not result.errors, result.body
    assert result.data["bookings"]["totalCount"] == 3


async def test_staff_record_how_a_booking_went(
    gql: GraphQLClient, owner: SignedUp, haircut: dict[str, Any]
) -> None:
    ann = await create_customer(gql, owner, name="Ann", email="ann@example.com")
    day = next_weekday(2)
    booking = (
        await book(
            gql, owner.access_token, service_id=haircut["id"], starts_at=local(day, 10), customer_id=ann["id"]
        )
    )["booking"]
    mark = (
        "mutation($input: MarkBookingInput!) "
        "{ markBooking(input: $input) { booking { status } errors { code } } }"
    )
    early = await gql(mark, {"input": {"id": booking["id"], "status": "NO_SHOW"}}, token=owner.access_token)
    assert early.data["markBooking"]["errors"] == [{"code": "CONFLICT"}]
    clock.advance(local(day, 10, 5) - clock.now())
    done = await gql(mark, {"input": {"id": booking["id"], "status": "NO_SHOW"}}, token=owner.access_token)
    assert done.data["markBooking"] == {"booking": {"status": "NO_SHOW"}, "errors": []}
    # A no-show keeps its seat: the time stays taken.
    assert local(day, 10) not in await slots(gql, haircut["id"], day, tenant=owner.slug)
