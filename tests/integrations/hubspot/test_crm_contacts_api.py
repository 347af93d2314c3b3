"""Managing CRM contacts in the dashboard: the list (search, pages, sync status), linking and unlinking
them to website accounts, and the website form's HubSpot form; bad input changes nothing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bizzly.settings import Settings
from domain.identity.service import upsert_crm_contact
from tenants.models import Tenant
from tests.fakes.hubspot import HubSpotFake
from tests.integrations.hubspot.support import connect, tid
from tests.support.accounts import (
    SignedUp,
    _services,
    database_snapshot,
    sign_up,
    snapshot_changes,
    staff_token,
)
from tests.support.customers import create_customer
from tests.support.graphql import GraphQLClient


async def _contact(gql: GraphQLClient, owner: SignedUp, external_id: str, **fields: Any) -> str:
    from graphql_api.relay import gid

    services = _services(gql)
    async with services.db.tenant_session(tid(owner)) as s, s.begin():
        tenant = (await s.execute(select(Tenant).where(Tenant.id == tid(owner)))).scalar_one()
        row = await upsert_crm_contact(s, tenant=tenant, external_id=external_id, actor="system", **fields)
    return str(gid("CrmContact", row.id))


async def test_staff_page_and_search_crm_contacts(gql: GraphQLClient) -> None:
    owner = await sign_up(gql, slug="acme")
    for n in range(5):
        await _contact(gql, owner, f"10{n}", email=f"person{n}@example.com", first_name=f"Person{n}")
    await _contact(gql, owner, "200", email="ada@example.com", first_name="Ada", phone="07700 900123")
    staff = await staff_token(gql, owner, "STAFF")

    first = await gql.op("CrmContacts", {"first": 4}, token=staff)
    page = first.data["crmContacts"]
    assert len(page["edges"]) == 4
    assert page["pageInfo"]["hasNextPage"] is True
    rest = await gql.op("CrmContacts", {"first": 4, "after": page["pageInfo"]["endCursor"]}, token=staff)
    assert len(rest.data["crmContacts"]["edges"]) == 2
    assert rest.data["crmContacts"]["pageInfo"]["hasNextPage"] is False

    by_name = await gql.op("CrmContacts", {"search": "ada"}, token=staff)
    [node] = [e["node"] for e in by_name.data["crmContacts"]["edges"]]
    assert node["externalId"] == "200"
    assert node["syncStatus"] == "PENDING"
    assert node["customer"] is None
    by_phone = await gql.op("CrmContacts", {"search": "+44 7700 900123"}, token=staff)
    assert [e["node"]["externalId"] for e in by_phone.data["crmContacts"]["edges"]] == ["200"]

    too_big = await gql.op("CrmContacts", {"first": 101}, token=staff)
    assert too_big.error_codes == ["BAD_USER_INPUT"]


async def test_link_and_unlink_a_crm_contact(gql: GraphQLClient) -> None:
    owner = await sign_up(gql, slug="acme")
    contact = await _contact(gql, owner, "300", email="cora@example.com")
    customer = await create_customer(gql, owner, name="Cora C", email="other@example.com")

    linked = await gql.op(
        "LinkCrmContact", {"contactId": contact, "customerId": customer["id"]}, token=owner.access_token
    )
    assert linked.data["linkCrmContact"] == {
        "contact": {"id": contact, "customer": {"id": customer["id"]}},
        "errors": [],
    }

    unlinked = await gql.op("UnlinkCrmContact", {"contactId": contact}, token=owner.access_token)
    assert unlinked.data["unlinkCrmContact"] == {"contact": {"id": contact, "customer": None}, "errors": []}


async def test_linking_across_tenants_is_refused_and_changes_nothing(
    gql: GraphQLClient, settings: Settings
) -> None:
    acme = await sign_up(gql, slug="acme")
    zenith = await sign_up(gql, slug="zenith")
    acme_contact = await _contact(gql, acme, "400", email="x@example.com")
    zenith_customer = await create_customer(gql, zenith, name="Zed", email="zed@example.com")
    zenith_contact = await _contact(gql, zenith, "401", email="y@example.com")
    before = await database_snapshot(settings)

    # Acme's contact with Zenith's customer: the customer is not found in Acme.
    result = await gql.op(
        "LinkCrmContact",
        {"contactId": acme_contact, "customerId": zenith_customer["id"]},
        token=acme.access_token,
    )
    payload = result.data["linkCrmContact"]
    assert payload["contact"] is None
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [("customerId", "NOT_FOUND")]
    # Zenith's contact from Acme: not found.
    result = await gql.op("UnlinkCrmContact", {"contactId": zenith_contact}, token=acme.access_token)
    assert [(e["field"], e["code"]) for e in result.data["unlinkCrmContact"]["errors"]] == [
        ("contactId", "NOT_FOUND")
    ]
    # Ids of the wrong type and garbage.
    result = await gql.op(
        "LinkCrmContact",
        {"contactId": zenith_customer["id"], "customerId": "nonsense"},
        token=acme.access_token,
    )
    assert result.data["linkCrmContact"]["contact"] is None
    assert result.data["linkCrmContact"]["errors"]
    assert snapshot_changes(before, await database_snapshot(settings)) == {}


async def test_staff_may_read_contacts_but_not_change_links(gql: GraphQLClient) -> None:
    owner = await sign_up(gql, slug="acme")
    contact = await _contact(gql, owner, "500", email="p@example.com")
    staff = await staff_token(gql, owner, "STAFF")
    result = await gql.op("UnlinkCrmContact", {"contactId": contact}, token=staff)
    assert result.error_codes == ["FORBIDDEN"]


async def test_configure_the_hubspot_form(gql: GraphQLClient, hubspot_fake: HubSpotFake) -> None:
    owner = await sign_up(gql, slug="acme")
    guid = "1a2b3c4d-1a2b-1a2b-1a2b-1a2b3c4d5e6f"
    not_connected = await gql.op("ConfigureHubSpotForm", {"formGuid": guid}, token=owner.access_token)
    assert not_connected.data["configureHubSpotForm"]["ok"] is False
    assert not_connected.data["configureHubSpotForm"]["errors"][0]["code"] == "UNAVAILABLE"
    await connect(gql, owner, hubspot_fake, 4242)
    bad = await gql.op("ConfigureHubSpotForm", {"formGuid": "not a guid"}, token=owner.access_token)
    assert bad.data["configureHubSpotForm"]["errors"][0]["field"] == "formGuid"
    ok = await gql.op("ConfigureHubSpotForm", {"formGuid": guid}, token=owner.access_token)
    assert ok.data["configureHubSpotForm"] == {"ok": True, "errors": []}
    cleared = await gql.op("ConfigureHubSpotForm", {"formGuid": None}, token=owner.access_token)
    assert cleared.data["configureHubSpotForm"] == {"ok": True, "errors": []}
