"""Us -> HubSpot: customers changed on our side and form leads are upserted by email in batches of up to
100 through one self-requeuing outbox job; HubSpot's ids come back; what HubSpot sent us is not echoed
back; erased people are never pushed; a rate limit defers the push and loses nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bizzly import clock
from bizzly.db.engine import MaintenanceUse
from bizzly.settings import Settings
from domain.customers.service import create_customer, current_tenant
from domain.identity.models import CrmContact
from domain.identity.service import upsert_crm_contact
from domain.leads.models import CustomerPush
from domain.privacy.tombstones import add_tombstone
from tests.fakes.hubspot import HubSpotFake
from tests.integrations.hubspot.conftest import hubspot_settings
from tests.integrations.hubspot.support import connect, tid
from tests.support.accounts import SignedUp, _services, sign_up
from tests.support.customers import create_customer as create_via_api
from tests.support.customers import tenant_session
from tests.support.graphql import GraphQLClient
from tests.support.outbox import drain_outbox

PORTAL = 4242


@pytest.fixture
async def owner(gql: GraphQLClient, hubspot_fake: HubSpotFake) -> SignedUp:
    owner = await sign_up(gql, slug="push-studio", email="owner@push.example.com")
    await connect(gql, owner, hubspot_fake, PORTAL)
    return owner


async def run_outbox(settings: Settings) -> None:
    clock.advance(timedelta(seconds=10))  # past the push's debounce delay
    await drain_outbox(settings, max_rounds=50)


def upserts(fake: HubSpotFake) -> list[str]:
    return [p for m, p, _ in fake.requests if m == "POST" and p.endswith("/batch/upsert")]


async def marks(gql: GraphQLClient) -> list[CustomerPush]:
    async with _services(gql).db.maintenance_session(MaintenanceUse.TESTS, write=False) as s:
        return list((await s.execute(select(CustomerPush))).scalars())


async def crm_contacts(gql: GraphQLClient) -> list[CrmContact]:
    async with _services(gql).db.maintenance_session(MaintenanceUse.TESTS, write=False) as s:
        return list((await s.execute(select(CrmContact))).scalars())


async def test_250_changed_customers_go_out_as_3_batches_with_ids_stored_back(
    gql: GraphQLClient, owner: SignedUp, hubspot_fake: HubSpotFake, settings: Settings
) -> None:
    async with tenant_session(gql, owner) as s:
        tenant = await current_tenant(s)
        for i in range(250):
            await create_customer(
                s, tenant=tenant, actor="system", name=f"Ann Number{i}", email=f"ann{i}@example.com"
            )
    await run_outbox(settings)

    assert len(upserts(hubspot_fake)) == 3
    contacts = {c.properties["email"]: c for c in hubspot_fake.portals[PORTAL].contacts.values()}
    assert len(contacts) == 250
    assert contacts["ann7@example.com"].properties["firstname"] == "Ann"
    assert contacts["ann7@example.com"].properties["lastname"] == "Number7"
    # HubSpot's ids are stored back: on the push mark and as the CRM contact linked to the customer.
    rows = await marks(gql)
    assert len(rows) == 250
    assert all(not m.pending and m.hubspot_contact_id for m in rows)
    linked = await crm_contacts(gql)
    assert len(linked) == 250
    by_email = {c.email: c for c in linked}
    assert by_email["ann7@example.com"].external_id == contacts["ann7@example.com"].id
    assert {m.customer_id for m in rows} == {c.customer_id for c in linked}
    assert {c.sync_status for c in linked} == {"SYNCED"}

    # Storing the ids back is not a change on our side: nothing more goes out.
    await run_outbox(settings)
    assert len(upserts(hubspot_fake)) == 3


async def test_a_change_from_hubspot_is_not_pushed_back(
    gql: GraphQLClient, owner: SignedUp, hubspot_fake: HubSpotFake, settings: Settings
) -> None:
    customer = await create_via_api(gql, owner, name="Ann Lee", email="ann@example.com")
    await run_outbox(settings)
    assert len(upserts(hubspot_fake)) == 1
    [contact] = await crm_contacts(gql)

    # The HubSpot import (sync or webhook) writes the contact through the identity service.
    async with tenant_session(gql, owner) as s:
        await upsert_crm_contact(
            s,
            tenant=await current_tenant(s),
            external_id=contact.external_id,
            email="ann@example.com",
            first_name="Annie",
            phone="+447700900777",
        )
    await run_outbox(settings)
    assert len(upserts(hubspot_fake)) == 1
    assert [m.pending for m in await marks(gql)] == [False]

    # A change made here is pushed.
    result = await gql.op(
        "UpdateCustomer", {"input": {"id": customer["id"], "name": "Ann Lee-Smith"}}, token=owner.access_token
    )
    assert result.data["updateCustomer"]["errors"] == []
    await run_outbox(settings)
    assert len(upserts(hubspot_fake)) == 2
    [in_hubspot] = hubspot_fake.portals[PORTAL].contacts.values()
    assert in_hubspot.properties["lastname"] == "Lee-Smith"


async def test_erased_people_are_never_pushed(
    gql: GraphQLClient, owner: SignedUp, hubspot_fake: HubSpotFake, settings: Settings
) -> None:
    async with tenant_session(gql, owner) as s:
        tenant = await current_tenant(s)
        await create_customer(s, tenant=tenant, actor="system", name="Gone", email="gone@example.com")
        await create_customer(s, tenant=tenant, actor="system", name="Kept", email="kept@example.com")
        await add_tombstone(
            s,
            keys=_services(gql).keys,
            tenant_id=tid(owner),
            emails=["Gone@Example.com"],
            phones=[],
            crm_external_ids=[],
        )
    form = await gql.op(
        "SubmitContactForm", {"input": {"tenantSlug": "push-studio", "email": "gone@example.com"}}
    )
    assert form.data["submitContactForm"]["ok"] is True
    await run_outbox(settings)
    emails = {c.properties["email"] for c in hubspot_fake.portals[PORTAL].contacts.values()}
    assert emails == {"kept@example.com"}
    leads = await gql.op("Leads", {"first": 5}, token=owner.access_token)
    assert [e["node"]["syncStatus"] for e in leads.data["leads"]["edges"]] == ["FAILED"]
    assert {m.pending for m in await marks(gql)} == {False}


async def test_a_rate_limit_defers_the_push_and_loses_nothing(
    gql: GraphQLClient, owner: SignedUp, hubspot_fake: HubSpotFake, database_settings: dict[str, str]
) -> None:
    settings = hubspot_settings(database_settings, hubspot_fake, hubspot_rate_window_seconds=0.2)
    async with tenant_session(gql, owner) as s:
        tenant = await current_tenant(s)
        for i in range(3):
            await create_customer(s, tenant=tenant, actor="system", name=f"R{i}", email=f"r{i}@example.com")
    hubspot_fake.rate_limit = 0  # every call answers 429
    await run_outbox(settings)
    assert hubspot_fake.rate_limited.get(PORTAL)
    assert {m.pending for m in await marks(gql)} == {True}
    hubspot_fake.rate_limit = 110
    await run_outbox(settings)
    assert len(hubspot_fake.portals[PORTAL].contacts) == 3
    assert {m.pending for m in await marks(gql)} == {False}


async def test_nothing_is_marked_while_hubspot_is_not_connected(
    gql: GraphQLClient, hubspot_fake: HubSpotFake, settings: Settings
) -> None:
    owner = await sign_up(gql, slug="push-studio", email="owner@push.example.com")
    await create_via_api(gql, owner, name="Ann", email="ann@example.com")
    await run_outbox(settings)
    assert await marks(gql) == []
    assert upserts(hubspot_fake) == []


async def test_an_erased_account_edited_later_is_not_pushed(
    gql: GraphQLClient, owner: SignedUp, hubspot_fake: HubSpotFake, settings: Settings
) -> None:
    customer = await create_via_api(gql, owner, name="Ann Lee", email="ann@example.com")
    await run_outbox(settings)
    assert len(upserts(hubspot_fake)) == 1
    erased = await gql.op("EraseCustomerData", {"customerId": customer["id"]}, token=owner.access_token)
    assert erased.data["eraseCustomerData"]["errors"] == []
    result = await gql.op(
        "UpdateCustomer", {"input": {"id": customer["id"], "name": "Someone"}}, token=owner.access_token
    )
    assert result.data["updateCustomer"]["errors"] == []
    await run_outbox(settings)
    assert len(upserts(hubspot_fake)) == 1
    assert {m.pending for m in await marks(gql)} == {False}
