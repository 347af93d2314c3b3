"""Every dialogue of the help centre's "WhatsApp Authentication & Security", word for word, and the states
around them (issue 5)."""

from __future__ import annotations

from datetime import timedelta

from bizzly import clock
from domain.assistant import public, texts
from domain.assistant.messages import ChannelInfo, Sender
from domain.assistant.models import AssistantSession, ConversationState, VerificationCode
from tests.domain.assistant.conftest import (
    PHONE,
    Chat,
    as_stored_before,
    code_of,
    event_kinds,
    rows,
    snapshot,
    wrong,
)
from tests.support.customers import create_customer, row_id
from tests.support.graphql import GraphQLClient

SARAH_AND_TOM = (
    "Multiple accounts found for this phone number:\n"
    "\n"
    "1. Sarah Jones (sarah@example.com)\n"
    "2. Tom Jones (tom@example.com)\n"
    "\n"
    "Which profile would you like to use?"
)


async def _sarah(chat: Chat) -> str:
    customer = await create_customer(
        chat.gql, chat.owner, name="Sarah Jones", email="sarah@example.com", phone=PHONE
    )
    return str(customer["id"])


async def _sarah_and_tom(chat: Chat) -> tuple[str, str]:
    sarah = await _sarah(chat)
    tom = await create_customer(chat.gql, chat.owner, name="Tom Jones", email="tom@example.com", phone=PHONE)
    return sarah, str(tom["id"])


# --- single account ------------------------------------------------------------------------------------


async def test_single_account_hi_code_verified(chat: Chat) -> None:
    sarah = await _sarah(chat)
    (reply,) = await chat.say("Hi")
    code = code_of(reply)
    assert reply.text == f"Your verification code is: {code}\nThis code expires in 10 minutes."
    assert reply.kind == "text"
    assert reply.code_template is None
    assert reply.log_text == "Your verification code is: ••••••\nThis code expires in 10 minutes."

    assert await chat.texts(code) == ["You're now verified! How can I help you today?"]
    (session,) = await rows(chat.gql, AssistantSession)
    assert session.customer_id == row_id(sarah)
    assert session.expires_at - session.started_at == timedelta(hours=24)
    assert await event_kinds(chat.gql) == ["CODE_SENT", "VERIFIED"]
    # Verified: the next message is answered, no new code.
    (after,) = await chat.say("Hi again")
    assert not after.holds_code
    assert chat.handler.calls == [(row_id(sarah), "Hi again")]


async def test_the_tenants_authentication_template_carries_the_code(chat: Chat) -> None:
    await _sarah(chat)
    templated = chat.other(channel=ChannelInfo(otp_template_name="bizzly_otp"))
    (reply,) = await templated.say("Hi")
    code = code_of(reply)
    assert reply.code_template is not None
    assert (reply.code_template.name, reply.code_template.code) == ("bizzly_otp", code)
    assert reply.code_template.expires_minutes == 10
    assert await templated.texts(code) == [texts.VERIFIED]


async def test_the_code_is_six_random_digits(chat: Chat) -> None:
    await _sarah(chat)
    codes = set()
    for _ in range(5):
        codes.add(code_of((await chat.say("verify"))[0]))
    assert len(codes) >= 4  # five draws from a million collide with negligible probability


# --- several accounts ----------------------------------------------------------------------------------


async def test_several_accounts_are_listed_and_chosen_by_number(chat: Chat) -> None:
    sarah, _ = await _sarah_and_tom(chat)
    (listing,) = await chat.say("Hi")
    assert listing.text == SARAH_AND_TOM
    assert listing.kind == "list"
    assert [(c.title, c.description) for c in listing.choices] == [
        ("Sarah Jones", "sarah@example.com"),
        ("Tom Jones", "tom@example.com"),
    ]
    (reply,) = await chat.say("1")
    code = code_of(reply)
    assert await chat.texts(code) == [texts.VERIFIED]
    (session,) = await rows(chat.gql, AssistantSession)
    assert session.customer_id == row_id(sarah)


