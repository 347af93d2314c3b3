"""The seed's verification dialogues, word for word, end to end: signed webhooks in, the outbox and the
fake Graph API out. (The engine's own suite, ``tests/domain/assistant``, covers every state in detail.)"""

from __future__ import annotations

import itertools
import re
from datetime import timedelta
from typing import Any

import httpx
import pytest

from bizzly import clock
from domain.conversations.models import Message
from tests.fakes.meta import MetaFake, Send, interactive_reply, media_message, text_message
from tests.integrations.whatsapp.conftest import APP_SECRET, Business, business, rows
from tests.support.accounts import _services
from tests.support.customers import create_customer
from tests.support.graphql import GraphQLClient
from tests.support.outbox import drain_outbox

WA_ID = "447700900123"  # WhatsApp's form of +44 7700 900123
CODE = re.compile(r"^Your verification code is: (\d{6})\nThis code expires in 10 minutes\.$")
_wamids = itertools.count(1)


def shown(send: Send) -> str:
    """What the customer sees: the text, or the body of an interactive list or buttons."""
    if send.text is not None:
        return send.text
    interactive = send.body.get("interactive") or {}
    return str((interactive.get("body") or {}).get("text"))


class Chat:
    """One customer's WhatsApp, talking to one business through signed webhooks."""

    def __init__(self, gql: GraphQLClient, http: httpx.AsyncClient, meta: MetaFake, biz: Business) -> None:
        self.gql, self.http, self.meta, self.number = gql, http, meta, biz.numbers[0]

    async def _deliver(self, payload: dict[str, Any]) -> list[str]:
        before = len(self.meta.sends)
        response = await self.meta.post_webhook(self.http, payload, secret=APP_SECRET)
        assert response.status_code == 200
        await drain_outbox(_services(self.gql).settings)
        return [shown(s) for s in self.meta.sends[before:]]

    async def say(self, text: str) -> list[str]:
        wamid = f"wamid.e2e{next(_wamids)}"
        return await self._deliver(text_message(self.number, wa_id=WA_ID, text=text, wamid=wamid))

    async def tap(self, reply_id: str, title: str) -> list[str]:
        wamid = f"wamid.e2e{next(_wamids)}"
        payload = interactive_reply(
            self.number, wa_id=WA_ID, reply_id=reply_id, title=title, wamid=wamid, kind="list_reply"
        )
        return await self._deliver(payload)

    async def send_voice_note(self) -> list[str]:
        wamid = f"wamid.e2e{next(_wamids)}"
        return await self._deliver(
            media_message(self.number, wa_id=WA_ID, kind="audio", media_id="media-1", wamid=wamid)
        )


def code_in(replies: list[str]) -> str:
    assert len(replies) == 1, replies
    found = CODE.match(replies[0])
    assert found, replies
    return found.group(1)


@pytest.fixture
async def biz(gql: GraphQLClient, meta: MetaFake) -> Business:
    return await business(gql, meta, "seed-salon")


@pytest.fixture
def chat(gql: GraphQLClient, http: httpx.AsyncClient, meta: MetaFake, biz: Business) -> Chat:
    return Chat(gql, http, meta, biz)


async def test_single_account(gql: GraphQLClient, biz: Business, chat: Chat) -> None:
    await create_customer(gql, biz.owner, name="Sarah Jones", email="sarah@example.com", phone="07700 900123")
    code = code_in(await chat.say("Hi"))
    assert await chat.say(code) == ["You're now verified! How can I help you today?"]
    # The code never reaches the message log, inbound or outbound.
    bodies = [m.body or "" for m in await rows(gql, Message)]
    assert not any(code in body for body in bodies), bodies


