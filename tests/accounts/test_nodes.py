"""``node(id:)`` for the accounts types: each shows only what its caller may see, and nothing else."""

from __future__ import annotations

from tests.support.accounts import sign_up, staff_token
from tests.support.customers import register
from tests.support.graphql import GraphQLClient

QUERY = """query($id: ID!) { node(id: $id) {
    __typename
    ... on Tenant { slug }
    ... on User { email }
    ... on StaffMember { role user { email } }
} }"""


async def node(gql: GraphQLClient, gid: str, token: str | None) -> tuple[dict[str, object] | None, list[str]]:
    result = await gql(QUERY, {"id": gid}, token=token)
    data = result.body.get("data") or {}
    return data.get("node"), result.error_codes


async def test_accounts_nodes_follow_the_permission_table(gql: GraphQLClient) -> None:
    owner = await sign_up(gql, slug="north-salon")
    other = await sign_up(gql, slug="other-salon")
    staff = await staff_token(gql, owner, "STAFF", email="sam@example.com")
    customer = (await register(gql, "north-salon", name="Cleo", email="cleo@example.com"))["accessToken"]
    team = (await gql.op("StaffMembers", token=owner.access_token)).data["staffMembers"]["edges"]
    by_email = {e["node"]["user"]["email"]: e["node"] for e in team}
    sam = by_email["sam@example.com"]

    # The tenant: visible to its own staff and customers, not to another business.
    for token in (owner.access_token, staff, customer):
        assert await node(gql, owner.tenant_id, token) == (
            {"__typename": "Tenant", "slug": "north-salon"},
            [],
        )
    assert (await node(gql, owner.tenant_id, other.access_token))[1] == ["NOT_FOUND"]
    assert (await node(gql, owner.tenant_id, None))[1] == ["UNAUTHENTICATED"]

    # A team member: for those who manage the team.
    found, codes = await node(gql, sam["id"], owner.access_token)
    assert found == {"__typename": "StaffMember", "role": "STAFF", "user": {"email": "sam@example.com"}}
    assert (await node(gql, sam["id"], staff))[1] == ["FORBIDDEN"]
    assert (await node(gql, sam["id"], other.access_token))[1] == ["NOT_FOUND"]

    # A user: oneself, or a teammate for those who manage the team.
    sam_user = sam["user"]["id"]
    assert (await node(gql, sam_user, staff))[0] == {"__typename": "User", "email": "sam@example.com"}
    assert (await node(gql, sam_user, owner.access_token))[0] == {
        "__typename": "User",
        "email": "sam@example.com",
    }
    owner_user = by_email[owner.email]["user"]["id"]
    assert (await node(gql, owner_user, staff))[1] == ["NOT_FOUND"]
    assert (await node(gql, sam_user, other.access_token))[1] == ["NOT_FOUND"]
    assert (await node(gql, sam_user, customer))[1] == ["NOT_FOUND"]