async def test_a_profile_is_chosen_by_name_case_insensitively(chat: Chat) -> None:
    sarah, _ = await _sarah_and_tom(chat)
    await chat.say("Hi")
    (reply,) = await chat.say("sarah")
    assert reply.text.startswith("Your verification code is: ")
    await chat.say(code_of(reply))
    (session,) = await rows(chat.gql, AssistantSession)
    assert session.customer_id == row_id(sarah)


async def test_a_profile_is_chosen_by_email(chat: Chat) -> None:
    _, tom = await _sarah_and_tom(chat)
    await chat.say("Hi")
    (reply,) = await chat.say("TOM@example.com")
    await chat.say(code_of(reply))
    (session,) = await rows(chat.gql, AssistantSession)
    assert session.customer_id == row_id(tom)


async def test_a_profile_is_chosen_from_the_interactive_list(chat: Chat) -> None:
    _, tom = await _sarah_and_tom(chat)
    (listing,) = await chat.say("Hi")
    (reply,) = await chat.tap(listing.choices[1].id, listing.choices[1].title)
    await chat.say(code_of(reply))
    (session,) = await rows(chat.gql, AssistantSession)
    assert session.customer_id == row_id(tom)


async def test_an_ambiguous_name_asks_again(chat: Chat) -> None:
    await _sarah_and_tom(chat)
    await create_customer(chat.gql, chat.owner, name="Sarah Smith", email="smith@example.com", phone=PHONE)
    await chat.say("Hi")
    before = await snapshot(chat.gql)
    (reply,) = await chat.say("Sarah")
    assert reply.text == texts.AMBIGUOUS_NAME.format(name="Sarah")
    assert await snapshot(chat.gql) == before
    (reply,) = await chat.say("sarah smith")
    assert reply.holds_code


async def test_no_match_repeats_the_list_and_a_public_question_keeps_the_choice_pending(chat: Chat) -> None:
    await _sarah_and_tom(chat)
    await chat.say("Hi")
    before = await snapshot(chat.gql)
    assert await chat.texts("Harry") == [texts.PICK_AGAIN, SARAH_AND_TOM]
    assert await chat.texts("What services do you offer?") == [public.NO_SERVICES]
    assert await snapshot(chat.gql) == before
    assert (await chat.say("2"))[0].holds_code


async def test_a_profile_choice_stored_by_an_older_release_continues(chat: Chat) -> None:
    # Stored before verification and dialogue steps were one enum, a profile choice says "choose".
    sarah, _ = await _sarah_and_tom(chat)
    assert await chat.texts("Hi") == [SARAH_AND_TOM]
    await as_stored_before(chat.gql, step="choose")
    (reply,) = await chat.say("1")
    assert await chat.texts(code_of(reply)) == [texts.VERIFIED]
    (session,) = await rows(chat.gql, AssistantSession)
    assert session.customer_id == row_id(sarah)


# --- no account ----------------------------------------------------------------------------------------


async def test_no_account(chat: Chat) -> None:
    assert await chat.texts("Hi") == [
        "No account found for this phone number. Please ensure your phone number is registered with your "
        "account on our website."
    ]
    assert await rows(chat.gql, VerificationCode) == []
    assert await rows(chat.gql, ConversationState) == []


async def test_another_phone_reaches_nobody_elses_account(chat: Chat) -> None:
    await _sarah(chat)
    stranger = chat.other(sender=Sender(wa_id="447700900999", phone_e164="+447700900999"))
    assert await stranger.texts("Hi") == [texts.NO_ACCOUNT]


# --- codes ---------------------------------------------------------------------------------------------


async def test_a_wrong_code(chat: Chat) -> None:
    await _sarah(chat)
    code = code_of((await chat.say("Hi"))[0])
    assert await chat.texts(wrong(code)) == [
        "Invalid or expired code. Please try again or request a new code."
    ]
    assert await chat.texts(code) == [texts.VERIFIED]
    assert await event_kinds(chat.gql) == ["CODE_SENT", "CODE_FAILED", "VERIFIED"]


