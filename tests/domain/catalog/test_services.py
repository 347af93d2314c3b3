"""Services, prices and business hours: what staff may edit, what the public sees, and bad input refused
with the field named and nothing written."""

from __future__ import annotations

from typing import Any

import pytest

from bizzly.settings import Settings
from tests.support.accounts import SignedUp, database_snapshot, sign_up, snapshot_changes, staff_token
from tests.support.customers import register
from tests.support.graphql import GraphQLClient
from tests.support.scheduling import create_service, ok, set_hours


@pytest.fixture
async def owner(gql: GraphQLClient) -> SignedUp:
    return await sign_up(gql, slug="tidy-salon", email="owner@tidy.example.com")


def _service_input(**change: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "name": "Colour",
        "description": "Full colour",
        "durationMinutes": 90,
        "price": {"amount": 6500, "currency": "EUR"},
        "capacity": 2,
    }
    values.update(change)
    return {"input": values}


async def test_staff_create_edit_and_archive_a_service(gql: GraphQLClient, owner: SignedUp) -> None:
    token = owner.access_token
    created = ok(await gql.op("CreateService", _service_input(), token=token), "createService")["service"]
    assert created["name"] == "Colour"
    assert created["price"] == {"amount": 6500, "currency": "EUR"}
    assert (created["capacity"], created["active"], created["durationMinutes"]) == (2, True, 90)

    update = {
        "input": {"id": created["id"], "price": {"amount": 7000, "currency": "eur"}, "description": None}
    }
    edited = ok(await gql.op("UpdateService", update, token=token), "updateService")["service"]
    assert edited["price"] == {"amount": 7000, "currency": "EUR"}
    assert edited["name"] == "Colour"  # omitted: unchanged
    listed = (await gql.op("Services", token=token)).data["services"]["edges"]
    assert [e["node"]["description"] for e in listed] == [None]  # explicit null: cleared

    archive = "mutation($id: ID!) { archiveService(id: $id) { service { archived active } errors { code } } }"
    archived = await gql(archive, {"id": created["id"]}, token=token)
    assert archived.data["archiveService"] == {"service": {"archived": True, "active": False}, "errors": []}
    assert (await gql.op("Services", token=token)).data["services"]["edges"] == []
    again = await gql.op("UpdateService", {"input": {"id": created["id"], "name": "Back"}}, token=token)
    assert [e["code"] for e in again.data["updateService"]["errors"]] == ["NOT_FOUND"]


async def test_bad_service_input_names_the_field_and_writes_nothing(
    gql: GraphQLClient, owner: SignedUp, settings: Settings
) -> None:
    token = owner.access_token
    before = await database_snapshot(settings)
    cases: list[tuple[dict[str, Any], list[tuple[str, str]]]] = [
        ({"price": {"amount": -1, "currency": "EUR"}}, [("price.amount", "INVALID")]),
        ({"price": {"amount": 100, "currency": "XYZ"}}, [("price.currency", "INVALID")]),
        ({"price": {"amount": 100, "currency": "euro"}}, [("price.currency", "INVALID")]),
        ({"durationMinutes": 0}, [("durationMinutes", "INVALID")]),
        ({"durationMinutes": 47}, [("durationMinutes", "INVALID")]),
        ({"capacity": 0}, [("capacity", "INVALID")]),
        ({"name": "  "}, [("name", "REQUIRED")]),
        (
            {"name": "", "price": {"amount": -5, "currency": "ZZZ"}},
            [("name", "REQUIRED"), ("price.currency", "INVALID")],
        ),
    ]
    for change, expected in cases:
        payload = (await gql.op("CreateService", _service_input(**change), token=token)).data["createService"]
        assert payload["service"] is None
        assert [(e["field"], e["code"]) for e in payload["errors"]] == expected, change
    # PostgreSQL cannot store NUL: the endpoint refuses such text before any resolver runs.
    for change in ({"name": "Cut\x00"}, {"description": "\x00"}):
        refused_nul = await gql.op("CreateService", _service_input(**change), token=token)
        assert refused_nul.status == 400
    assert snapshot_changes(before, await database_snapshot(settings)) == {}

    created = await create_service(gql, token)
    update = {"input": {"id": created["id"], "price": {"amount": -100, "currency": "GBP"}}}
    refused = (await gql.op("UpdateService", update, token=token)).data["updateService"]
    assert [(e["field"], e["code"]) for e in refused["errors"]] == [("price.amount", "INVALID")]


