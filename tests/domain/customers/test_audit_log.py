"""The audit log: every customer change names who made it; only owners and admins read it."""

from __future__ import annotations

import pytest

from tests.support.accounts import SignedUp, sign_up, staff_token
from tests.support.customers import create_customer, register, row_id
from tests.support.graphql import GraphQLClient


@pytest.fixture
async def owner(gql: GraphQLClient) -> SignedUp:
    return await sign_up(gql, slug="ann-studio", email="owner@ann.example.com")


async def entries(gql: GraphQLClient, token: str, prefix: str = "customer.") -> list[dict[str, object]]:
    result = await gql.op("AuditLog", {"first": 50}, token=token)
    nodes = [e["node"] for e in result.data["auditLog"]["edges"]]
    return [n for n in nodes if str(n["action"]).startswith(prefix)]


async def test_staff_and_customer_changes_are_audited_newest_first(
    gql: GraphQLClient, owner: SignedUp
) -> None:
    ann = await create_customer(gql, owner, name="Ann", email="ann@example.com")
    await gql.op(
        "UpdateCustomer", {"input": {"id": ann["id"], "phone": "07700900123"}}, token=owner.access_token
    )
    zoe = await register(gql, owner.slug, name="Zoe", email="zoe@example.com")
    await gql.op("UpdateMyProfile", {"input": {"name": "Zoe B"}}, token=zoe["accessToken"])

    zoe_id = zoe["customer"]["id"]
    zoe_actor = f"customer:{row_id(zoe_id)}"
    found = [
        (e["action"], e["actor"], e["subjectType"], e["subjectId"])
        for e in await entries(gql, owner.access_token)
    ]
    assert found == [
        ("customer.profile_updated", zoe_actor, "Customer", zoe_id),
        ("customer.registered", zoe_actor, "Customer", zoe_id),
        ("customer.updated", "staff:owner@ann.example.com", "Customer", ann["id"]),
        ("customer.created", "staff:owner@ann.example.com", "Customer", ann["id"]),
    ]


async def test_only_owners_and_admins_read_the_audit_log(gql: GraphQLClient, owner: SignedUp) -> None:
    await create_customer(gql, owner, name="Ann", email="ann@example.com")
    admin = await staff_token(gql, owner, "ADMIN")
    assert len(await entries(gql, admin)) == 1
    staff = await staff_token(gql, owner, "STAFF")
    assert (await gql.op("AuditLog", {"first": 5}, token=staff)).error_codes == ["FORBIDDEN"]
    customer = await register(gql, owner.slug, name="Zoe", email="zoe@example.com")
    assert (await gql.op("AuditLog", {"first": 5}, token=customer["accessToken"])).error_codes == [
        "FORBIDDEN"
    ]
    assert (await gql.op("AuditLog", {"first": 5}, tenant=owner.slug)).error_codes == ["UNAUTHENTICATED"]


async def test_a_business_sees_only_its_own_audit_log(gql: GraphQLClient, owner: SignedUp) -> None:
    await create_customer(gql, owner, name="Ann", email="ann@example.com")
    other = await sign_up(gql, slug="bob-gym", email="owner@bob.example.com")
    assert await entries(gql, other.access_token) == []


async def test_an_entry_is_refetched_by_id_only_by_those_who_read_the_log(
    gql: GraphQLClient, owner: SignedUp
) -> None:
    await create_customer(gql, owner, name="Ann", email="ann@example.com")
    (entry,) = await entries(gql, owner.access_token)
    query = "query($id: ID!) { node(id: $id) { ... on AuditEntry { id action actor } } }"
    fetched = await gql(query, {"id": entry["id"]}, token=owner.access_token)
    assert fetched.data["node"] == {
        "id": entry["id"],
        "action": "customer.created",
        "actor": "staff:owner@ann.example.com",
    }
    staff = await staff_token(gql, owner, "STAFF")
    refused = await gql(query, {"id": entry["id"]}, token=staff)
    assert refused.error_codes == ["NOT_FOUND"]