async def test_three_wrong_codes_then_the_right_one_is_refused(chat: Chat) -> None:
    await _sarah(chat)
    code = code_of((await chat.say("Hi"))[0])
    for n in (1, 2, 3):
        assert await chat.texts(wrong(code, n)) == [texts.INVALID_CODE]
    assert await chat.texts(code) == [texts.INVALID_CODE]
    assert await chat.texts(code) == [texts.INVALID_CODE]  # the same reply for every later attempt
    assert await rows(chat.gql, AssistantSession) == []
    kinds = await event_kinds(chat.gql)
    assert kinds.count("LOCKED") == 1
    assert "VERIFIED" not in kinds
    # "verify" brings a fresh code that works.
    fresh = code_of((await chat.say("verify"))[0])
    assert await chat.texts(fresh) == [texts.VERIFIED]


async def test_verify_issues_a_fresh_code_and_kills_the_old_one(chat: Chat) -> None:
    await _sarah(chat)
    old = code_of((await chat.say("Hi"))[0])
    issued = [code_of((await chat.say(spelling))[0]) for spelling in ("VERIFY", "Verify!", "verify.")]
    fresh = issued[-1]
    # Only the newest code is alive: every older one is refused (unless it happens to be the same digits).
    for dead in [old, *issued[:-1]]:
        if dead != fresh:
            assert await chat.texts(dead) == [texts.INVALID_CODE]
            break
    assert await chat.texts(fresh) == [texts.VERIFIED]
    assert len([c for c in await rows(chat.gql, VerificationCode) if c.dead_at is not None]) == 3


async def test_a_code_expires_after_ten_minutes(chat: Chat) -> None:
    await _sarah(chat)
    code = code_of((await chat.say("Hi"))[0])
    clock.advance(timedelta(minutes=10))
    assert await chat.texts(code) == [texts.INVALID_CODE]
    fresh = code_of((await chat.say("verify"))[0])
    clock.advance(timedelta(minutes=9, seconds=59))
    assert await chat.texts(fresh) == [texts.VERIFIED]


async def test_a_code_is_used_once(chat: Chat) -> None:
    await _sarah(chat)
    code = await chat.verify()
    assert await chat.texts("log out") == [texts.LOGGED_OUT]
    fresh = code_of((await chat.say("Hi"))[0])
    if fresh != code:
        assert await chat.texts(code) == [texts.INVALID_CODE]
    used = [c for c in await rows(chat.gql, VerificationCode) if c.used_at is not None]
    assert len(used) == 1


async def test_while_a_code_is_pending_other_text_gets_a_reminder_and_public_questions_an_answer(
    chat: Chat,
) -> None:
    await _sarah(chat)
    code = code_of((await chat.say("Hi"))[0])
    assert await chat.texts("hello?") == [texts.ENTER_CODE]
    assert await chat.texts("What are your prices?") == [public.NO_SERVICES]
    assert len(await rows(chat.gql, VerificationCode)) == 1  # no new code
    assert await chat.texts(code) == [texts.VERIFIED]


# --- sessions ------------------------------------------------------------------------------------------


async def test_log_out(chat: Chat) -> None:
    await _sarah(chat)
    await chat.verify()
    assert await chat.texts("log out") == [
        "You've been logged out. Send a message anytime to start a new session."
    ]
    (session,) = await rows(chat.gql, AssistantSession)
    assert (session.end_reason, session.ended_at is not None) == ("logged_out", True)
    # A new session, not an "expired" one.
    (reply,) = await chat.say("Hi")
    assert reply.holds_code
    assert await event_kinds(chat.gql) == ["CODE_SENT", "VERIFIED", "LOGGED_OUT", "CODE_SENT"]


async def test_an_expired_session_is_announced_before_the_new_code(chat: Chat) -> None:
    sarah = await _sarah(chat)
    await chat.verify()
    clock.advance(timedelta(hours=24))
    expired, code_message = await chat.say("Show my bookings")
    assert expired.text == "Your session has expired. For security, please verify your identity again."
    code = code_of(code_message)
    assert chat.handler.calls == []
    assert await chat.texts(code) == [texts.VERIFIED, texts.VERIFIED_MENU]
    assert chat.handler.calls == [(row_id(sarah), "Show my bookings")]
    assert "SESSION_EXPIRED" in await event_kinds(chat.gql)


