"""Website contact forms reach HubSpot through the outbox: the configured form (secure submit with the
visitor's hutk, page and consent) or, without a form, a contact upsert by email. A form never changes a
phone anywhere: not the customer's, not a CRM contact's in our index, not HubSpot's."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bizzly import clock
from bizzly.db.engine import MaintenanceUse
from bizzly.settings import Settings
from domain.customers.models import Customer
from domain.customers.service import current_tenant
from domain.identity.models import CrmContact, PhoneIndexEntry
from domain.identity.service import upsert_crm_contact
from domain.leads.models import Lead
from tests.fakes.hubspot import HubSpotFake
from tests.integrations.hubspot.conftest import hubspot_settings
from tests.integrations.hubspot.support import connect
from tests.support.accounts import SignedUp, _services, sign_up
from tests.support.customers import count_rows, create_customer, tenant_session
from tests.support.graphql import GraphQLClient
from tests.support.outbox import drain_outbox

PORTAL = 4242
FORM = "1a2b3c4d-1a2b-1a2b-1a2b-1a2b3c4d5e6f"
HUTK = "0123456789abcdef0123456789abcdef"
VICTIM_PHONE = "+447700900123"
ATTACKER_PHONE = "+447700900999"


@pytest.fixture
def settings(database_settings: dict[str, str], hubspot_fake: HubSpotFake) -> Settings:
    return hubspot_settings(database_settings, hubspot_fake, hubspot_forms_url=hubspot_fake.url)


@pytest.fixture
async def owner(gql: GraphQLClient, hubspot_fake: HubSpotFake) -> SignedUp:
    owner = await sign_up(gql, slug="hub-studio", email="owner@hub.example.com")
    await connect(gql, owner, hubspot_fake, PORTAL)
    return owner


async def configure_form(gql: GraphQLClient, owner: SignedUp) -> None:
    result = await gql.op("ConfigureHubSpotForm", {"formGuid": FORM}, token=owner.access_token)
    assert result.data["configureHubSpotForm"]["errors"] == []


async def submit(gql: GraphQLClient, **fields: Any) -> dict[str, Any]:
    result = await gql.op("SubmitContactForm", {"input": {"tenantSlug": "hub-studio", **fields}})
    payload: dict[str, Any] = result.data["submitContactForm"]
    return payload


async def run_outbox(settings: Settings) -> None:
    clock.advance(timedelta(seconds=10))  # past the push's debounce delay
    await drain_outbox(settings)


async def lead_nodes(gql: GraphQLClient, owner: SignedUp) -> list[dict[str, Any]]:
    result = await gql.op("Leads", {"first": 50}, token=owner.access_token)
    return [e["node"] for e in result.data["leads"]["edges"]]


def hubspot_calls(fake: HubSpotFake) -> list[str]:
    return [path for method, path, _ in fake.requests if method == "POST" and "oauth" not in path]


async def test_the_form_reaches_hubspot_with_hutk_page_and_consent(
    gql: GraphQLClient, owner: SignedUp, hubspot_fake: HubSpotFake, settings: Settings
) -> None:
    await configure_form(gql, owner)
    payload = await submit(
        gql,
        email="vera@example.com",
        firstName="Vera",
        lastName="Stone",
        phone="07700 900555",
        message="Do you do weddings?",
        pageUri="https://hub.example.com/contact",
        hutk=HUTK,
        consent=True,
    )
    assert payload == {"ok": True, "errors": []}
    assert [n["syncStatus"] for n in await lead_nodes(gql, owner)] == ["PENDING"]
    await run_outbox(settings)

    [sent] = hubspot_fake.portals[PORTAL].submissions
    assert sent["formGuid"] == FORM
    assert {f["name"]: f["value"] for f in sent["fields"]} == {
        "email": "vera@example.com",
        "firstname": "Vera",
        "lastname": "Stone",
        "phone": "+447700900555",
        "message": "Do you do weddings?",
    }
    assert sent["context"] == {"hutk": HUTK, "pageUri": "https://hub.example.com/contact"}
    assert sent["legalConsentOptions"]["consent"]["consentToProcess"] is True
    # HubSpot made the contact from the submission; the lead shows it went through.
    [contact] = hubspot_fake.portals[PORTAL].contacts.values()
    assert contact.properties["email"] == "vera@example.com"
    assert [n["syncStatus"] for n in await lead_nodes(gql, owner)] == ["SYNCED"]


async def test_without_consent_no_consent_is_claimed(
    gql: GraphQLClient, owner: SignedUp, hubspot_fake: HubSpotFake, settings: Settings
) -> None:
    await configure_form(gql, owner)
    await submit(gql, email="vera@example.com")
    await run_outbox(settings)
    [sent] = hubspot_fake.portals[PORTAL].submissions
    assert "legalConsentOptions" not in sent
    assert "context" not in sent


async def test_without_a_form_the_contact_is_upserted_by_email(
    gql: GraphQLClient, owner: SignedUp, hubspot_fake: HubSpotFake, settings: Settings
) -> None:
    await submit(gql, email="Vera@Example.com", firstName="Vera", phone="07700 900555")
    await run_outbox(settings)
    assert hubspot_fake.portals[PORTAL].submissions == []
    assert any(p.endswith("/batch/upsert") for p in hubspot_calls(hubspot_fake))
    [contact] = hubspot_fake.portals[PORTAL].contacts.values()
    assert contact.properties["email"] == "Vera@example.com"
    assert contact.properties["firstname"] == "Vera"
    assert contact.properties["phone"] == "+447700900555"
    services = _services(gql)
    async with services.db.maintenance_session(MaintenanceUse.TESTS, write=False) as s:
        lead = (await s.execute(select(Lead))).scalar_one()
    assert lead.hubspot_contact_id == contact.id
    assert lead.sync_status == "SYNCED"


@pytest.mark.parametrize("with_form", [True, False], ids=["form", "upsert"])
@pytest.mark.parametrize("hubspot_has_phone", [True, False], ids=["hubspot-phone", "hubspot-no-phone"])
async def test_a_victims_email_with_another_phone_changes_no_phone_anywhere(
    gql: GraphQLClient,
    owner: SignedUp,
    hubspot_fake: HubSpotFake,
    settings: Settings,
    with_form: bool,
    hubspot_has_phone: bool,
) -> None:
    if with_form:
        await configure_form(gql, owner)
    victim = await create_customer(gql, owner, name="Vic Tim", email="vic@example.com", phone=VICTIM_PHONE)
    in_hubspot = hubspot_fake.add_contact(
        PORTAL, email="vic@example.com", phone=VICTIM_PHONE if hubspot_has_phone else None
    )
    async with tenant_session(gql, owner) as s:
        await upsert_crm_contact(
            s,
            tenant=await current_tenant(s),
            external_id=in_hubspot.id,
            email="vic@example.com",
            phone=VICTIM_PHONE if hubspot_has_phone else None,
        )
    await run_outbox(settings)  # the victim's own account push (if any) is done before the attack
    before = hubspot_calls(hubspot_fake)
    hubspot_phone = in_hubspot.properties.get("phone")  # the victim's own account may have filled it
    assert hubspot_phone == VICTIM_PHONE

    payload = await submit(gql, email="VIC@example.com", firstName="Mallory", phone=ATTACKER_PHONE)
    assert payload["ok"] is True
    await run_outbox(settings)
    assert len(hubspot_calls(hubspot_fake)) > len(before)  # the lead did go to HubSpot

    # HubSpot: the contact's phone is what it was; no submission or upsert carried the attacker's phone.
    assert in_hubspot.properties.get("phone") == VICTIM_PHONE
    assert in_hubspot.properties.get("firstname") != "Mallory"
    for sent in hubspot_fake.portals[PORTAL].submissions:
        assert ATTACKER_PHONE not in str(sent)
    assert len([c for c in hubspot_fake.portals[PORTAL].contacts.values() if not c.archived]) == 1
    # Ours: the customer, the CRM contact and the phone index are unchanged.
    services = _services(gql)
    async with services.db.maintenance_session(MaintenanceUse.TESTS, write=False) as s:
        customer = (await s.execute(select(Customer))).scalar_one()
        contacts = list((await s.execute(select(CrmContact))).scalars())
        indexed = set((await s.execute(select(PhoneIndexEntry.e164))).scalars())
    assert customer.phone_e164 == VICTIM_PHONE
    assert [c.phone_e164 for c in contacts] == [VICTIM_PHONE if hubspot_has_phone else None]
    assert ATTACKER_PHONE not in indexed
    # The lead itself keeps what was typed, linked to the account by its email.
    [node] = await lead_nodes(gql, owner)
    assert node["phone"] == ATTACKER_PHONE
    assert node["customer"] == {"id": victim["id"]}


@pytest.mark.parametrize(
    "fields",
    [
        {"email": ""},
        {"email": "not-an-email"},
        {"email": "a@example.com", "phone": "12"},
        {"email": "a@example.com", "message": "m" * 5001},
        {"email": "a@example.com", "firstName": "F" * 101},
        {"email": "a@example.com", "hutk": "not-a-tracking-id"},
    ],
)
async def test_bad_input_sends_nothing_to_hubspot(
    gql: GraphQLClient,
    owner: SignedUp,
    hubspot_fake: HubSpotFake,
    settings: Settings,
    fields: dict[str, Any],
) -> None:
    await configure_form(gql, owner)
    before = list(hubspot_fake.requests)
    payload = await submit(gql, **fields)
    assert payload["ok"] is False
    assert payload["errors"]
    await run_outbox(settings)
    assert hubspot_fake.requests == before
    assert hubspot_fake.portals[PORTAL].submissions == []
    assert await count_rows(gql, Lead) == 0


async def test_an_unknown_business_sends_nothing(
    gql: GraphQLClient, owner: SignedUp, hubspot_fake: HubSpotFake, settings: Settings
) -> None:
    before = list(hubspot_fake.requests)
    result = await gql.op(
        "SubmitContactForm", {"input": {"tenantSlug": "nope-nope", "email": "a@example.com"}}
    )
    assert [e["code"] for e in result.data["submitContactForm"]["errors"]] == ["NOT_FOUND"]
    await run_outbox(settings)
    assert hubspot_fake.requests == before


async def test_a_rate_limit_defers_the_form_and_loses_nothing(
    gql: GraphQLClient,
    owner: SignedUp,
    hubspot_fake: HubSpotFake,
    database_settings: dict[str, str],
) -> None:
    settings = hubspot_settings(
        database_settings,
        hubspot_fake,
        hubspot_forms_url=hubspot_fake.url,
        hubspot_rate_window_seconds=0.2,
    )
    await configure_form(gql, owner)
    await submit(gql, email="vera@example.com")
    hubspot_fake.rate_limit = 0  # every call answers 429
    await run_outbox(settings)
    assert hubspot_fake.rate_limited.get(PORTAL)
    assert [n["syncStatus"] for n in await lead_nodes(gql, owner)] == ["PENDING"]
    hubspot_fake.rate_limit = 110
    await run_outbox(settings)
    assert len(hubspot_fake.portals[PORTAL].submissions) == 1
    assert [n["syncStatus"] for n in await lead_nodes(gql, owner)] == ["SYNCED"]


async def test_not_connected_the_lead_is_kept_and_nothing_is_sent(
    gql: GraphQLClient, hubspot_fake: HubSpotFake, settings: Settings
) -> None:
    owner = await sign_up(gql, slug="hub-studio", email="owner@hub.example.com")
    await submit(gql, email="vera@example.com")
    await run_outbox(settings)
    assert hubspot_calls(hubspot_fake) == []
    assert [n["syncStatus"] for n in await lead_nodes(gql, owner)] == ["NOT_CONNECTED"]


async def test_a_phone_only_our_customer_has_still_blocks_the_forms_phone(
    gql: GraphQLClient, hubspot_fake: HubSpotFake, settings: Settings
) -> None:
    # The account existed before HubSpot was connected: HubSpot's contact has no phone, ours does.
    owner = await sign_up(gql, slug="hub-studio", email="owner@hub.example.com")
    await create_customer(gql, owner, name="Vic Tim", email="vic@example.com", phone=VICTIM_PHONE)
    await connect(gql, owner, hubspot_fake, PORTAL)
    in_hubspot = hubspot_fake.add_contact(PORTAL, email="vic@example.com")
    await configure_form(gql, owner)
    await submit(gql, email="vic@example.com", phone=ATTACKER_PHONE)
    await run_outbox(settings)
    [sent] = hubspot_fake.portals[PORTAL].submissions
    assert [f["name"] for f in sent["fields"]] == ["email"]
    assert in_hubspot.properties.get("phone") is None
