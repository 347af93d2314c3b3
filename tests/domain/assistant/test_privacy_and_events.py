"""Erasing one's messages, Meta user ids, and staff reading auth events (``authEvents``)."""

from __future__ import annotations

import pytest

from domain.assistant import texts
from domain.assistant.messages import Reply, Sender
from domain.conversations.models import Message
from domain.conversations.service import Sender as ChannelSender
from domain.conversations.service import record_inbound
from domain.customers.models import Customer
from domain.privacy.audit import AuditEntry
from tests.domain.assistant.conftest import PHONE, WA_ID, Chat, code_of, rows
from tests.support.accounts import sign_up, staff_token
from tests.support.customers import create_customer, row_id, tenant_session
from tests.support.graphql import GraphQLClient


async def _messages(chat: Chat, wa_id: str, n: int) -> None:
    async with tenant_session(chat.gql, chat.owner) as s:
        for i in range(n):
            await record_inbound(
                s,
                channel="whatsapp",
                connection_id=None,
                sender=ChannelSender(wa_id=wa_id),
                wamid=f"wamid.{wa_id}.{i}",
                kind="text",
                body=f"message {i}",
            )


async def test_a_verified_customer_erases_their_message_history(chat: Chat) -> None:
    sarah = await create_customer(
        chat.gql, chat.owner, name="Sarah Jones", email="sarah@example.com", phone=PHONE
    )
    await _messages(chat, WA_ID, 3)
    await _messages(chat, "447700900999", 2)  # someone else's conversation stays
    await chat.verify()
    (confirm,) = await chat.say("Delete my messages")
    assert confirm.text == texts.ERASE_CONFIRM
    assert confirm.kind == "buttons"
    assert len(await rows(chat.gql, Message)) == 5
    assert await chat.texts("yes") == [texts.ERASED]
    assert len(await rows(chat.gql, Message)) == 2
    (entry,) = [e for e in await rows(chat.gql, AuditEntry) if e.action == "whatsapp.messages_erased"]
    assert entry.subject_id == row_id(sarah["id"])
    assert entry.actor == f"customer:{row_id(sarah['id'])}"


async def test_erasing_needs_a_yes(chat: Chat) -> None:
    await create_customer(chat.gql, chat.owner, name="Sarah Jones", email="sarah@example.com", phone=PHONE)
    await _messages(chat, WA_ID, 2)
    await chat.verify()
    (confirm,) = await chat.say("delete my messages")
    assert await chat.tap(confirm.choices[1].id, "No") == [Reply(text=texts.ERASE_CANCELLED)]
    assert await chat.texts("yes") == [texts.VERIFIED_MENU]  # no confirmation pending any more
    assert len(await rows(chat.gql, Message)) == 2


async def test_an_unverified_phone_cannot_erase(chat: Chat) -> None:
    await create_customer(chat.gql, chat.owner, name="Sarah Jones", email="sarah@example.com", phone=PHONE)
    await _messages(chat, WA_ID, 2)
    (reply,) = await chat.say("delete my messages")
    assert reply.holds_code  # verification first
    assert await chat.texts("yes") == [texts.ENTER_CODE]
    assert len(await rows(chat.gql, Message)) == 2


async def test_a_verified_meta_user_id_finds_the_account_without_a_phone(chat: Chat) -> None:
    await create_customer(chat.gql, chat.owner, name="Sarah Jones", email="sarah@example.com", phone=PHONE)
    with_id = chat.other(sender=Sender(wa_id=WA_ID, phone_e164=PHONE, meta_user_id="US.123"))
    await with_id.verify()
    (sarah,) = await rows(chat.gql, Customer)
    assert sarah.meta_user_id == "US.123"
    username_only = chat.other(sender=Sender(wa_id=None, meta_user_id="US.123"))
    (reply,) = await username_only.say("Hi")
    assert await username_only.texts(code_of(reply)) == [texts.VERIFIED]
    stranger = chat.other(sender=Sender(wa_id=None, meta_user_id="US.999"))
    assert await stranger.texts("Hi") == [texts.NO_ACCOUNT]


# --- authEvents ----------------------------------------------------------------------------------------


async def test_staff_see_their_tenants_auth_events_newest_first(gql: GraphQLClient, chat: Chat) -> None:
    sarah = await create_customer(gql, chat.owner, name="Sarah Jones", email="sarah@example.com", phone=PHONE)
    (reply,) = await chat.say("Hi")
    await chat.say("000000" if code_of(reply) != "000000" else "111111")
    await chat.say(code_of(reply))
    await chat.say("log out")

    token = await staff_token(gql, chat.owner, "STAFF")
    result = await gql.op("AuthEvents", {"first": 10}, token=token)
    assert not result.errors, result.errors
    nodes = [e["node"] for e in result.data["authEvents"]["edges"]]
    assert [n["kind"] for n in nodes] == ["LOGGED_OUT", "VERIFIED", "CODE_FAILED", "CODE_SENT"]
    assert {n["phone"] for n in nodes} == {PHONE}
    assert {n["customer"]["id"] for n in nodes} == {sarah["id"]}
    assert all(code_of(reply) not in str(n) for n in nodes)

    # Another business sees none of them; anonymous callers are refused.
    other = await sign_up(gql, slug="other-studio", email="owner@other.example.com")
    theirs = await gql.op("AuthEvents", {"first": 10}, token=other.access_token)
    assert theirs.data["authEvents"]["edges"] == []
    anonymous = await gql.op("AuthEvents", {"first": 10})
    assert anonymous.error_codes == ["UNAUTHENTICATED"]


async def test_auth_events_page(gql: GraphQLClient, chat: Chat) -> None:
    await create_customer(gql, chat.owner, name="Sarah Jones", email="sarah@example.com", phone=PHONE)
    for _ in range(3):
        await chat.say("verify")
    first = await gql.op("AuthEvents", {"first": 2}, token=chat.owner.access_token)
    assert len(first.data["authEvents"]["edges"]) == 2
    too_many = await gql.op("AuthEvents", {"first": 1000}, token=chat.owner.access_token)
    assert too_many.error_codes == ["BAD_USER_INPUT"]


@pytest.mark.parametrize(
    ("answer", "erased"), [("ok", True), ("Sure!", True), ("nope", False), ("cancel", False)]
)
async def test_erasing_knows_the_same_yes_and_no_as_a_booking(chat: Chat, answer: str, erased: bool) -> None:
    # One vocabulary: "ok" confirms an erasure as it confirms a booking; "cancel" stops both.
    await create_customer(chat.gql, chat.owner, name="Sarah Jones", email="sarah@example.com", phone=PHONE)
    await _messages(chat, WA_ID, 2)
    await chat.verify()
    await chat.say("delete my messages")
    assert await chat.texts(answer) == [texts.ERASED if erased else texts.ERASE_CANCELLED]
    assert len(await rows(chat.gql, Message)) == (0 if erased else 2)
