"""A code for an account whose phone is unproven goes to that account's email, never into the sender's chat;
verifying from the account's own phone proves it (issue 18). The profile list looks as it always did."""

from __future__ import annotations

import re

from domain.assistant import texts
from domain.assistant.models import AssistantSession
from domain.customers.models import Customer, PhoneProof
from tests.domain.assistant.conftest import PHONE, Chat, code_of, rows
from tests.support.accounts import emails_to
from tests.support.customers import create_customer, register, row_id

CODE_IN_EMAIL = re.compile(r"on WhatsApp is: (\d{6})")

MALLORY_CODE_BY_EMAIL = (
    "For your security, we've sent your verification code to m***y@example.com. Please enter it here. "
    "It expires in 10 minutes."
)


async def _emailed_codes(chat: Chat, to: str) -> list[str]:
    sent = await emails_to(chat.services.db, chat.services.keys, to)
    return [m.group(1) for p in sent if (m := CODE_IN_EMAIL.search(p["text"]))]


async def _customer(chat: Chat, customer_id: str) -> Customer:
    found: list[Customer] = [c for c in await rows(chat.gql, Customer) if c.id == row_id(customer_id)]
    return found[0]


async def test_a_website_account_on_someone_elses_phone_never_gets_its_code_in_that_chat(chat: Chat) -> None:
    await register(chat.gql, chat.owner.slug, name="Mallory", email="mallory@example.com", phone=PHONE)
    # Alice, who holds the phone, writes: the only account on it is Mallory's.
    replies = await chat.say("Hi")
    assert [r.text for r in replies] == [MALLORY_CODE_BY_EMAIL]
    assert not any(r.holds_code or r.code_template for r in replies)
    (code,) = await _emailed_codes(chat, "mallory@example.com")
    assert all(code not in r.text for r in replies)
    # Alice cannot guess it: three tries and it is gone; nobody is verified.
    for n in (1, 2, 3):
        assert await chat.texts(f"{(int(code) + n) % 1_000_000:06d}") == [texts.INVALID_CODE]
    assert await chat.texts(code) == [texts.INVALID_CODE]
    assert await rows(chat.gql, AssistantSession) == []


async def test_the_profile_list_is_unchanged_and_only_the_proven_account_gets_its_code_here(
    chat: Chat,
) -> None:
    alice = await create_customer(
        chat.gql, chat.owner, name="Alice Smith", email="alice@example.com", phone=PHONE
    )
    await register(chat.gql, chat.owner.slug, name="Mallory", email="mallory@example.com", phone=PHONE)
    (listing,) = await chat.say("Hi")
    assert listing.text == (
        "Multiple accounts found for this phone number:\n\n"
        "1. Alice Smith (alice@example.com)\n"
        "2. Mallory (mallory@example.com)\n\n"
        "Which profile would you like to use?"
    )
    assert await chat.texts("Mallory") == [MALLORY_CODE_BY_EMAIL]
    assert len(await _emailed_codes(chat, "mallory@example.com")) == 1
    # Alice starts again and picks her own account (its phone entered by staff): the code comes here.
    assert await chat.texts("log out") == [texts.NOT_LOGGED_IN]
    (again,) = await chat.say("Hi")
    assert again.text == listing.text
    (reply,) = await chat.say("1")
    code = code_of(reply)
    assert await chat.texts(code) == [texts.VERIFIED]
    (session,) = await rows(chat.gql, AssistantSession)
    assert session.customer_id == row_id(alice["id"])


async def test_verifying_from_the_accounts_own_phone_proves_it(chat: Chat) -> None:
    sarah = await register(
        chat.gql, chat.owner.slug, name="Sarah Jones", email="sarah@example.com", phone=PHONE
    )
    assert not (await _customer(chat, sarah["customer"]["id"])).phone_proven
    # Unproven: the first code goes to her email; she types it in the chat from her own phone.
    assert [r.holds_code for r in await chat.say("Hi")] == [False]
    (code,) = await _emailed_codes(chat, "sarah@example.com")
    assert await chat.texts(code) == [texts.VERIFIED]
    proven = await _customer(chat, sarah["customer"]["id"])
    assert proven.phone_proven
    assert proven.phone_proven_by == PhoneProof.WHATSAPP.value

    # From now on her codes come into the chat, exactly as the help centre shows.
    assert await chat.texts("log out") == [texts.LOGGED_OUT]
    (reply,) = await chat.say("Hi")
    assert reply.text == f"Your verification code is: {code_of(reply)}\nThis code expires in 10 minutes."
    assert len(await _emailed_codes(chat, "sarah@example.com")) == 1