async def test_the_public_sees_active_services_and_staff_see_all(gql: GraphQLClient, owner: SignedUp) -> None:
    token = owner.access_token
    await create_service(gql, token, name="Cut")
    await create_service(gql, token, name="Beard", active=False)
    customer = await register(gql, owner.slug, name="Zoe", email="zoe@example.com")

    def names(result: Any) -> list[str]:
        assert not result.errors, result.body
        return [e["node"]["name"] for e in result.data["services"]["edges"]]

    assert names(await gql.op("Services", token=token)) == ["Beard", "Cut"]
    assert names(await gql.op("Services", tenant=owner.slug)) == ["Cut"]
    assert names(await gql.op("Services", token=customer["accessToken"])) == ["Cut"]
    assert (await gql.op("Services")).error_codes == ["BAD_USER_INPUT"]  # which business?
    assert (await gql.op("Services", tenant="no-such-business")).error_codes == ["NOT_FOUND"]


async def test_only_owners_and_admins_change_the_catalog(gql: GraphQLClient, owner: SignedUp) -> None:
    staff = await staff_token(gql, owner, "STAFF")
    admin = await staff_token(gql, owner, "ADMIN")
    assert (await gql.op("CreateService", _service_input(), token=staff)).error_codes == ["FORBIDDEN"]
    assert (await gql.op("SetBusinessHours", {"input": {"hours": []}}, token=staff)).error_codes == [
        "FORBIDDEN"
    ]
    assert (await gql.op("CreateService", _service_input(), tenant=owner.slug)).error_codes == [
        "UNAUTHENTICATED"
    ]
    ok(await gql.op("CreateService", _service_input(), token=admin), "createService")
    # Every staff role reads the catalog (with the inactive services).
    assert len((await gql.op("Services", token=staff)).data["services"]["edges"]) == 1


async def test_business_hours_replace_the_week_and_are_public(gql: GraphQLClient, owner: SignedUp) -> None:
    token = owner.access_token
    week = [
        {"weekday": 0, "opens": "09:00", "closes": "12:30"},
        {"weekday": 0, "opens": "13:30", "closes": "18:00"},
        {"weekday": 5, "opens": "10:00", "closes": "24:00"},
    ]
    await set_hours(gql, token, week)
    public = await gql.op("BusinessHours", tenant=owner.slug)
    assert public.data["businessHours"] == week

    bad_weeks = [
        ([{"weekday": 7, "opens": "09:00", "closes": "17:00"}], "hours[0].weekday"),
        ([{"weekday": 1, "opens": "9am", "closes": "17:00"}], "hours[0].opens"),
        ([{"weekday": 1, "opens": "17:00", "closes": "09:00"}], "hours[0].closes"),
        ([{"weekday": 1, "opens": "09:07", "closes": "17:00"}], "hours[0].opens"),
        ([{"weekday": 1, "opens": "09:00", "closes": "25:00"}], "hours[0].closes"),
        (
            [
                {"weekday": 1, "opens": "09:00", "closes": "13:00"},
                {"weekday": 1, "opens": "12:00", "closes": "17:00"},
            ],
            "hours",
        ),
    ]
    for hours, field in bad_weeks:
        payload = (await gql.op("SetBusinessHours", {"input": {"hours": hours}}, token=token)).data[
            "setBusinessHours"
        ]
        assert payload["businessHours"] is None
        assert [(e["field"], e["code"]) for e in payload["errors"]] == [(field, "INVALID")], hours
    assert (await gql.op("BusinessHours", tenant=owner.slug)).data["businessHours"] == week

    await set_hours(gql, token, [])  # closed every day
    assert (await gql.op("BusinessHours", token=token)).data["businessHours"] == []
