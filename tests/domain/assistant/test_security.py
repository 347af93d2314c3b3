"""Who may receive a code where, how far guessing can get, and that no code or digest leaks anywhere."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest

from bizzly import clock
from bizzly.outbox import OutboxRow
from domain.assistant import texts
from domain.assistant.messages import Sender
from domain.assistant.models import AssistantSession, AuthEvent, ConversationState, VerificationCode
from domain.assistant.service import CODE_TTL, MAX_ATTEMPTS
from domain.customers.service import current_tenant
from domain.identity.service import upsert_crm_contact
from tests.domain.assistant.conftest import PHONE, Chat, code_of, event_kinds, rows, wrong
from tests.support.accounts import emails_to
from tests.support.customers import create_customer, row_id, tenant_session

CODE_IN_EMAIL = re.compile(r"on WhatsApp is: (\d{6})")


async def _crm_only_sarah(chat: Chat) -> str:
    """Sarah's account has no phone; a CRM contact with her email carries the chat's phone."""
    sarah = await create_customer(chat.gql, chat.owner, name="Sarah Jones", email="sarah@example.com")
    async with tenant_session(chat.gql, chat.owner) as s:
        tenant = await current_tenant(s)
        await upsert_crm_contact(s, tenant=tenant, external_id="hs-1", email="sarah@example.com", phone=PHONE)
    return str(sarah["id"])


async def _emailed_codes(chat: Chat, to: str) -> list[str]:
    found = []
    for payload in await emails_to(chat.services.db, chat.services.keys, to):
        match = CODE_IN_EMAIL.search(payload["text"])
        if match:
            found.append(match.group(1))
    return found


# --- CRM-only accounts ---------------------------------------------------------------------------------


async def test_an_account_reached_only_through_a_crm_contact_gets_its_code_by_email(chat: Chat) -> None:
    sarah = await _crm_only_sarah(chat)
    replies = await chat.say("Hi")
    assert [r.text for r in replies] == [
        "For your security, we've sent your verification code to s***h@example.com. Please enter it here. "
        "It expires in 10 minutes."
    ]
    assert not any(r.holds_code or r.code_template for r in replies)
    (code,) = await _emailed_codes(chat, "sarah@example.com")
    assert all(code not in r.text for r in replies)
    # The email's outbox row is encrypted: the code is not readable at rest.
    (email_row,) = [r for r in await rows(chat.gql, OutboxRow) if r.topic == "email.send"]
    assert email_row.encrypted
    assert code not in email_row.payload

    assert await chat.texts(code) == [texts.VERIFIED]
    (session,) = await rows(chat.gql, AssistantSession)
    assert session.customer_id == row_id(sarah)


async def test_crm_reached_accounts_are_listed_masked_and_never_get_the_code_in_the_chat(chat: Chat) -> None:
    await _crm_only_sarah(chat)
    await create_customer(chat.gql, chat.owner, name="Tom Jones", email="tom@example.com", phone=PHONE)
    (listing,) = await chat.say("Hi")
    # Own-phone accounts first, then the CRM-reached one with its email masked.
    assert listing.text == (
        "Multiple accounts found for this phone number:\n\n"
        "1. Tom Jones (tom@example.com)\n"
        "2. Sarah Jones (s***h@example.com)\n\n"
        "Which profile would you like to use?"
    )
    assert "sarah@example.com" not in str(listing)
    replies = await chat.say("2")
    assert not any(r.holds_code for r in replies)
    assert "s***h@example.com" in replies[0].text
    assert len(await _emailed_codes(chat, "sarah@example.com")) == 1


# --- guessing ------------------------------------------------------------------------------------------


async def test_guessing_cannot_succeed_within_the_limits(chat: Chat) -> None:
    await create_customer(chat.gql, chat.owner, name="Sarah Jones", email="sarah@example.com", phone=PHONE)
    per_hour = chat.services.settings.otp_per_phone_per_hour
    assert (per_hour, MAX_ATTEMPTS, CODE_TTL) == (5, 3, timedelta(minutes=10))

    # An attacker holding the phone uses every code and every attempt the engine allows in an hour.
    guesses = 0
    for issued in range(per_hour):
        code = code_of((await chat.say("verify" if issued else "Hi"))[0])
        for n in range(1, MAX_ATTEMPTS + 1):
            assert await chat.texts(wrong(code, n)) == [texts.INVALID_CODE]
            guesses += 1
        # The code is dead: even the right digits are refused now.
        assert await chat.texts(code) == [texts.INVALID_CODE]
    # A sixth code in the hour is refused, with when to try again.
    (refusal,) = await chat.say("verify")
    assert not refusal.holds_code
    assert re.fullmatch(
        r"You've asked for too many codes\. Please try again in \d+ minutes? \(after \d\d:\d\d UTC\)\.",
        refusal.text,
    ), refusal.text
    assert len(await rows(chat.gql, VerificationCode)) == per_hour
    assert await rows(chat.gql, AssistantSession) == []
    assert (await event_kinds(chat.gql)).count("RATE_LIMITED") == 1
    assert (await event_kinds(chat.gql)).count("LOCKED") == per_hour

    # The bound: each code is one of 10^6, each admits 3 guesses, at most 5 codes an hour. Even guessing
    # all day long, the chance of ever getting in stays below one in a thousand.
    assert guesses == per_hour * MAX_ATTEMPTS == 15
    per_hour_chance = guesses / 10**6
    per_day_chance = 1 - (1 - per_hour_chance) ** 24
    assert per_hour_chance == pytest.approx(1.5e-5)
    assert per_day_chance < 4e-4

    # An hour later issuance resumes (the limit is a window, not a lock-out).
    clock.advance(timedelta(hours=1))
    assert (await chat.say("verify"))[0].holds_code


async def test_the_tenant_ceiling_limits_codes_across_phones(chat: Chat) -> None:
    limited = chat.other(settings_overrides={"otp_per_tenant_per_hour": 2})
    phones = ["+447700900123", "+447700900124", "+447700900125"]
    for i, phone in enumerate(phones):
        await create_customer(
            chat.gql, chat.owner, name=f"Person {i}", email=f"p{i}@example.com", phone=phone
        )
    outcomes = []
    for phone in phones:
        sender = Sender(wa_id=phone.lstrip("+"), phone_e164=phone)
        (reply,) = await limited.other(sender=sender).say("Hi")
        outcomes.append(reply.holds_code)
    assert outcomes == [True, True, False]
    assert (await event_kinds(chat.gql))[-1] == "RATE_LIMITED"


async def test_no_code_or_digest_appears_in_logs_events_state_or_plain_outbox(
    chat: Chat, caplog: pytest.LogCaptureFixture
) -> None:
    await create_customer(chat.gql, chat.owner, name="Sarah Jones", email="sarah@example.com", phone=PHONE)
    await _crm_only_other(chat)
    # Everything the application logs, at every level; libraries at the level production runs (a driver's
    # DEBUG echo of bound parameters is never on in production).
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="bizzly")
    secrets: list[str] = []
    code = code_of((await chat.say("Show my bookings"))[0])
    secrets.append(code)
    await chat.say(wrong(code))
    code = code_of((await chat.say("verify"))[0])
    secrets.append(code)
    await chat.say(code)
    other = chat.other(sender=Sender(wa_id="447700900200", phone_e164="+447700900200"))
    await other.say("Hi")
    secrets += await _emailed_codes(chat, "carol@example.com")
    digests = [c.code_hmac for c in await rows(chat.gql, VerificationCode)]
    assert len(secrets) == 3
    assert len(digests) == 3
    assert all(len(d) == 64 and d not in secrets for d in digests)

    haystacks = [caplog.text]
    haystacks += [repr(vars(e)) for e in await rows(chat.gql, AuthEvent)]
    haystacks += [s.state for s in await rows(chat.gql, ConversationState)]
    haystacks += [r.payload for r in await rows(chat.gql, OutboxRow)]  # plain or ciphertext, never the code
    haystacks += [repr(vars(s)) for s in await rows(chat.gql, AssistantSession)]
    for text in haystacks:
        for secret in [*secrets, *digests]:
            assert secret not in text
    # The log did record the steps (so the check above looked at something).
    assert "CODE_SENT" in caplog.text


async def _crm_only_other(chat: Chat) -> None:
    await create_customer(chat.gql, chat.owner, name="Carol Crm", email="carol@example.com")
    async with tenant_session(chat.gql, chat.owner) as s:
        tenant = await current_tenant(s)
        await upsert_crm_contact(
            s, tenant=tenant, external_id="hs-2", email="carol@example.com", phone="+447700900200"
        )


async def test_a_code_works_only_for_the_conversation_it_was_sent_to(chat: Chat) -> None:
    await create_customer(chat.gql, chat.owner, name="Sarah Jones", email="sarah@example.com", phone=PHONE)
    await create_customer(chat.gql, chat.owner, name="Bob", email="bob@example.com", phone="+447700900124")
    code = code_of((await chat.say("Hi"))[0])
    bob = chat.other(sender=Sender(wa_id="447700900124", phone_e164="+447700900124"))
    bob_code = code_of((await bob.say("Hi"))[0])
    if bob_code != code:
        assert await bob.texts(code) == [texts.INVALID_CODE]
    assert await chat.texts(code) == [texts.VERIFIED]
    (session,) = await rows(chat.gql, AssistantSession)
    assert session.user_key == "447700900123"
