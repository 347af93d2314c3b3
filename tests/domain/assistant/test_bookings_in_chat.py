"""A verified customer books, sees, cancels and moves bookings and checks subscriptions in chat (issue 6):
straight through ``handle_message`` with the default assistant, each message in its own transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bizzly import clock
from bizzly.errors import NotFound
from domain.assistant import dialogue, service, tools, understanding
from domain.assistant.messages import Inbound, Reply
from domain.privacy.audit import AuditEntry
from domain.scheduling.models import Booking
from tests.domain.assistant.conftest import PHONE, Chat, as_stored_before, rows
from tests.support.customers import create_customer, row_id
from tests.support.graphql import GraphQLClient
from tests.support.scheduling import book, create_service, local, ok, set_hours, update_settings

ZONE = ZoneInfo("Europe/London")


@dataclass
class AssistantChat(Chat):
    """The chat with the default assistant (no recording hook)."""

    async def send(self, inbound: Inbound) -> list[Reply]:
        services = self.services
        async with services.db.tenant_session(self.tenant_id, write=True) as s, s.begin():
            return await service.handle_message(
                s,
                tenant_id=self.tenant_id,
                sender=self.sender,
                inbound=inbound,
                channel=self.channel,
                keys=services.keys,
                settings=services.settings,
            )


@dataclass
class Shop:
    chat: AssistantChat
    sarah: str
    haircut: str
    massage: str

    @property
    def token(self) -> str:
        return self.chat.owner.access_token


def tomorrow() -> date:
    return clock.now().astimezone(ZONE).date() + timedelta(days=1)


@pytest.fixture
async def shop(chat: Chat) -> Shop:
    talk = AssistantChat(gql=chat.gql, owner=chat.owner)
    token = chat.owner.access_token
    await set_hours(chat.gql, token)
    haircut = await create_service(chat.gql, token, name="Haircut", duration=60, capacity=1)
    massage = await create_service(chat.gql, token, name="Deep Tissue Massage", duration=30, amount=4000)
    sarah = await create_customer(
        chat.gql, chat.owner, name="Sarah Jones", email="sarah@example.com", phone=PHONE
    )
    await talk.verify()
    return Shop(chat=talk, sarah=str(sarah["id"]), haircut=str(haircut["id"]), massage=str(massage["id"]))


async def bookings(gql: GraphQLClient) -> list[Booking]:
    return list(await rows(gql, Booking))


async def test_booking_in_one_sentence_goes_through_scheduling_as_whatsapp(shop: Shop) -> None:
    day = tomorrow()
    (confirm,) = await shop.chat.say("Book a haircut tomorrow at 10am")
    assert confirm.text.startswith(f"Book Haircut on {day:%A} {day.day} {day:%B} at 10:00 (GBP 25.00)?")
    assert [c.id for c in confirm.choices] == ["d:yes", "d:no"]
    assert await bookings(shop.chat.gql) == []  # nothing until "yes"
    (done,) = await shop.chat.texts("yes")
    assert done == f"Booked: Haircut on {day:%A} {day.day} {day:%B} at 10:00. See you then!"
    (booking,) = await bookings(shop.chat.gql)
    assert (booking.customer_id, booking.source, booking.status) == (
        row_id(shop.sarah),
        "WHATSAPP",
        "CONFIRMED",
    )
    assert booking.starts_at == local(day, 10)
    created = [e for e in await rows(shop.chat.gql, AuditEntry) if e.action == "booking.created"]
    assert [(e.actor, e.subject_id) for e in created] == [(f"whatsapp:{PHONE}", booking.id)]
    assert await shop.chat.texts("my bookings") == [
        f"Your upcoming bookings:\n1. Haircut — {day:%A} {day.day} {day:%B} at 10:00"
    ]


async def test_booking_step_by_step_with_a_list_of_free_times(shop: Shop) -> None:
    day = tomorrow()
    (which,) = await shop.chat.say("I'd like to make an appointment")
    assert which.text.startswith(
        "Which service would you like?\n1. Deep Tissue Massage (GBP 40.00, 30 min)\n"
    )
    assert which.kind == "list"
    (when,) = await shop.chat.texts("2")
    # The examples are days still to come (it once offered "28/11" in December).
    today = clock.now().astimezone(ZONE).date()
    later, week = today + timedelta(days=4), today + timedelta(days=7)
    assert when == (f"Which day would you like Haircut? (e.g. tomorrow, {later:%A}, {week.day}/{week.month})")
    (times,) = await shop.chat.say("tomorow")
    assert times.text.splitlines()[:3] == [
        f"Free Haircut times on {day:%A} {day.day} {day:%B} (19 more later that day):",
        "1. 09:00",
        "2. 09:15",
    ]
    assert (times.choices[1].id, times.choices[1].title) == ("d:2", "09:15")
    # A tap on the list's row is the same as typing its number.
    (confirm,) = await shop.chat.tap("d:2", "09:15")
    assert confirm.text.startswith(f"Book Haircut on {day:%A} {day.day} {day:%B} at 09:15")
    (done,) = await shop.chat.tap("d:yes", "Yes")
    assert done.text.startswith("Booked: Haircut")
    (booking,) = await bookings(shop.chat.gql)
    assert booking.starts_at == local(day, 9, 15)


async def test_a_full_time_is_never_offered_nor_booked(shop: Shop) -> None:
    day = tomorrow()
    other = await create_customer(shop.chat.gql, shop.chat.owner, name="Tom Other", email="tom@example.com")
    taken = await book(
        shop.chat.gql,
        shop.token,
        service_id=shop.haircut,
        starts_at=local(day, 10),
        customer_id=str(other["id"]),
    )
    assert taken["errors"] == []
    (times,) = await shop.chat.texts("book haircut tomorrow")
    # 09:00 and 09:30 overlap the 10:00 hour-long booking too: capacity 1.
    assert "10:00" not in times
    assert "09:30" not in times
    assert "\n1. 09:00\n2. 11:00\n" in times
    (refused,) = await shop.chat.texts("book a haircut tomorrow at 10")
    assert refused.startswith(f"Sorry, 10:00 isn't free for Haircut on {day:%A} {day.day} {day:%B}.\n")
    assert len(await bookings(shop.chat.gql)) == 1


async def test_cancelling_chooses_among_several_and_confirms(shop: Shop) -> None:
    day = tomorrow() + timedelta(days=2)
    for hour in (10, 14):
        await shop.chat.say(f"book haircut {day.day}/{day.month} at {hour}:00")
        await shop.chat.say("yes")
    assert [b.status for b in await bookings(shop.chat.gql)] == ["CONFIRMED", "CONFIRMED"]
    (which,) = await shop.chat.say("cancle my apointment")
    assert which.text.startswith("Which booking would you like to cancel?\n1. Haircut — ")
    assert f"2. Haircut — {day:%A} {day.day} {day:%B} at 14:00" in which.text
    (confirm,) = await shop.chat.texts("2")
    assert confirm.startswith(f"Cancel your Haircut on {day:%A} {day.day} {day:%B} at 14:00?")
    assert await shop.chat.texts("yes") == [
        f"Cancelled: your Haircut on {day:%A} {day.day} {day:%B} at 14:00."
    ]
    by_hour = {b.starts_at.astimezone(ZONE).hour: b.status for b in await bookings(shop.chat.gql)}
    assert by_hour == {10: "CONFIRMED", 14: "CANCELLED"}
    # "no" stops a pending confirmation, nothing changes.
    await shop.chat.say("cancel my booking")
    assert await shop.chat.texts("no") == [dialogue.STOPPED]
    assert {b.status for b in await bookings(shop.chat.gql)} == {"CONFIRMED", "CANCELLED"}


async def test_a_booking_choice_stored_by_an_older_release_continues(shop: Shop) -> None:
    # Stored before verification and dialogue steps were one enum, a booking choice says "choose".
    day = tomorrow() + timedelta(days=2)
    for hour in (10, 14):
        await shop.chat.say(f"book haircut {day.day}/{day.month} at {hour}:00")
        await shop.chat.say("yes")
    (which,) = await shop.chat.say("cancel my booking")
    assert which.text.startswith("Which booking would you like to cancel?")
    await as_stored_before(shop.chat.gql, dialogue_step="choose")
    (confirm,) = await shop.chat.texts("2")
    assert confirm.startswith(f"Cancel your Haircut on {day:%A} {day.day} {day:%B} at 14:00?")


async def test_the_cut_off_refuses_a_late_cancellation_with_its_reason(shop: Shop) -> None:
    await update_settings(shop.chat.gql, shop.token, cancellationCutoffHours=48)
    await shop.chat.say("book a haircut tomorrow at 11am")
    await shop.chat.say("yes")
    await shop.chat.say("cancel")
    assert await shop.chat.texts("yes") == [
        "Sorry, I couldn't cancel that booking: Bookings can be cancelled up to 48 hours before they start. "
        "Please contact Jones Studio to change this one."
    ]
    assert [b.status for b in await bookings(shop.chat.gql)] == ["CONFIRMED"]


async def test_rescheduling_moves_the_booking(shop: Shop) -> None:
    day = tomorrow() + timedelta(days=2)  # past the 24-hour cut-off
    await shop.chat.say(f"book a haircut {day.day}/{day.month} at 10am")
    await shop.chat.say("yes")
    (confirm,) = await shop.chat.texts(f"can I move my booking to 3pm on {day:%A}")
    on_day = f"{day:%A} {day.day} {day:%B}"
    assert confirm.startswith(f"Move your Haircut from {on_day} at 10:00 to {on_day} at 15:00?")
    assert await shop.chat.texts("yes") == [
        f"Moved: your Haircut is now on {day:%A} {day.day} {day:%B} at 15:00."
    ]
    (booking,) = await bookings(shop.chat.gql)
    assert booking.starts_at == local(day, 15)
    assert "booking.rescheduled" in [e.action for e in await rows(shop.chat.gql, AuditEntry)]


async def test_subscriptions_and_a_booking_past_the_quota(shop: Shop) -> None:
    gql, token = shop.chat.gql, shop.token
    plan = ok(
        await gql.op(
            "CreatePlan",
            {
                "input": {
                    "name": "Monthly cut",
                    "quota": 1,
                    "period": "MONTH",
                    "price": {"amount": 3000, "currency": "GBP"},
                    "serviceIds": [shop.haircut],
                }
            },
            token=token,
        ),
        "createPlan",
    )["plan"]
    ok(
        await gql.op(
            "SubscribeCustomer", {"input": {"customerId": shop.sarah, "planId": plan["id"]}}, token=token
        ),
        "subscribeCustomer",
    )
    (subs,) = await shop.chat.texts("how many sessions do I have left?")
    assert subs.startswith("Your subscriptions:\n- Monthly cut: 1 of 1 left this month (renews ")
    day = tomorrow() + timedelta(days=1)
    first = day if day.month == (day + timedelta(days=1)).month else day + timedelta(days=2)
    await shop.chat.say(f"book haircut {first.day}/{first.month} at 10am")
    assert (await shop.chat.texts("yes"))[0].startswith("Booked:")
    assert (await shop.chat.texts("my subscriptions"))[0].startswith(
        "Your subscriptions:\n- Monthly cut: 0 of 1 left"
    )
    await shop.chat.say(f"book haircut {first.day}/{first.month} at 2pm")
    (refused,) = await shop.chat.texts("yes")
    assert refused.startswith(
        "Sorry, I couldn't book that: The Monthly cut plan has no bookings left for that month"
    )
    assert len(await bookings(shop.chat.gql)) == 1  # the refused booking left no row behind


async def test_a_pending_step_survives_a_new_worker_but_expires(shop: Shop) -> None:
    await shop.chat.say("book a haircut tomorrow at 10am")
    # Each message is its own transaction and object: the pending step is in the database.
    clock.advance(dialogue.PENDING_TTL + timedelta(minutes=1))
    (reply,) = await shop.chat.texts("yes")
    assert reply.startswith("Sorry, I didn't understand that.")
    assert await bookings(shop.chat.gql) == []


async def test_a_stranger_cannot_book_and_the_request_waits_for_the_code(chat: Chat) -> None:
    talk = AssistantChat(gql=chat.gql, owner=chat.owner)
    await set_hours(chat.gql, chat.owner.access_token)
    await create_service(chat.gql, chat.owner.access_token, name="Haircut")
    await create_customer(chat.gql, chat.owner, name="Sarah Jones", email="sarah@example.com", phone=PHONE)
    (code,) = await talk.say("book a haircut tomorrow at 10am")
    assert code.holds_code
    digits = code.text.split(": ")[1][:6]
    verified, confirm = await talk.texts(digits)
    assert confirm.startswith("Book Haircut on ")
    assert await bookings(chat.gql) == []


async def test_a_strangers_request_in_everyday_words_continues_after_the_code(chat: Chat) -> None:
    # No "book" in it: a day and a time are enough to be a request, kept while the code is entered.
    talk = AssistantChat(gql=chat.gql, owner=chat.owner)
    await set_hours(chat.gql, chat.owner.access_token)
    await create_service(chat.gql, chat.owner.access_token, name="Haircut")
    await create_service(chat.gql, chat.owner.access_token, name="Colour")
    await create_customer(chat.gql, chat.owner, name="Sarah Jones", email="sarah@example.com", phone=PHONE)
    day = tomorrow()
    (code,) = await talk.say("Can I come in tomorrow at quarter to 3 in the afternoon?")
    assert code.holds_code
    digits = code.text.split(": ")[1][:6]
    verified, which = await talk.texts(digits)
    assert verified == "You're now verified! How can I help you today?"
    assert which.startswith(f"Which service would you like on {on(day)} at 14:45?\n")
    (confirm,) = await talk.texts("colour")
    assert confirm.startswith(f"Book Colour on {on(day)} at 14:45")


async def test_unknown_text_gets_the_help_message(shop: Shop) -> None:
    assert await shop.chat.texts("blorp zzz") == [dialogue.HELP]


# --- the tool layer's policy ---------------------------------------------------------------------------


async def _ctx_call(shop: Shop, customer: uuid.UUID | None, name: str, args: dict[str, Any]) -> Any:
    services = shop.chat.services
    async with services.db.tenant_session(shop.chat.tenant_id, write=True) as s, s.begin():
        ctx = tools.ToolContext(session=s, customer_id=customer, actor="whatsapp:test")
        return await tools.call(ctx, name, args, zone=ZONE)


async def test_verified_tools_refuse_without_an_account_and_undeclared_arguments(shop: Shop) -> None:
    for name in ("list_my_bookings", "get_my_subscriptions", "erase_my_messages"):
        with pytest.raises(tools.ToolRefused):
            await _ctx_call(shop, None, name, {})
    with pytest.raises(tools.ToolRefused):
        await _ctx_call(
            shop,
            None,
            "create_booking",
            {"service_id": row_id(shop.haircut), "starts_at": "2030-01-01T10:00"},
        )
    with pytest.raises(tools.ToolRefused, match="customer_id"):
        await _ctx_call(shop, row_id(shop.sarah), "list_my_bookings", {"customer_id": str(uuid.uuid4())})
    with pytest.raises(tools.ToolRefused):
        await _ctx_call(shop, row_id(shop.sarah), "drop_tables", {})
    assert await bookings(shop.chat.gql) == []


async def test_another_customers_booking_is_not_found_whatever_the_id(shop: Shop) -> None:
    other = await create_customer(shop.chat.gql, shop.chat.owner, name="Tom Other", email="tom@example.com")
    theirs = await book(
        shop.chat.gql,
        shop.token,
        service_id=shop.haircut,
        starts_at=local(tomorrow() + timedelta(days=3), 10),
        customer_id=str(other["id"]),
    )
    booking_id = str(row_id(theirs["booking"]["id"]))
    for name, args in (
        ("cancel_booking", {"booking_id": booking_id}),
        (
            "reschedule_booking",
            {"booking_id": booking_id, "starts_at": local(tomorrow() + timedelta(days=3), 14).isoformat()},
        ),
    ):
        with pytest.raises(NotFound):
            await _ctx_call(shop, row_id(shop.sarah), name, args)
    (booking,) = await bookings(shop.chat.gql)
    assert (booking.status, booking.starts_at) == ("CONFIRMED", local(tomorrow() + timedelta(days=3), 10))
    assert await _ctx_call(shop, row_id(shop.sarah), "list_my_bookings", {}) == []


# --- every question can be answered, in context (issue 16) ---------------------------------------------


def on(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B}"


async def test_a_day_part_narrows_the_offer_and_the_service_question_can_be_answered(shop: Shop) -> None:
    day = tomorrow()
    (which,) = await shop.chat.texts("is there anything free tomorrow afternoon?")
    assert which.startswith(f"Which service would you like on {on(day)} in the afternoon?\n1. ")
    (times,) = await shop.chat.texts("haircut")
    assert times.splitlines()[:3] == [
        f"Free Haircut times in the afternoon on {on(day)} (7 more later that day):",
        "1. 12:00",
        "2. 12:15",
    ]
    (direct,) = await shop.chat.texts("haircut tomorrow afternoon")
    assert direct.splitlines()[1] == "1. 12:00"
    assert "09:00" not in direct


async def test_a_taken_time_offers_the_nearest_free_times_first(shop: Shop) -> None:
    day = tomorrow()
    other = await create_customer(shop.chat.gql, shop.chat.owner, name="Tom Other", email="tom@example.com")
    taken = await book(
        shop.chat.gql,
        shop.token,
        service_id=shop.haircut,
        starts_at=local(day, 13),
        customer_id=str(other["id"]),
    )
    assert taken["errors"] == []
    (times,) = await shop.chat.texts("book a haircut tomorrow at 1pm")
    lines = times.splitlines()
    assert lines[0] == f"Sorry, 13:00 isn't free for Haircut on {on(day)}."
    # An hour-long haircut from 12:15 to 13:45 would overlap; then the nearest, earlier one first on a tie.
    assert lines[1] == "The nearest free times (12 more that day):"
    assert lines[2:6] == ["1. 12:00", "2. 14:00", "3. 11:45", "4. 14:15"]


async def test_a_follow_up_that_changes_only_the_time_keeps_the_day_and_service(shop: Shop) -> None:
    day = tomorrow() + timedelta(days=1)
    (confirm,) = await shop.chat.texts(f"book a massage on {day:%A} at 10am")
    assert confirm.startswith(f"Book Deep Tissue Massage on {on(day)} at 10:00")
    (again,) = await shop.chat.texts("Can you try again? Make it for 12:30 pm.")
    assert again.startswith(f"Book Deep Tissue Massage on {on(day)} at 12:30")
    (prefer,) = await shop.chat.texts("No, I prefer at 10:30, please")
    assert prefer.startswith(f"Book Deep Tissue Massage on {on(day)} at 10:30")
    # One that changes only the day keeps the time.
    later = day + timedelta(days=1)
    (moved,) = await shop.chat.texts(f"Actually, make it {later:%A} instead.")
    assert moved.startswith(f"Book Deep Tissue Massage on {on(later)} at 10:30")
    # A polite or unrelated clause changes nothing.
    (same,) = await shop.chat.texts("Oh, I forgot I have a meeting then.")
    assert same == moved
    assert await shop.chat.texts("no") == [dialogue.STOPPED]
    assert await bookings(shop.chat.gql) == []


async def test_a_time_without_a_day_asks_for_the_day_and_keeps_the_time(shop: Shop) -> None:
    day = tomorrow()
    (which,) = await shop.chat.texts("I'd like a haircut at quarter to 3 in the afternoon")
    assert which.startswith("Which day would you like Haircut at 14:45? (e.g. tomorrow, ")
    (confirm,) = await shop.chat.texts("tomorrow")
    assert confirm.startswith(f"Book Haircut on {on(day)} at 14:45")
    (done,) = await shop.chat.texts("yes")
    assert done.startswith("Booked: Haircut")
    (booking,) = await bookings(shop.chat.gql)
    assert booking.starts_at == local(day, 14, 45)


async def test_questions_about_openings_lead_into_booking_and_name_the_date(shop: Shop) -> None:
    day = tomorrow() + timedelta(days=3)
    (which,) = await shop.chat.texts(f"Can you check if there are any openings on {day:%B} {day.day}th?")
    assert which.startswith(f"Which service would you like on {on(day)}?")
    (times,) = await shop.chat.texts("See if there is anything available at 15:45.")
    assert times.startswith(f"Which service would you like on {on(day)} at 15:45?")


async def test_a_passed_day_is_answered_as_passed(shop: Shop) -> None:
    today = clock.now().astimezone(ZONE).date()
    if today.day == 1:
        pytest.skip("no earlier day in this month")
    passed = today - timedelta(days=1)
    (reply,) = await shop.chat.texts(f"haircut on the {passed.day}th of this month at 10am")
    assert reply == f"{on(passed)} has passed. Which day would you like at 10:00?"
    assert await bookings(shop.chat.gql) == []


@pytest.mark.parametrize(
    "text",
    [
        "Can you call me a cab for tomorrow at 5?",
        "I want to watch a movie tonight",
        "I'd like to find a song in the album Crooked Teeth.",
        "What's the weather like on Saturday?",
    ],
)
async def test_a_request_for_another_business_never_gets_a_slot_or_which_day(shop: Shop, text: str) -> None:
    (reply,) = await shop.chat.texts(text)
    assert reply == dialogue.HELP


async def test_an_intent_is_one_record_and_one_handler(shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    points = understanding.Intent(
        "points",
        lambda heard: "points" in heard.said.split(),
        'your loyalty points ("my points")',
        "get_my_subscriptions",
        ("points",),
    )

    async def handler(assistant: dialogue.Assistant, turn: Any, ask: understanding.Ask) -> list[Reply]:
        return [Reply(text=f"You have 120 points, {ask.intent}.")]

    assert not understanding.is_request("how many points do I have?")
    assert not understanding.protected("points?")
    monkeypatch.setattr(understanding, "INTENTS", (points, *understanding.INTENTS))
    monkeypatch.setitem(dialogue.HANDLERS, "points", handler)
    assert await shop.chat.texts("how many points do I have?") == ["You have 120 points, points."]
    # Derived from the record: the help text lists it, and a stranger's request for it waits for the code.
    (help_text,) = await shop.chat.texts("blorp zzz")
    assert '\n• your loyalty points ("my points")\n' in help_text
    assert understanding.is_request("how many points do I have?")
    # ...and its word is no public question: "points?" is no longer answered as a help search.
    assert understanding.protected("points?")
    assert understanding.understand("points?", names=[], today=tomorrow()).question is None
    # The others are untouched.
    assert (await shop.chat.texts("my bookings")) == [dialogue.NO_BOOKINGS]


async def test_an_ambiguous_next_weekday_is_answered_with_its_concrete_date(shop: Shop) -> None:
    today = clock.now().astimezone(ZONE).date()
    weekday = (today.weekday() + 3) % 7
    coming = today + timedelta(days=(weekday - today.weekday()) % 7 or 7)
    name = f"{coming:%A}"
    (reply,) = await shop.chat.texts(f"I'd like a haircut next {name} at 10am")
    # "next Friday" is the coming one or the one after in English: the date is named, to be corrected.
    assert reply.startswith(f"Book Haircut on {on(coming)} at 10:00")
    (corrected,) = await shop.chat.texts(f"No, {name} next week")
    later = today + timedelta(days=7 - today.weekday() + weekday)
    assert corrected.startswith(f"Book Haircut on {on(later)} at 10:00")
