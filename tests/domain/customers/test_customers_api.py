"""Staff manage customers: create, edit, search, page, read one; bad input changes nothing."""

from __future__ import annotations

import pytest

from domain.customers.models import Customer
from domain.customers.service import create_customer as create_row
from domain.customers.service import current_tenant
from domain.privacy.audit import AuditEntry
from tests.support.accounts import SignedUp, sign_up, staff_token
from tests.support.customers import count_rows, create_customer, tenant_session
from tests.support.graphql import GraphQLClient
from tests.support.queries import count_queries

# The contract's CustomerDetail also asks for bookings and subscriptions (other contexts' fields).
NODE = "query($id: ID!) { node(id: $id) { ... on Customer { id name email phone whatsappOptedOut } } }"


@pytest.fixture
async def owner(gql: GraphQLClient) -> SignedUp:
    return await sign_up(gql, slug="ann-studio", email="owner@ann.example.com")


async def test_staff_create_a_customer_with_a_phone_in_national_format(
    gql: GraphQLClient, owner: SignedUp
) -> None:
    customer = await create_customer(
        gql, owner, name="Ann Lee", email="Ann@Example.com", phone="07700 900123"
    )
    assert customer["name"] == "Ann Lee"
    assert customer["email"] == "Ann@example.com"
    assert customer["phone"] == "+447700900123"

    detail = await gql(NODE, {"id": customer["id"]}, token=owner.access_token)
    assert detail.data["node"] == {**customer, "whatsappOptedOut": False}


async def test_email_is_unique_per_tenant_whatever_its_case(gql: GraphQLClient, owner: SignedUp) -> None:
    await create_customer(gql, owner, name="Ann", email="ann@example.com")
    result = await gql.op(
        "CreateCustomer",
        {"input": {"name": "Other Ann", "email": "ANN@example.COM"}},
        token=owner.access_token,
    )
    payload = result.data["createCustomer"]
    assert payload["customer"] is None
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [("email", "CONFLICT")]
    assert await count_rows(gql, Customer) == 1

    # Another business may have a customer with the same email.
    other = await sign_up(gql, slug="bob-gym", email="owner@bob.example.com")
    await create_customer(gql, other, name="Ann", email="ann@example.com")


async def test_bad_input_is_reported_per_field_and_nothing_is_written(
    gql: GraphQLClient, owner: SignedUp
) -> None:
    audit_before = await count_rows(gql, AuditEntry)
    result = await gql.op(
        "CreateCustomer",
        {"input": {"name": "  ", "email": "not-an-email", "phone": "12-oops"}},
        token=owner.access_token,
    )
    payload = result.data["createCustomer"]
    assert payload["customer"] is None
    assert {(e["field"], e["code"]) for e in payload["errors"]} == {
        ("name", "REQUIRED"),
        ("email", "INVALID"),
        ("phone", "INVALID"),
    }
    assert await count_rows(gql, Customer) == 0
    assert await count_rows(gql, AuditEntry) == audit_before


async def test_update_changes_only_the_fields_sent_and_null_clears_the_phone(
    gql: GraphQLClient, owner: SignedUp
) -> None:
    customer = await create_customer(gql, owner, name="Ann", email="ann@example.com", phone="+44 7700 900123")
    result = await gql.op(
        "UpdateCustomer", {"input": {"id": customer["id"], "name": "Ann Lee"}}, token=owner.access_token
    )
    updated = result.data["updateCustomer"]
    assert updated["errors"] == []
    assert updated["customer"] == {**customer, "name": "Ann Lee"}

    result = await gql.op(
        "UpdateCustomer", {"input": {"id": customer["id"], "phone": None}}, token=owner.access_token
    )
    assert result.data["updateCustomer"]["customer"]["phone"] is None
    found = await gql.op("ResolvePhone", {"phone": "07700 900123"}, token=owner.access_token)
    assert found.data["resolvePhone"]["accounts"] == []


async def test_update_with_an_unparseable_phone_changes_nothing(gql: GraphQLClient, owner: SignedUp) -> None:
    customer = await create_customer(gql, owner, name="Ann", email="ann@example.com", phone="07700 900123")
    result = await gql.op(
        "UpdateCustomer",
        {"input": {"id": customer["id"], "name": "Changed", "phone": "call me"}},
        token=owner.access_token,
    )
    payload = result.data["updateCustomer"]
    assert payload["customer"] is None
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [("phone", "INVALID")]
    listed = await gql.op("Customers", {"first": 10}, token=owner.access_token)
    assert listed.data["customers"]["edges"][0]["node"] == customer