async def test_a_session_lasts_24_hours(chat: Chat) -> None:
    await _sarah(chat)
    await chat.verify()
    clock.advance(timedelta(hours=23, minutes=59))
    (reply,) = await chat.say("Show my bookings")
    assert reply.text == texts.VERIFIED_MENU


async def test_the_expired_marker_is_announced_once(chat: Chat) -> None:
    await _sarah(chat)
    await chat.verify()
    clock.advance(timedelta(days=2))
    assert len(await chat.say("Hi")) == 2
    clock.advance(timedelta(hours=1))
    assert await chat.texts("Hi") == [texts.ENTER_CODE]
    assert (await event_kinds(chat.gql)).count("SESSION_EXPIRED") == 1


async def test_a_protected_request_from_an_unverified_phone_gets_a_code_then_is_carried_out(
    chat: Chat,
) -> None:
    sarah = await _sarah(chat)
    (reply,) = await chat.say("Show my bookings")
    code = code_of(reply)
    assert chat.handler.calls == []  # never data before verification
    assert await chat.texts(code) == [texts.VERIFIED, texts.VERIFIED_MENU]
    assert chat.handler.calls == [(row_id(sarah), "Show my bookings")]
    # Carried out once: the next message is answered on its own.
    await chat.say("Hi")
    assert chat.handler.calls[-1] == (row_id(sarah), "Hi")


async def test_a_public_question_needs_no_verification(chat: Chat) -> None:
    await _sarah(chat)
    assert await chat.texts("What services do you offer?") == [public.NO_SERVICES]
    assert await rows(chat.gql, VerificationCode) == []


async def test_stop_and_start_work_for_anyone(gql: GraphQLClient, chat: Chat) -> None:
    from domain.assistant.models import WhatsAppOptOut
    from domain.customers.models import Customer
    from domain.privacy.audit import AuditEntry

    stranger = chat.other(sender=Sender(wa_id="447700900999", phone_e164="+447700900999"))
    assert await stranger.texts("STOP") == [texts.OPTED_OUT]
    await _sarah(chat)
    assert await chat.texts("stop") == [texts.OPTED_OUT]
    assert len(await rows(gql, WhatsAppOptOut)) == 2
    (sarah,) = await rows(gql, Customer)
    assert sarah.whatsapp_opted_out
    assert await chat.texts("Start") == [texts.OPTED_IN]
    (sarah,) = await rows(gql, Customer)
    assert not sarah.whatsapp_opted_out
    actions = [e.action for e in await rows(gql, AuditEntry)]
    assert actions.count("whatsapp.opted_out") == 2
    assert "whatsapp.opted_in" in actions
    assert "customer.whatsapp_opted_out" in actions


async def test_after_expiry_a_public_question_is_answered_and_the_marker_kept(chat: Chat) -> None:
    await _sarah(chat)
    await chat.verify()
    clock.advance(timedelta(hours=25))
    assert await chat.texts("What are your opening hours?") == [public.NO_HOURS]
    expired, code_message = await chat.say("Hi")
    assert expired.text == texts.SESSION_EXPIRED
    assert code_message.holds_code


async def test_retention_keeps_the_expired_marker_30_days(chat: Chat) -> None:
    from domain.assistant.service import purge_expired
    from tests.support.customers import tenant_session

    await _sarah(chat)
    await chat.verify()
    clock.advance(timedelta(days=30))
    async with tenant_session(chat.gql, chat.owner) as s:
        assert await purge_expired(s) == 1  # the used code, long past its life
    assert len(await rows(chat.gql, AssistantSession)) == 1  # expired 29 days ago: still a marker
    assert await rows(chat.gql, VerificationCode) == []
    clock.advance(timedelta(days=1, minutes=1))
    async with tenant_session(chat.gql, chat.owner) as s:
        assert await purge_expired(s) == 1  # the session, 30 days after it expired
    assert await rows(chat.gql, AssistantSession) == []
    # Past the marker's life the person is simply new: a code, no "expired".
    (reply,) = await chat.say("Hi")
    assert reply.holds_code
