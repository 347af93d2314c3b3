"""Customers on the business's website: register, log in, `me`, their own profile, password reset."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from bizzly import clock
from bizzly.settings import Settings
from domain.customers.models import Customer
from domain.customers.service import delete_customer
from tests.support.accounts import DEFAULT_PASSWORD, SignedUp, last_link_token, sign_up
from tests.support.customers import count_rows, create_customer, register, row_id, tenant_session
from tests.support.graphql import GraphQLClient

ME = "{ me { id name email phone } }"
NODE = "query($id: ID!) { node(id: $id) { ... on Customer { id email } } }"


@pytest.fixture
async def owner(gql: GraphQLClient) -> SignedUp:
    return await sign_up(gql, slug="ann-studio", email="owner@ann.example.com")


async def log_in(
    gql: GraphQLClient, slug: str, email: str, password: str = DEFAULT_PASSWORD
) -> dict[str, Any]:
    result = await gql.op(
        "CustomerLogIn", {"input": {"tenantSlug": slug, "email": email, "password": password}}
    )
    payload: dict[str, Any] = result.data["customerLogIn"]
    return payload


async def test_register_then_log_in_and_read_me(gql: GraphQLClient, owner: SignedUp) -> None:
    done = await register(gql, owner.slug, name="Ann Lee", email="Ann@Example.com", phone="07700 900123")
    assert done["customer"]["phone"] == "+447700900123"
    me = await gql(ME, token=done["accessToken"])
    assert me.data["me"] == done["customer"]

    logged = await log_in(gql, owner.slug, "ann@EXAMPLE.com")
    assert logged["errors"] == []
    me_again = await gql(ME, token=str(logged["accessToken"]))
    assert me_again.data["me"]["id"] == done["customer"]["id"]


async def test_a_wrong_password_or_unknown_email_get_the_same_answer(
    gql: GraphQLClient, owner: SignedUp
) -> None:
    await register(gql, owner.slug, name="Ann", email="ann@example.com")
    wrong = await log_in(gql, owner.slug, "ann@example.com", "Not-The-Password-1")
    unknown = await log_in(gql, owner.slug, "nobody@example.com")
    assert wrong["accessToken"] is None
    assert wrong["errors"] == unknown["errors"]
    assert [e["code"] for e in wrong["errors"]] == ["INVALID_CREDENTIALS"]


async def test_an_account_of_one_business_cannot_log_in_to_another(
    gql: GraphQLClient, owner: SignedUp
) -> None:
    await register(gql, owner.slug, name="Ann", email="ann@example.com")
    other = await sign_up(gql, slug="bob-gym", email="owner@bob.example.com")
    refused = await log_in(gql, other.slug, "ann@example.com")
    assert [e["code"] for e in refused["errors"]] == ["INVALID_CREDENTIALS"]


async def test_failed_log_ins_are_throttled_then_the_window_moves(
    gql: GraphQLClient, owner: SignedUp, settings: Settings
) -> None:
    await register(gql, owner.slug, name="Ann", email="ann@example.com")
    limit = settings.login_max_failures
    for _ in range(limit):
        await log_in(gql, owner.slug, "ann@example.com", "Wrong-Password-1")
    blocked = await log_in(gql, owner.slug, "ann@example.com")  # even the right password
    assert [e["code"] for e in blocked["errors"]] == ["LIMIT_REACHED"]
    clock.advance(timedelta(minutes=settings.login_window_minutes + 1))
    assert (await log_in(gql, owner.slug, "ann@example.com"))["errors"] == []


async def test_registration_refuses_bad_input_and_taken_emails_and_writes_nothing(
    gql: GraphQLClient, owner: SignedUp
) -> None:
    await create_customer(gql, owner, name="Ann", email="ann@example.com")  # made by staff, no password
    cases = [
        ({"email": "ANN@example.com"}, [("email", "CONFLICT")]),
        ({"phone": "not a phone"}, [("phone", "INVALID")]),
        ({"password": "short"}, [("password", "WEAK_PASSWORD")]),
        ({"email": "nope", "name": ""}, [("name", "REQUIRED"), ("email", "INVALID")]),
        ({"tenantSlug": "no-such-business"}, [("tenantSlug", "NOT_FOUND")]),
    ]
    for change, expected in cases:
        data = {
            "tenantSlug": owner.slug,
            "name": "Zoe",
            "email": "zoe@example.com",
            "password": DEFAULT_PASSWORD,
            **change,
        }
        result = await gql.op("RegisterCustomer", {"input": data})
        payload = result.data["registerCustomer"]
        assert payload["customer"] is None
        assert payload["accessToken"] is None
        assert [(e["field"], e["code"]) for e in payload["errors"]] == expected, change
    assert await count_rows(gql, Customer) == 1


async def test_the_header_and_tenant_slug_must_agree(gql: GraphQLClient, owner: SignedUp) -> None:
    await sign_up(gql, slug="bob-gym", email="owner@bob.example.com")
    result = await gql.op(
        "RegisterCustomer",
        {
            "input": {
                "tenantSlug": owner.slug,
                "name": "Zoe",
                "email": "z@example.com",
                "password": DEFAULT_PASSWORD,
            }
        },
        tenant="bob-gym",
    )
    assert [e["field"] for e in result.data["registerCustomer"]["errors"]] == ["tenantSlug"]
    assert await count_rows(gql, Customer) == 0


async def test_customers_edit_their_own_profile(gql: GraphQLClient, owner: SignedUp) -> None:
    done = await register(gql, owner.slug, name="Ann", email="ann@example.com")
    token = done["accessToken"]
    result = await gql.op("UpdateMyProfile", {"input": {"phone": "07700 900123"}}, token=token)
    payload = result.data["updateMyProfile"]
    assert payload["errors"] == []
    assert payload["customer"] == {**done["customer"], "phone": "+447700900123"}
    # The phone is now the account's own: staff find it by phone.
    found = await gql.op("ResolvePhone", {"phone": "+44 7700 900123"}, token=owner.access_token)
    assert [a["id"] for a in found.data["resolvePhone"]["accounts"]] == [done["customer"]["id"]]

    bad = await gql.op("UpdateMyProfile", {"input": {"name": "Ann B", "phone": "??"}}, token=token)
    assert bad.data["updateMyProfile"]["customer"] is None
    assert [(e["field"], e["code"]) for e in bad.data["updateMyProfile"]["errors"]] == [("phone", "INVALID")]
    assert (await gql(ME, token=token)).data["me"]["name"] == "Ann"

    cleared = await gql.op("UpdateMyProfile", {"input": {"phone": None}}, token=token)
    assert cleared.data["updateMyProfile"]["customer"]["phone"] is None


async def test_staff_cannot_use_customer_operations_and_customers_cannot_use_staff_ones(
    gql: GraphQLClient, owner: SignedUp
) -> None:
    done = await register(gql, owner.slug, name="Ann", email="ann@example.com")
    assert (await gql(ME, token=owner.access_token)).error_codes == ["FORBIDDEN"]
    assert (await gql(ME, tenant=owner.slug)).error_codes == ["UNAUTHENTICATED"]
    staff_only = await gql.op("Customers", {"first": 5}, token=done["accessToken"])
    assert staff_only.error_codes == ["FORBIDDEN"]
    create = await gql.op(
        "CreateCustomer", {"input": {"name": "X", "email": "x@example.com"}}, token=done["accessToken"]
    )
    assert create.error_codes == ["FORBIDDEN"]


async def test_a_customer_reads_only_themself_through_node(gql: GraphQLClient, owner: SignedUp) -> None:
    ann = await register(gql, owner.slug, name="Ann", email="ann@example.com")
    bob = await register(gql, owner.slug, name="Bob", email="bob@example.com")
    own = await gql(NODE, {"id": ann["customer"]["id"]}, token=ann["accessToken"])
    assert own.data["node"] == {"id": ann["customer"]["id"], "email": "ann@example.com"}
    other = await gql(NODE, {"id": bob["customer"]["id"]}, token=ann["accessToken"])
    assert other.error_codes == ["NOT_FOUND"]
    assert other.body["data"] is None or other.body["data"]["node"] is None
    # Staff of the business read any of its customers.
    staff = await gql(NODE, {"id": bob["customer"]["id"]}, token=owner.access_token)
    assert staff.data["node"]["email"] == "bob@example.com"
    for junk in ["not-an-id", "Q3VzdG9tZXI6bm90LWEtdXVpZA==", "Tm9UeXBlOjE="]:
        assert (await gql(NODE, {"id": junk}, token=owner.access_token)).error_codes == ["NOT_FOUND"]


async def test_a_deleted_customers_token_stops_working(gql: GraphQLClient, owner: SignedUp) -> None:
    done = await register(gql, owner.slug, name="Ann", email="ann@example.com")
    async with tenant_session(gql, owner) as s:
        await delete_customer(s, customer_id=row_id(done["customer"]["id"]), actor="system")
    assert (await gql(ME, token=done["accessToken"])).error_codes == ["UNAUTHENTICATED"]


async def test_password_reset_lets_a_staff_made_account_choose_a_password(
    gql: GraphQLClient, owner: SignedUp
) -> None:
    await create_customer(gql, owner, name="Ann", email="ann@example.com")
    asked = await gql.op("RequestPasswordReset", {"email": "ANN@example.com", "tenantSlug": owner.slug})
    assert asked.data["requestPasswordReset"] == {"ok": True, "errors": []}
    token = await last_link_token(gql, "ann@example.com")

    new_password = "Brand-New-Pass-7"
    done = await gql.op("ResetPassword", {"input": {"token": token, "password": new_password}})
    assert done.data["resetPassword"] == {"ok": True, "errors": []}
    assert (await log_in(gql, owner.slug, "ann@example.com", new_password))["errors"] == []
    again = await gql.op("ResetPassword", {"input": {"token": token, "password": "Another-Pass-8"}})
    assert [e["field"] for e in again.data["resetPassword"]["errors"]] == ["token"]


async def test_password_reset_for_an_unknown_email_answers_ok_and_mails_nobody(
    gql: GraphQLClient, owner: SignedUp
) -> None:
    asked = await gql.op("RequestPasswordReset", {"email": "nobody@example.com", "tenantSlug": owner.slug})
    assert asked.data["requestPasswordReset"] == {"ok": True, "errors": []}
    with pytest.raises(AssertionError, match="no email"):
        await last_link_token(gql, "nobody@example.com")


async def test_a_reset_ends_the_customers_log_ins(gql: GraphQLClient, owner: SignedUp) -> None:
    done = await register(gql, owner.slug, name="Ann", email="ann@example.com")
    await gql.op("RequestPasswordReset", {"email": "ann@example.com", "tenantSlug": owner.slug})
    token = await last_link_token(gql, "ann@example.com")
    await gql.op("ResetPassword", {"input": {"token": token, "password": "Brand-New-Pass-7"}})
    assert (await gql(ME, token=done["accessToken"])).error_codes == ["UNAUTHENTICATED"]