async def test_update_to_an_email_another_customer_has_is_a_conflict(
    gql: GraphQLClient, owner: SignedUp
) -> None:
    await create_customer(gql, owner, name="Ann", email="ann@example.com")
    bob = await create_customer(gql, owner, name="Bob", email="bob@example.com")
    result = await gql.op(
        "UpdateCustomer", {"input": {"id": bob["id"], "email": "ANN@example.com"}}, token=owner.access_token
    )
    assert [e["code"] for e in result.data["updateCustomer"]["errors"]] == ["CONFLICT"]


async def test_search_by_name_email_and_phone_in_any_format(gql: GraphQLClient, owner: SignedUp) -> None:
    ann = await create_customer(gql, owner, name="Ann Lee", email="ann@example.com", phone="07700 900123")
    bob = await create_customer(
        gql, owner, name="Bob Marsh", email="bob@lee-family.org", phone="+442079460958"
    )
    await create_customer(gql, owner, name="Cy", email="cy@example.net")

    async def search(text: str) -> list[str]:
        result = await gql.op("Customers", {"first": 10, "search": text}, token=owner.access_token)
        return sorted(e["node"]["name"] for e in result.data["customers"]["edges"])

    assert await search("lee") == ["Ann Lee", "Bob Marsh"]  # a name and an email
    assert await search("ANN@EXAMPLE") == ["Ann Lee"]
    for phone in ["+44 7700 900123", "07700900123", "447700900123", "(0)7700-900-123"]:
        assert await search(phone) == ["Ann Lee"], phone
    assert await search("020 7946 0958") == ["Bob Marsh"]
    assert await search("100%") == []  # LIKE wildcards are literal
    assert ann["id"] != bob["id"]


async def test_pages_are_newest_first_with_total_count(gql: GraphQLClient, owner: SignedUp) -> None:
    for n in range(5):
        await create_customer(gql, owner, name=f"C{n}", email=f"c{n}@example.com")
    first = await gql.op("Customers", {"first": 2}, token=owner.access_token)
    page = first.data["customers"]
    assert page["totalCount"] == 5
    assert [e["node"]["name"] for e in page["edges"]] == ["C4", "C3"]
    assert page["pageInfo"]["hasNextPage"] is True
    second = await gql.op(
        "Customers", {"first": 10, "after": page["pageInfo"]["endCursor"]}, token=owner.access_token
    )
    assert [e["node"]["name"] for e in second.data["customers"]["edges"]] == ["C2", "C1", "C0"]
    assert second.data["customers"]["pageInfo"]["hasNextPage"] is False


async def test_bad_paging_input_is_a_top_level_bad_user_input(gql: GraphQLClient, owner: SignedUp) -> None:
    too_many = await gql.op("Customers", {"first": 101}, token=owner.access_token)
    assert too_many.error_codes == ["BAD_USER_INPUT"]
    bad_cursor = await gql.op("Customers", {"first": 1, "after": "%%%"}, token=owner.access_token)
    assert bad_cursor.error_codes == ["BAD_USER_INPUT"]


async def test_every_role_may_operate_on_customers_but_anonymous_callers_may_not(
    gql: GraphQLClient, owner: SignedUp
) -> None:
    staff = await staff_token(gql, owner, "STAFF")
    created = await create_customer(gql, staff, name="Ann", email="ann@example.com")
    listed = await gql.op("Customers", {"first": 5}, token=staff)
    assert [e["node"]["id"] for e in listed.data["customers"]["edges"]] == [created["id"]]
    anonymous = await gql.op("Customers", {"first": 5}, tenant=owner.slug)
    assert anonymous.error_codes == ["UNAUTHENTICATED"]


async def test_listing_100_customers_costs_the_same_queries_as_5(
    app: object, gql: GraphQLClient, owner: SignedUp
) -> None:
    async with tenant_session(gql, owner) as s:
        tenant = await current_tenant(s)
        for n in range(120):
            await create_row(s, tenant=tenant, actor="system", name=f"C{n}", email=f"c{n}@example.com")
    engine = app.state.services.db.app_engine  # type: ignore[attr-defined]

    async def statements(first: int) -> int:
        with count_queries(engine) as log:
            result = await gql.op("Customers", {"first": first}, token=owner.access_token)
        assert len(result.data["customers"]["edges"]) == first
        return log.count

    small, large = await statements(5), await statements(100)
    assert small == large
    assert large <= 6  # the principal's checks, the tenant, the count and the page
