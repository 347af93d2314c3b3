"""Website contact forms: validation, throttling, the lead record, linking to an account, the leads list."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from starlette.applications import Starlette

from bizzly.db.engine import MaintenanceUse
from bizzly.errors import DomainError, ErrorCode
from bizzly.ids import new_id
from bizzly.outbox import OutboxRow
from bizzly.settings import Settings
from domain.customers.models import Customer
from domain.customers.service import create_customer as create_row
from domain.customers.service import current_tenant
from domain.identity.models import PhoneIndexEntry
from domain.leads.models import Lead
from domain.leads.service import ContactForm, submit_contact_form
from tests.conftest import make_settings
from tests.support.accounts import SignedUp, _services, sign_up
from tests.support.customers import count_rows, create_customer, register, tenant_session
from tests.support.graphql import GraphQLClient
from tests.support.queries import count_queries


@pytest.fixture
def settings(database_settings: dict[str, str]) -> Settings:
    return make_settings(database_settings, contact_form_per_ip=3, contact_form_per_tenant=5)


@pytest.fixture
async def owner(gql: GraphQLClient) -> SignedUp:
    return await sign_up(gql, slug="lea-studio", email="owner@lea.example.com")


async def submit(gql: GraphQLClient, **fields: Any) -> dict[str, Any]:
    result = await gql.op("SubmitContactForm", {"input": {"tenantSlug": "lea-studio", **fields}})
    assert not result.errors, result.errors
    payload: dict[str, Any] = result.data["submitContactForm"]
    return payload


async def leads(gql: GraphQLClient, owner: SignedUp, **variables: Any) -> dict[str, Any]:
    result = await gql.op("Leads", variables, token=owner.access_token)
    assert not result.errors, result.errors
    data: dict[str, Any] = result.data["leads"]
    return data


async def outbox(gql: GraphQLClient) -> list[OutboxRow]:
    async with _services(gql).db.maintenance_session(MaintenanceUse.TESTS, write=False) as s:
        return list((await s.execute(select(OutboxRow).order_by(OutboxRow.id))).scalars())


async def test_a_form_records_a_lead_staff_see_it(gql: GraphQLClient, owner: SignedUp) -> None:
    payload = await submit(
        gql,
        email="Visitor@Example.com",
        firstName="Vera",
        lastName="Stone",
        phone="07700 900555",
        message="Do you do weddings?",
        pageUri="https://lea.example.com/contact",
        consent=True,
    )
    assert payload == {"ok": True, "errors": []}
    listed = await leads(gql, owner)
    [node] = [e["node"] for e in listed["edges"]]
    assert node["email"] == "Visitor@example.com"
    assert (node["firstName"], node["lastName"], node["phone"]) == ("Vera", "Stone", "+447700900555")
    assert node["message"] == "Do you do weddings?"
    assert node["syncStatus"] == "NOT_CONNECTED"
    assert node["customer"] is None
    # A lead is not an account, and its phone is not in the phone lookup index.
    assert await count_rows(gql, Customer) == 0
    assert await count_rows(gql, PhoneIndexEntry) == 0
    # The owner is alerted with ids only.
    alerts = [r for r in await outbox(gql) if r.topic == "notifications.owner_alert"]
    assert len(alerts) == 1
    assert "Visitor" not in alerts[0].payload
    assert "07700" not in alerts[0].payload
    assert '"kind":"new_lead"' in alerts[0].payload


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({"email": ""}, [("email", "REQUIRED")]),
        ({"email": "not-an-email"}, [("email", "INVALID")]),
        ({"email": "a@example.com", "phone": "12"}, [("phone", "INVALID")]),
        ({"email": "a@example.com", "phone": "call me maybe"}, [("phone", "INVALID")]),
        ({"email": "a" * 320 + "@example.com"}, [("email", "INVALID")]),
        ({"email": "a@example.com", "firstName": "F" * 101}, [("firstName", "INVALID")]),
        ({"email": "a@example.com", "lastName": "L" * 101}, [("lastName", "INVALID")]),
        ({"email": "a@example.com", "message": "m" * 5001}, [("message", "INVALID")]),
        ({"email": "a@example.com", "pageUri": "https://x.example/" + "p" * 2000}, [("pageUri", "INVALID")]),
        ({"email": "a@example.com", "pageUri": "javascript:alert(1)"}, [("pageUri", "INVALID")]),
        ({"email": "a@example.com", "hutk": "h" * 101}, [("hutk", "INVALID")]),
        ({"email": "a@example.com", "hutk": "<script>"}, [("hutk", "INVALID")]),
        ({"email": "a@example.com", "analyticsClientId": "x y"}, [("analyticsClientId", "INVALID")]),
        ({"email": "", "phone": "nope"}, [("email", "REQUIRED"), ("phone", "INVALID")]),
    ],
)
async def test_bad_input_is_refused_and_nothing_is_stored(
    gql: GraphQLClient, owner: SignedUp, fields: dict[str, Any], errors: list[tuple[str, str]]
) -> None:
    payload = await submit(gql, **fields)
    assert payload["ok"] is False
    assert [(e["field"], e["code"]) for e in payload["errors"]] == errors
    assert await count_rows(gql, Lead) == 0
    assert [r.topic for r in await outbox(gql)] == []


async def test_an_unknown_business_is_a_typed_error(gql: GraphQLClient, owner: SignedUp) -> None:
    result = await gql.op(
        "SubmitContactForm", {"input": {"tenantSlug": "nobody-here", "email": "a@example.com"}}
    )
    payload = result.data["submitContactForm"]
    assert payload["ok"] is False
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [("tenantSlug", "NOT_FOUND")]
    assert await count_rows(gql, Lead) == 0


async def test_throttled_per_client_address(gql: GraphQLClient, owner: SignedUp) -> None:
    for i in range(3):
        assert (await submit(gql, email=f"v{i}@example.com"))["ok"] is True
    refused = await submit(gql, email="v4@example.com")
    assert refused["ok"] is False
    assert [e["code"] for e in refused["errors"]] == ["LIMIT_REACHED"]
    # The address is refused at another business too (one visitor spraying sites).
    await sign_up(gql, slug="other-studio", email="owner@other.example.com")
    result = await gql.op(
        "SubmitContactForm", {"input": {"tenantSlug": "other-studio", "email": "v@example.com"}}
    )
    assert [e["code"] for e in result.data["submitContactForm"]["errors"]] == ["LIMIT_REACHED"]
    assert await count_rows(gql, Lead) == 3


async def test_throttled_per_business_across_addresses(gql: GraphQLClient, owner: SignedUp) -> None:
    async def send(ip: str) -> None:
        async with tenant_session(gql, owner) as s:
            tenant = await current_tenant(s)
            await submit_contact_form(
                s,
                tenant=tenant,
                settings=_services(gql).settings,
                client_ip=ip,
                form=ContactForm(email=f"{ip}@example.com"),
            )

    for i in range(5):
        await send(f"10.0.0.{i}")
    with pytest.raises(DomainError) as refused:
        await send("10.0.0.99")
    assert refused.value.code is ErrorCode.LIMIT_REACHED
    assert await count_rows(gql, Lead) == 5


async def test_linked_to_the_account_with_that_email_now(gql: GraphQLClient, owner: SignedUp) -> None:
    customer = await create_customer(gql, owner, name="Ann", email="ann@example.com", phone="07700 900123")
    await submit(gql, email="ANN@example.com", phone="07700 900999")
    [node] = [e["node"] for e in (await leads(gql, owner))["edges"]]
    assert node["customer"] == {"id": customer["id"]}


async def test_linked_when_the_email_registers_later(gql: GraphQLClient, owner: SignedUp) -> None:
    await submit(gql, email="later@example.com")
    await submit(gql, email="someone-else@example.com")
    done = await register(gql, "lea-studio", name="Late Comer", email="Later@example.com")
    nodes = {e["node"]["email"]: e["node"] for e in (await leads(gql, owner))["edges"]}
    assert nodes["later@example.com"]["customer"] == {"id": done["customer"]["id"]}
    assert nodes["someone-else@example.com"]["customer"] is None


async def test_leads_page_newest_first_without_extra_queries(
    app: Starlette, gql: GraphQLClient, owner: SignedUp
) -> None:
    services = _services(gql)
    # Rows written directly: the form's own throttle would stop a loop of 30 submissions.
    async with tenant_session(gql, owner) as s:
        tenant = await current_tenant(s)
        for i in range(30):
            customer = None
            if i % 2 == 0:
                customer = await create_row(
                    s, tenant=tenant, actor="system", name=f"C{i}", email=f"p{i}@example.com"
                )
            s.add(
                Lead(
                    tenant_id=tenant.id,
                    id=new_id(),
                    email=f"p{i}@example.com",
                    email_key=f"p{i}@example.com",
                    consent=False,
                    customer_id=customer.id if customer else None,
                    sync_status="NOT_CONNECTED",
                    push_pending=False,
                )
            )
    engine = services.db.app_engine

    async def statements(first: int) -> int:
        with count_queries(engine) as log:
            data = await leads(gql, owner, first=first)
        assert len(data["edges"]) == first
        return log.count

    small, large = await statements(4), await statements(24)
    assert small == large
    page = await leads(gql, owner, first=10)
    emails = [e["node"]["email"] for e in page["edges"]]
    assert emails == [f"p{i}@example.com" for i in range(29, 19, -1)]  # newest first
    assert page["pageInfo"]["hasNextPage"] is True
    after = await leads(gql, owner, first=10, after=page["pageInfo"]["endCursor"])
    assert after["edges"][0]["node"]["email"] == "p19@example.com"
    assert after["edges"][1]["node"]["customer"] is not None  # p18 has an account