async def test_several_accounts_chosen_by_number_name_and_email(
    gql: GraphQLClient, biz: Business, chat: Chat
) -> None:
    await create_customer(gql, biz.owner, name="Sarah Jones", email="sarah@example.com", phone="07700 900123")
    await create_customer(gql, biz.owner, name="Tom Jones", email="tom@example.com", phone="+44 7700 900123")
    listing = (
        "Multiple accounts found for this phone number:\n\n"
        "1. Sarah Jones (sarah@example.com)\n"
        "2. Tom Jones (tom@example.com)\n\n"
        "Which profile would you like to use?"
    )
    assert await chat.say("Hi") == [listing]
    assert chat.meta.sends[-1].body["type"] == "interactive"  # a list where it fits
    code = code_in(await chat.say("Sarah"))
    assert await chat.say(code) == ["You're now verified! How can I help you today?"]
    assert await chat.say("log out") == [
        "You've been logged out. Send a message anytime to start a new session."
    ]
    assert await chat.say("Hi") == [listing]
    code = code_in(await chat.say("2"))
    assert await chat.say(code) == ["You're now verified! How can I help you today?"]
    await chat.say("log out")
    assert await chat.say("Hi") == [listing]
    code_in(await chat.say("tom@example.com"))


async def test_no_account(chat: Chat) -> None:
    assert await chat.say("Hi") == [
        "No account found for this phone number. Please ensure your phone number is registered with your "
        "account on our website."
    ]


async def test_wrong_codes_lock_the_code_and_verify_issues_a_new_one(
    gql: GraphQLClient, biz: Business, chat: Chat
) -> None:
    await create_customer(gql, biz.owner, name="Sarah Jones", email="sarah@example.com", phone="07700 900123")
    code = code_in(await chat.say("Hi"))
    wrong = "999999" if code != "999999" else "888888"
    invalid = ["Invalid or expired code. Please try again or request a new code."]
    for _ in range(3):
        assert await chat.say(wrong) == invalid
    assert await chat.say(code) == invalid  # three wrong entries: the right code is dead too
    fresh = code_in(await chat.say("Verify!"))
    assert await chat.say(fresh) == ["You're now verified! How can I help you today?"]


async def test_an_expired_session_asks_to_verify_again(gql: GraphQLClient, biz: Business, chat: Chat) -> None:
    await create_customer(gql, biz.owner, name="Sarah Jones", email="sarah@example.com", phone="07700 900123")
    await chat.say(code_in(await chat.say("Hi")))
    clock.advance(timedelta(hours=24, minutes=1))
    replies = await chat.say("Show my bookings")
    assert replies[0] == "Your session has expired. For security, please verify your identity again."
    code = code_in(replies[1:])
    verified = await chat.say(code)
    assert verified[0] == "You're now verified! How can I help you today?"


async def test_a_protected_request_gets_a_code_never_data_and_is_answered_after(
    gql: GraphQLClient, biz: Business, chat: Chat
) -> None:
    await create_customer(gql, biz.owner, name="Sarah Jones", email="sarah@example.com", phone="07700 900123")
    code = code_in(await chat.say("Show my bookings"))
    replies = await chat.say(code)
    assert replies[0] == "You're now verified! How can I help you today?"
    assert len(replies) == 2  # the remembered request is carried out once verified


async def test_an_account_reached_only_through_the_crm_gets_its_code_by_email(
    gql: GraphQLClient, biz: Business, chat: Chat
) -> None:
    from domain.identity.service import upsert_crm_contact
    from tenants.repository import TenantDirectory

    await create_customer(gql, biz.owner, name="Sarah Jones", email="sarah@example.com")
    async with _services(gql).db.tenant_session(biz.tenant_id) as s, s.begin():
        tenant = await TenantDirectory(s).get(biz.tenant_id)
        assert tenant is not None
        await upsert_crm_contact(
            s, tenant=tenant, external_id="501", email="sarah@example.com", phone="+447700900123"
        )
    replies = await chat.say("Hi")
    assert len(replies) == 1
    assert "s***h@example.com" in replies[0]
    assert not re.search(r"\d{6}", replies[0])


async def test_a_voice_note_gets_a_polite_text_only_answer(chat: Chat) -> None:
    assert await chat.send_voice_note() == [
        "Sorry, I can only read text messages. Please type your question."
    ]
