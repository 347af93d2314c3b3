"""Bad input gets a typed ``UserError`` on the right field and writes nothing at all."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from starlette.applications import Starlette

from tests.support.accounts import (
    DEFAULT_PASSWORD,
    SignedUp,
    accept_invitation,
    add_member,
    database_snapshot,
    last_link_token,
    sign_up,
    snapshot_changes,
)
from tests.support.graphql import GraphQLClient

GOOD = {
    "businessName": "Blue Door Studio",
    "slug": "blue-door",
    "timezone": "America/New_York",
    "defaultRegion": "US",
    "name": "Bea",
    "email": "bea@example.com",
    "password": DEFAULT_PASSWORD,
}


async def _unchanged(app: Starlette, before: dict[str, Any]) -> None:
    after = await database_snapshot(app.state.services.settings)
    assert snapshot_changes(before, after) == {}


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"timezone": "Mars/Base"}, "timezone", "INVALID"),
        ({"timezone": "europe/london"}, "timezone", "INVALID"),
        ({"timezone": "../../etc/passwd"}, "timezone", "INVALID"),
        ({"defaultRegion": "XX"}, "defaultRegion", "INVALID"),
        ({"defaultRegion": "GBR"}, "defaultRegion", "INVALID"),
        ({"defaultRegion": "001"}, "defaultRegion", "INVALID"),
        ({"email": "not-an-email"}, "email", "INVALID"),
        ({"email": "bea@localhost"}, "email", "INVALID"),
        ({"email": "  "}, "email", "REQUIRED"),
        ({"password": "Short-1"}, "password", "WEAK_PASSWORD"),
        ({"password": "alllowercaseletters"}, "password", "WEAK_PASSWORD"),
        ({"password": "1234567890123"}, "password", "WEAK_PASSWORD"),
        ({"password": "Password123"}, "password", "WEAK_PASSWORD"),
        ({"password": "x" * 300 + "A1"}, "password", "WEAK_PASSWORD"),
        ({"slug": "ab"}, "slug", "INVALID"),
        ({"slug": "-blue"}, "slug", "INVALID"),
        ({"slug": "blue_door"}, "slug", "INVALID"),
        ({"slug": "x" * 64}, "slug", "INVALID"),
        ({"slug": "admin"}, "slug", "INVALID"),
        ({"slug": "taken-shop"}, "slug", "CONFLICT"),
        ({"email": "Owner@Taken-Shop.example.com"}, "email", "CONFLICT"),
        ({"businessName": " "}, "businessName", "REQUIRED"),
        ({"name": ""}, "name", "REQUIRED"),
        ({"businessName": "!!!", "slug": None}, "slug", "REQUIRED"),
    ],
)
async def test_bad_sign_up_input_is_refused_and_writes_nothing(
    gql: GraphQLClient, app: Starlette, change: dict[str, Any], field: str, code: str
) -> None:
    await sign_up(gql, slug="taken-shop")
    before = await database_snapshot(app.state.services.settings)
    result = await gql.op("SignUp", {"input": {**GOOD, **change}})
    payload = result.data["signUp"]
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [(field, code)], payload["errors"]
    assert payload["errors"][0]["message"]
    assert payload["tenant"] is None
    assert payload["accessToken"] is None
    await _unchanged(app, before)


async def test_every_mistake_of_a_form_is_reported_at_once(gql: GraphQLClient, app: Starlette) -> None:
    before = await database_snapshot(app.state.services.settings)
    bad = {**GOOD, "timezone": "Mars/Base", "defaultRegion": "ZZ", "email": "nope", "password": "short"}
    payload = (await gql.op("SignUp", {"input": bad})).data["signUp"]
    assert sorted((e["field"], e["code"]) for e in payload["errors"]) == [
        ("defaultRegion", "INVALID"),
        ("email", "INVALID"),
        ("password", "WEAK_PASSWORD"),
        ("timezone", "INVALID"),
    ]
    await _unchanged(app, before)


@pytest.fixture
async def owner(gql: GraphQLClient) -> SignedUp:
    return await sign_up(gql, slug="blue-door")


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"timezone": "Mars/Base"}, "timezone", "INVALID"),
        ({"timezone": None}, "timezone", "REQUIRED"),
        ({"defaultRegion": "UK"}, "defaultRegion", "INVALID"),
        ({"name": "  "}, "name", "REQUIRED"),
        ({"name": None}, "name", "REQUIRED"),
        ({"cancellationCutoffHours": -1}, "cancellationCutoffHours", "INVALID"),
        ({"cancellationCutoffHours": 721}, "cancellationCutoffHours", "INVALID"),
        ({"minimumNoticeMinutes": 43201}, "minimumNoticeMinutes", "INVALID"),
        ({"minimumNoticeMinutes": None}, "minimumNoticeMinutes", "REQUIRED"),
        ({"slotStepMinutes": 7}, "slotStepMinutes", "INVALID"),
        ({"slotStepMinutes": 0}, "slotStepMinutes", "INVALID"),
        (
            {"closedDates": [(date(2030, 1, 1) + timedelta(days=n)).isoformat() for n in range(1001)]},
            "closedDates",
            "INVALID",
        ),
    ],
)
async def test_bad_settings_are_refused_and_change_nothing(
    gql: GraphQLClient, app: Starlette, owner: SignedUp, change: dict[str, Any], field: str, code: str
) -> None:
    before = await database_snapshot(app.state.services.settings)
    # A valid change sent with the bad one is not applied either.
    result = await gql.op(
        "UpdateTenantSettings", {"input": {"slotStepMinutes": 30, **change}}, token=owner.access_token
    )
    payload = result.data["updateTenantSettings"]
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [(field, code)]
    assert payload["tenant"] is None
    await _unchanged(app, before)


async def test_a_bad_date_is_refused_by_the_schema(gql: GraphQLClient, owner: SignedUp) -> None:
    result = await gql.op(
        "UpdateTenantSettings", {"input": {"closedDates": ["2025-02-30"]}}, token=owner.access_token
    )
    assert result.status in (200, 400)
    assert result.errors
    assert result.body.get("data") is None


@pytest.mark.parametrize(
    ("variables", "field", "code"),
    [
        ({"email": "nope", "name": "N", "role": "STAFF"}, "email", "INVALID"),
        ({"email": "n@example.com", "name": " ", "role": "STAFF"}, "name", "REQUIRED"),
        ({"email": "owner@blue-door.example.com", "name": "Me", "role": "STAFF"}, "email", "CONFLICT"),
        ({"email": "twice@example.com", "name": "Again", "role": "ADMIN"}, "email", "CONFLICT"),
    ],
)
async def test_bad_staff_input_is_refused_and_writes_nothing(
    gql: GraphQLClient, app: Starlette, owner: SignedUp, variables: dict[str, Any], field: str, code: str
) -> None:
    await add_member(gql, owner, role="STAFF", email="twice@example.com")
    await accept_invitation(gql, email="twice@example.com")  # a member now: inviting again is a conflict
    before = await database_snapshot(app.state.services.settings)
    result = await gql.op("AddStaffMember", {"input": variables}, token=owner.access_token)
    payload = result.data["addStaffMember"]
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [(field, code)]
    assert payload["member"] is None
    await _unchanged(app, before)


@pytest.mark.parametrize(
    ("member_id", "code"),
    [
        ("not-a-global-id", "INVALID"),
        ("VGVuYW50OjAxOTAwMDAwLTAwMDAtNzAwMC04MDAwLTAwMDAwMDAwMDAwMA==", "NOT_FOUND"),
    ],
)
async def test_a_bad_member_id_is_a_user_error(
    gql: GraphQLClient, app: Starlette, owner: SignedUp, member_id: str, code: str
) -> None:
    before = await database_snapshot(app.state.services.settings)
    changed = await gql.op(
        "ChangeStaffRole", {"input": {"memberId": member_id, "role": "STAFF"}}, token=owner.access_token
    )
    assert [(e["field"], e["code"]) for e in changed.data["changeStaffRole"]["errors"]] == [
        ("memberId", code)
    ]
    removed = await gql.op("RemoveStaffMember", {"memberId": member_id}, token=owner.access_token)
    assert [(e["field"], e["code"]) for e in removed.data["removeStaffMember"]["errors"]] == [
        ("memberId", code)
    ]
    await _unchanged(app, before)


async def test_a_weak_password_on_an_invitation_keeps_the_link_usable(
    gql: GraphQLClient, app: Starlette, owner: SignedUp
) -> None:
    await add_member(gql, owner, role="STAFF", email="sam@example.com")
    token = await last_link_token(gql, "sam@example.com")
    before = await database_snapshot(app.state.services.settings)
    weak = await gql.op("AcceptInvitation", {"input": {"token": token, "password": "password"}})
    assert [(e["field"], e["code"]) for e in weak.data["acceptInvitation"]["errors"]] == [
        ("password", "WEAK_PASSWORD")
    ]
    await _unchanged(app, before)
    good = await gql.op("AcceptInvitation", {"input": {"token": token, "password": DEFAULT_PASSWORD}})
    assert good.data["acceptInvitation"]["errors"] == []


async def test_malformed_page_arguments_are_bad_input(gql: GraphQLClient, owner: SignedUp) -> None:
    result = await gql("{ staffMembers(first: 500) { edges { node { id } } } }", token=owner.access_token)
    assert result.error_codes == ["BAD_USER_INPUT"]
    result = await gql(
        '{ staffMembers(first: 5, after: "garbage!") { edges { node { id } } } }', token=owner.access_token
    )
    assert result.error_codes == ["BAD_USER_INPUT"]


async def test_an_unknown_tenant_for_a_customer_reset_is_a_user_error(gql: GraphQLClient) -> None:
    result = await gql.op("RequestPasswordReset", {"email": "a@example.com", "tenantSlug": "no-such-shop"})
    payload = result.data["requestPasswordReset"]
    assert payload["ok"] is False
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [("tenantSlug", "NOT_FOUND")]
