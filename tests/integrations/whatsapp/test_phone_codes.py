"""The website's phone-code pair end to end (issue 18): ``requestPhoneCode`` sends the code through the
business's WhatsApp number as its AUTHENTICATION template (checked by the fake Graph API as Meta documents
it), ``confirmPhoneCode`` proves the phone; the chat's code rules and send limits hold."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bizzly import clock
from bizzly.db.engine import MaintenanceUse
from bizzly.outbox import OutboxRow
from bizzly.settings import Settings
from domain.conversations.models import Message
from domain.customers.models import Customer, PhoneCode
from domain.privacy.audit import AuditEntry
from tests.fakes.meta import MetaFake
from tests.integrations.whatsapp.conftest import connect, database, rows, whatsapp_settings
from tests.support.accounts import DEFAULT_PASSWORD, SignedUp, _services, sign_up
from tests.support.customers import register
from tests.support.graphql import GraphQLClient, Result
from tests.support.outbox import drain_outbox
from tests.support.scheduling import book, create_service, local, next_weekday, set_hours

PHONE = "+447700900123"
WA_ID = PHONE.lstrip("+")

REQUEST = """
mutation RequestPhoneCode {
  requestPhoneCode { phone expiresAt errors { field message code } }
}
"""
CONFIRM = """
mutation ConfirmPhoneCode($input: ConfirmPhoneCodeInput!) {
  confirmPhoneCode(input: $input) { customer { id phone phoneProven } errors { field message code } }
}
"""
ME = "query Me { me { id phone phoneProven } }"


@pytest.fixture
def settings(database_settings: dict[str, str], meta: MetaFake) -> Settings:
    # Small send limits so the tests reach them: 3 codes per phone (and per account), 5 per business.
    return whatsapp_settings(database_settings, meta, otp_per_phone_per_hour=3, otp_per_tenant_per_hour=5)


async def shop(
    gql: GraphQLClient, meta: MetaFake, slug: str, *, template: str | None = "bizzly_otp"
) -> SignedUp:
    owner = await sign_up(gql, slug=slug)
    connected = await connect(gql, owner, meta, otp_template_name=template)
    assert connected["errors"] == [], connected["errors"]
    return owner


async def customer(gql: GraphQLClient, slug: str, name: str, *, phone: str | None = PHONE) -> str:
    """A customer registers on the website (typing a phone, unproven) and is signed in: her token."""
    email = f"{name.lower()}@example.com"
    token: str = (await register(gql, slug, name=name, email=email, phone=phone))["accessToken"]
    return token


async def log_in(gql: GraphQLClient, slug: str, name: str) -> str:
    """A fresh customer token (the clock moved past the old one's life)."""
    result = await gql.op(
        "CustomerLogIn",
        {"input": {"tenantSlug": slug, "email": f"{name.lower()}@example.com", "password": DEFAULT_PASSWORD}},
    )
    token: str = result.data["customerLogIn"]["accessToken"]
    return token


async def request(gql: GraphQLClient, token: str) -> dict[str, Any]:
    result = await gql(REQUEST, token=token)
    assert not result.errors, result.errors
    payload: dict[str, Any] = result.data["requestPhoneCode"]
    return payload


async def confirm(gql: GraphQLClient, token: str, code: str) -> dict[str, Any]:
    result = await gql(CONFIRM, {"input": {"code": code}}, token=token)
    assert not result.errors, result.errors
    payload: dict[str, Any] = result.data["confirmPhoneCode"]
    return payload


def errors(payload: dict[str, Any]) -> list[tuple[str | None, str]]:
    return [(e["field"], e["code"]) for e in payload["errors"]]


async def sent_code(gql: GraphQLClient, meta: MetaFake, to: str = WA_ID) -> str:
    """Relay the outbox, then read the code from the last template the fake Graph API accepted for ``to``."""
    await drain_outbox(_services(gql).settings)
    sends = [s for s in meta.sends if s.to == to and s.body["type"] == "template"]
    assert sends, "no template was sent"
    body_param = sends[-1].body["template"]["components"][0]["parameters"][0]["text"]
    assert re.fullmatch(r"\d{6}", body_param)
    return str(body_param)


def wrong(code: str, n: int = 1) -> str:
    return f"{(int(code) + n) % 1_000_000:06d}"


async def test_a_customer_proves_her_phone_with_the_code_sent_as_the_authentication_template(
    gql: GraphQLClient, meta: MetaFake
) -> None:
    owner = await shop(gql, meta, "code-shop")
    sarah = await register(gql, owner.slug, name="Sarah", email="sarah@example.com", phone="07700 900123")
    token = sarah["accessToken"]
    me = (await gql(ME, token=token)).data["me"]
    assert (me["phone"], me["phoneProven"]) == (PHONE, False)

    sent = await request(gql, token)
    assert sent["errors"] == []
    assert sent["phone"] == "+44•••••••123"
    # The code is not readable at rest before the send (the outbox payload is encrypted).
    async with database(gql).maintenance_session(MaintenanceUse.TESTS, write=False) as s:
        [row] = (await s.execute(select(OutboxRow).where(OutboxRow.topic == "whatsapp.send"))).scalars()
    assert row.encrypted
    code = await sent_code(gql, meta)
    assert code not in row.payload
    [send] = [s for s in meta.sends if s.to == WA_ID]
    assert send.body["type"] == "template"
    assert send.body["template"] == {
        "name": "bizzly_otp",
        "language": {"code": "en_US"},
        "components": [
            {"type": "body", "parameters": [{"type": "text", "text": code}]},
            {
                "type": "button",
                "sub_type": "url",
                "index": "0",
                "parameters": [{"type": "text", "text": code}],
            },
        ],
    }
    # The business's message log keeps the send, never the code.
    [logged] = await rows(gql, Message)
    assert code not in (logged.body or "")

    proven = await confirm(gql, token, code[:3] + " " + code[3:])
    assert proven["errors"] == []
    assert proven["customer"]["phoneProven"] is True
    assert (await gql(ME, token=token)).data["me"]["phoneProven"] is True
    # A code works once; asking again for a proven phone is refused without sending anything.
    assert errors(await confirm(gql, token, code)) == [("phone", "CONFLICT")]
    again = await request(gql, token)
    assert errors(again) == [("phone", "CONFLICT")]
    await drain_outbox(_services(gql).settings)
    assert len([s for s in meta.sends if s.to == WA_ID]) == 1

    # Proven: the business now tells her on WhatsApp.
    await set_hours(gql, owner.access_token)
    service = await create_service(gql, owner.access_token, name="Haircut")
    made = await book(gql, token, service_id=service["id"], starts_at=local(next_weekday(2), 10))
    assert made["errors"] == []
    await drain_outbox(_services(gql).settings)
    assert [s.body["template"]["name"] for s in meta.sends if s.to == WA_ID][-1] == "bizzly_booking_confirmed"


async def test_wrong_codes_three_tries_and_expiry(gql: GraphQLClient, meta: MetaFake) -> None:
    owner = await shop(gql, meta, "tries-shop")
    token = await customer(gql, owner.slug, "Sam")
    assert errors(await confirm(gql, token, "123456")) == [("code", "NOT_FOUND")]
    await request(gql, token)
    code = await sent_code(gql, meta)
    # Not six digits: refused, not counted.
    assert errors(await confirm(gql, token, "12ab56")) == [("code", "INVALID")]
    first = await confirm(gql, token, wrong(code))
    assert errors(first) == [("code", "WRONG_CODE")]
    assert first["errors"][0]["message"] == "That code is not right. 2 tries left."
    assert (await confirm(gql, token, wrong(code, 2)))["errors"][0]["message"] == (
        "That code is not right. 1 try left."
    )
    assert errors(await confirm(gql, token, wrong(code, 3))) == [("code", "TOO_MANY_ATTEMPTS")]
    # The right code no longer works after the third wrong one.
    assert errors(await confirm(gql, token, code)) == [("code", "TOO_MANY_ATTEMPTS")]
    assert (await gql(ME, token=token)).data["me"]["phoneProven"] is False

    # A fresh code lives 10 minutes, to the second.
    await request(gql, token)
    code = await sent_code(gql, meta)
    clock.advance(timedelta(minutes=10))
    token = await log_in(gql, owner.slug, "Sam")
    assert errors(await confirm(gql, token, code)) == [("code", "EXPIRED")]
    await request(gql, token)
    code = await sent_code(gql, meta)
    clock.advance(timedelta(minutes=9, seconds=59))
    assert (await confirm(gql, token, code))["customer"]["phoneProven"] is True


async def test_a_new_code_ends_the_old_one(gql: GraphQLClient, meta: MetaFake) -> None:
    owner = await shop(gql, meta, "fresh-shop")
    token = await customer(gql, owner.slug, "Sam")
    await request(gql, token)
    old = await sent_code(gql, meta)
    await request(gql, token)
    new = await sent_code(gql, meta)
    if old != new:
        assert errors(await confirm(gql, token, old)) == [("code", "WRONG_CODE")]
    assert (await confirm(gql, token, new))["customer"]["phoneProven"] is True


async def test_send_limits_per_phone_and_per_business(gql: GraphQLClient, meta: MetaFake) -> None:
    owner = await shop(gql, meta, "limit-shop")
    mallory = (await register(gql, owner.slug, name="Mallory", email="m@example.com", phone=PHONE))[
        "accessToken"
    ]
    other = (await register(gql, owner.slug, name="Mo", email="mo@example.com", phone=PHONE))["accessToken"]
    for _ in range(3):
        assert (await request(gql, mallory))["errors"] == []
    # The phone has had its 3 codes this hour, whichever account asks.
    for token in (mallory, other):
        limited = await request(gql, token)
        assert errors(limited) == [(None, "LIMIT_REACHED")]
        assert limited["errors"][0]["message"].startswith("Too many codes were sent. Try again in 60 minutes")
    await drain_outbox(_services(gql).settings)
    assert len([s for s in meta.sends if s.to == WA_ID]) == 3

    # The business's ceiling: 5 codes an hour across all phones.
    tokens = [await customer(gql, owner.slug, f"P{i}", phone=f"+44770090020{i}") for i in range(3)]
    assert [errors(await request(gql, t)) for t in tokens] == [[], [], [(None, "LIMIT_REACHED")]]

    # An hour after the first sends, the window has moved on.
    clock.advance(timedelta(hours=1, seconds=1))
    assert (await request(gql, await log_in(gql, owner.slug, "Mo")))["errors"] == []


async def test_refusals_without_a_phone_whatsapp_or_template(gql: GraphQLClient, meta: MetaFake) -> None:
    owner = await shop(gql, meta, "plain-shop", template=None)
    no_phone = await customer(gql, owner.slug, "Nia", phone=None)
    assert errors(await request(gql, no_phone)) == [("phone", "REQUIRED")]
    phoned = (await register(gql, owner.slug, name="Pat", email="pat@example.com", phone=PHONE))[
        "accessToken"
    ]
    # No authentication template named when WhatsApp was connected: Meta would refuse a code.
    assert errors(await request(gql, phoned)) == [(None, "UNAVAILABLE")]
    unconnected = await sign_up(gql, slug="no-whatsapp")
    token = (await register(gql, unconnected.slug, name="Pat", email="pat@example.com", phone=PHONE))[
        "accessToken"
    ]
    assert errors(await request(gql, token)) == [(None, "UNAVAILABLE")]
    await drain_outbox(_services(gql).settings)
    assert meta.sends == []

    # Only a signed-in customer: staff and anonymous callers are refused at the top level.
    staff: Result = await gql(REQUEST, token=owner.access_token)
    assert staff.error_codes == ["FORBIDDEN"]
    anonymous: Result = await gql(REQUEST, tenant=owner.slug)
    assert anonymous.error_codes == ["UNAUTHENTICATED"]


async def test_the_fake_refuses_a_code_template_without_its_copy_code_button(meta: MetaFake) -> None:
    number = meta.add_number("1065499", token="tok", waba_id="9")
    body = {
        "messaging_product": "whatsapp",
        "to": WA_ID,
        "type": "template",
        "template": {
            "name": "bizzly_otp",
            "language": {"code": "en_US"},
            "components": [{"type": "body", "parameters": [{"type": "text", "text": "482913"}]}],
        },
    }
    async with httpx.AsyncClient(base_url=meta.url) as client:
        url = f"/v21.0/{number.phone_number_id}/messages"
        headers = {"Authorization": "Bearer tok"}
        refused = await client.post(url, json=body, headers=headers)
        assert (refused.status_code, refused.json()["error"]["code"]) == (400, 132000)
        text = {"type": "text", "text": "1"}
        button = {"type": "button", "sub_type": "url", "index": "0", "parameters": [text]}
        body["template"]["components"].append(button)  # type: ignore[index]
        mismatched = await client.post(url, json=body, headers=headers)
        assert mismatched.json()["error"]["code"] == 132000
        text["text"] = "482913"
        accepted = await client.post(url, json=body, headers=headers)
        assert accepted.status_code == 200
    assert len(meta.sends) == 1


async def test_erasure_forgets_the_accounts_phone_codes_and_proof(gql: GraphQLClient, meta: MetaFake) -> None:
    owner = await shop(gql, meta, "erase-codes")
    token = await customer(gql, owner.slug, "Sam")
    await request(gql, token)
    await sent_code(gql, meta)
    await request(gql, token)
    code = await sent_code(gql, meta)
    proven = await confirm(gql, token, code)
    assert proven["customer"]["phoneProven"] is True
    assert len(await rows(gql, PhoneCode)) == 2

    erased = await gql.op(
        "EraseCustomerData", {"customerId": proven["customer"]["id"]}, token=owner.access_token
    )
    assert erased.data["eraseCustomerData"]["errors"] == []
    assert await rows(gql, PhoneCode) == []
    [account] = await rows(gql, Customer)
    assert (account.phone_proven_at, account.phone_proven_by) == (None, None)


async def test_a_template_meta_does_not_hold_fails_visibly_and_sends_nothing(
    gql: GraphQLClient, meta: MetaFake
) -> None:
    owner = await shop(gql, meta, "typo-shop", template="bizzly_otp_typo")
    token = await customer(gql, owner.slug, "Sam")
    assert (await request(gql, token))["errors"] == []
    await drain_outbox(_services(gql).settings)
    assert meta.sends == []
    # Staff see the failed send in the conversation, with Meta's code (the template does not exist).
    [message] = await rows(gql, Message)
    assert (message.status, message.error_code) == ("failed", 132001)


async def test_concurrent_tries_are_each_counted_and_a_code_proves_once(
    gql: GraphQLClient, meta: MetaFake
) -> None:
    owner = await shop(gql, meta, "race-shop")
    token = await customer(gql, owner.slug, "Sam")
    await request(gql, token)
    code = await sent_code(gql, meta)
    # Two wrong tries at once: both counted (the third, right or wrong, is the last).
    both = await asyncio.gather(confirm(gql, token, wrong(code)), confirm(gql, token, wrong(code, 2)))
    assert sorted(e["message"] for p in both for e in p["errors"]) == [
        "That code is not right. 1 try left.",
        "That code is not right. 2 tries left.",
    ]
    [stored] = await rows(gql, PhoneCode)
    assert stored.attempts == 2
    # The right code sent twice at once proves the phone once; the other submit is told it is done.
    answers = await asyncio.gather(confirm(gql, token, code), confirm(gql, token, code))
    assert sorted(errors(a) for a in answers) == [[], [("phone", "CONFLICT")]]
    assert len([e for e in await rows(gql, AuditEntry) if e.action == "customer.phone_proven"]) == 1
