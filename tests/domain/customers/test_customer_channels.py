"""What the WhatsApp side records on an account: the opt-out and Meta's user id."""

from __future__ import annotations

from domain.customers import service
from tests.support.accounts import sign_up
from tests.support.customers import create_customer, row_id, tenant_session
from tests.support.graphql import GraphQLClient

DETAIL = "query($id: ID!) { node(id: $id) { ... on Customer { whatsappOptedOut } } }"


async def test_opt_out_and_meta_user_id_are_kept_and_audited(gql: GraphQLClient) -> None:
    owner = await sign_up(gql, slug="ann-studio")
    ann = await create_customer(gql, owner, name="Ann", email="ann@example.com", phone="07700900123")
    customer_id = row_id(ann["id"])
    async with tenant_session(gql, owner) as s:
        await service.set_whatsapp_opt_out(
            s, customer_id=customer_id, opted_out=True, actor="whatsapp:+447700900123"
        )
        await service.record_meta_user_id(s, customer_id=customer_id, meta_user_id="GB.123", actor="system")
    detail = await gql(DETAIL, {"id": ann["id"]}, token=owner.access_token)
    assert detail.data["node"] == {"whatsappOptedOut": True}
    async with tenant_session(gql, owner) as s:
        found = await service.customer_by_meta_user_id(s, meta_user_id="GB.123")
        assert found is not None
        assert found.id == customer_id
    log = await gql.op("AuditLog", {"first": 10}, token=owner.access_token)
    actions = [e["node"]["action"] for e in log.data["auditLog"]["edges"]]
    assert actions[:2] == ["customer.meta_user_id_recorded", "customer.whatsapp_opted_out"]

    other = await sign_up(gql, slug="bob-gym")
    async with tenant_session(gql, other) as s:
        assert await service.customer_by_meta_user_id(s, meta_user_id="GB.123") is None
