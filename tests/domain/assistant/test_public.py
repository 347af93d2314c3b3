"""Public answers: what anyone may ask without verification (services, prices, hours, free slots, help)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest

from bizzly import clock
from domain.assistant import public, tools
from domain.assistant.models import VerificationCode
from domain.assistant.understanding import Question, Topic, understand
from tests.domain.assistant.conftest import Chat, rows
from tests.support.customers import create_customer
from tests.support.graphql import GraphQLClient
from tests.support.scheduling import book, create_service, local, ok, set_hours, slots

NAMES = ["Haircut", "Deep Tissue Massage", "Beard Trim"]
MONDAY = date(2026, 11, 23)
LONDON = ZoneInfo("Europe/London")

A: Topic = "availability"
CASES: list[tuple[str, Question | None]] = [
    ("services", Question("services")),
    ("What services do you offer?", Question("services")),
    ("what do you offer", Question("services")),
    ("servces pls", None),  # a typo in a keyword is not guessed at: the engine's flow carries on
    ("What are your prices?", Question("prices")),
    ("how much is a haircut", Question("prices", "Haircut")),
    ("how much for a hair cut?", Question("prices", "Haircut")),
    ("price of beard trim", Question("prices", "Beard Trim")),
    ("cost massage", Question("prices", "Deep Tissue Massage")),
    ("What are your opening hours?", Question("hours")),
    ("is a haircut free tomorrow?", Question(A, "Haircut", MONDAY + timedelta(days=1))),
    ("any massage slots on Friday?", Question(A, "Deep Tissue Massage", date(2026, 11, 27))),
    ("haircut 28/11", Question(A, "Haircut", date(2026, 11, 28))),
    ("hiarcut tmrw", Question(A, "Haircut", date(2026, 11, 24))),
    ("beard trim next monday", Question(A, "Beard Trim", date(2026, 11, 30))),
    ("beard trim monday", Question(A, "Beard Trim", MONDAY)),
    ("massage availability wednsday", Question(A, "Deep Tissue Massage", date(2026, 11, 25))),
    ("slots for cut hair on 1.12", Question(A, "Haircut", date(2026, 12, 1))),
    ("is the beard trimm free on sat", Question(A, "Beard Trim", date(2026, 11, 28))),
    ("haircut 2026-12-01", Question(A, "Haircut", date(2026, 12, 1))),
    ("TRIM BEARD 5/1", Question(A, "Beard Trim", date(2027, 1, 5))),  # 5 January: next year's
    ("free slots today", Question(A, None, MONDAY)),
    ("haircut 31/02", Question(A, "Haircut", None, bad_date=True)),  # no such date
    ("help with parking?", Question("help")),
    ("hello", None),
    ("can I cancel my booking?", None),  # protected: for the verified side
    ("show my bookings", None),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_understanding(text: str, expected: Question | None) -> None:
    assert understand(text, names=NAMES, today=MONDAY).question == expected


def test_a_day_without_a_year_is_the_next_one_and_a_past_29_february_is_none() -> None:
    assert public.parse_day("28/02", date(2028, 3, 1)) == date(2029, 2, 28)
    assert public.parse_day("29/02", date(2028, 3, 1)) is None  # 2029 has no 29 February
    assert public.parse_day("29/02", date(2028, 2, 1)) == date(2028, 2, 29)


def test_every_public_tool_is_declared_public() -> None:
    assert {name for name, tool in tools.TOOLS.items() if tool.access == "public"} == {
        "list_services",
        "get_prices",
        "opening_hours",
        "check_availability",
        "search_help",
        "opt_out",  # anyone may stop messages (after a "yes" to the engine's question)
    }
    assert {name for name, tool in tools.TOOLS.items() if tool.access == "verified"} == {
        "list_my_bookings",
        "create_booking",
        "cancel_booking",
        "reschedule_booking",
        "get_my_subscriptions",
        "erase_my_messages",
    }


def test_prices_are_formatted_with_their_currency_and_durations_in_hours() -> None:
    assert public.duration(90) == "1 h 30 min"
    assert public.duration(45) == "45 min"
    assert public.duration(120) == "2 h"


async def test_a_stranger_gets_services_and_prices_without_a_code(chat: Chat) -> None:
    token = chat.owner.access_token
    await create_service(chat.gql, token, name="Haircut", duration=45, amount=2500, currency="GBP")
    await create_service(
        chat.gql, token, name="Deep Tissue Massage", duration=90, amount=6000, currency="GBP"
    )
    await create_service(chat.gql, token, name="Hidden", active=False)
    listing = "- Deep Tissue Massage: GBP 60.00 (1 h 30 min)\n- Haircut: GBP 25.00 (45 min)"
    assert await chat.texts("What services do you offer?") == [f"Our services:\n{listing}"]
    assert await chat.texts("prices?") == [f"Our prices:\n{listing}"]
    assert await chat.texts("how much is a hair cut") == ["Our prices:\n- Haircut: GBP 25.00 (45 min)"]
    assert await rows(chat.gql, VerificationCode) == []


async def test_opening_hours_are_listed_by_weekday(chat: Chat) -> None:
    weekdays = [{"weekday": d, "opens": "09:00", "closes": "17:30"} for d in range(5)]
    await set_hours(chat.gql, chat.owner.access_token, weekdays)
    (answer,) = await chat.texts("when are you open?")
    assert answer.splitlines()[0] == "Opening hours:"
    assert "- Monday: 09:00–17:30" in answer
    assert "- Sunday: closed" in answer


def _times(answer: str) -> list[str]:
    return re.findall(r"\b\d{2}:\d{2}\b", answer)


async def test_availability_never_offers_a_full_or_past_slot(chat: Chat) -> None:
    token = chat.owner.access_token
    await set_hours(chat.gql, token)
    haircut = await create_service(chat.gql, token, name="Haircut", duration=60, capacity=1)
    customer = await create_customer(chat.gql, chat.owner, name="Ann", email="ann@example.com")
    tomorrow = (clock.now().astimezone(LONDON) + timedelta(days=1)).date()
    done = await book(
        chat.gql, token, service_id=haircut["id"], starts_at=local(tomorrow, 9), customer_id=customer["id"]
    )
    assert done["errors"] == []

    (answer,) = await chat.texts("is a haircut free tomorrow?")
    on = f"{tomorrow:%A} {tomorrow.day} {tomorrow:%B}"
    assert answer.startswith(f"Free Haircut times on {on}: ")
    offered = _times(answer)
    free = [
        s.astimezone(LONDON).strftime("%H:%M")
        for s in await slots(chat.gql, haircut["id"], tomorrow, tenant=chat.owner.slug)
    ]
    assert offered == free[: public.MAX_SLOTS]
    # The booked 09:00 hour and every start overlapping it are full.
    assert not {"09:00", "09:15", "09:30", "09:45"} & set(offered)

    # Today: nothing before now (plus the notice), whatever the hour the test runs at.
    (today_answer,) = await chat.texts("hair cut today")
    now_local = clock.now().astimezone(LONDON).strftime("%H:%M")
    assert all(t > now_local for t in _times(today_answer))

    yesterday = (clock.now().astimezone(LONDON) - timedelta(days=1)).date()
    (past,) = await chat.texts(f"haircut {yesterday:%d/%m/%Y}")
    assert past.endswith("has passed. Ask me about today or a later day.")
    assert _times(past) == []


async def test_a_fully_booked_day_says_so(chat: Chat) -> None:
    token = chat.owner.access_token
    day = (clock.now().astimezone(LONDON) + timedelta(days=2)).date()
    await set_hours(chat.gql, token, [{"weekday": day.weekday(), "opens": "10:00", "closes": "11:00"}])
    haircut = await create_service(chat.gql, token, name="Haircut", duration=60, capacity=1)
    customer = await create_customer(chat.gql, chat.owner, name="Ann", email="ann@example.com")
    assert (await chat.texts(f"haircut {day:%d/%m/%Y}"))[0].endswith(": 10:00.")
    done = await book(
        chat.gql, token, service_id=haircut["id"], starts_at=local(day, 10), customer_id=customer["id"]
    )
    assert done["errors"] == []
    on = f"{day:%A} {day.day} {day:%B}"
    assert await chat.texts(f"any haircut slots {day:%d/%m/%Y}?") == [
        f"Sorry, there are no free Haircut slots on {on}."
    ]


async def test_an_impossible_date_is_questioned(chat: Chat) -> None:
    await create_service(chat.gql, chat.owner.access_token, name="Haircut")
    assert await chat.texts("haircut on 31/02?") == [public.BAD_DATE]


async def test_a_stranger_reads_dates_in_the_businesss_order(chat: Chat) -> None:
    # 7/3 is 3 July for a US business and 7 March for a British one, before verification as after it.
    token = chat.owner.access_token
    await set_hours(chat.gql, token)
    await create_service(chat.gql, token, name="Haircut")
    today = clock.now().astimezone(LONDON).date()

    def next_day(month: int, day: int) -> date:
        candidate = date(today.year, month, day)
        return candidate if candidate >= today else date(today.year + 1, month, day)

    def on(day: date) -> str:
        return f"{day:%A} {day.day} {day:%B}"

    (gb,) = await chat.texts("haircut 7/3")
    assert on(next_day(3, 7)) in gb
    done = await chat.gql.op("UpdateTenantSettings", {"input": {"defaultRegion": "US"}}, token=token)
    assert done.data["updateTenantSettings"]["errors"] == []
    (us,) = await chat.texts("haircut 7/3")
    assert on(next_day(7, 3)) in us


async def test_availability_without_a_service_lists_every_services_times(chat: Chat) -> None:
    # Not "Which service would you like?": a stranger's answer "haircut" would lose the day asked about.
    token = chat.owner.access_token
    await set_hours(chat.gql, token)
    await create_service(chat.gql, token, name="Haircut", duration=60)
    await create_service(chat.gql, token, name="Beard Trim", duration=30)
    day = clock.now().astimezone(ZoneInfo("Europe/London")).date() + timedelta(days=1)
    on = f"{day:%A} {day.day} {day:%B}"
    assert await chat.texts("is there anything free tomorrow afternoon?") == [
        f"Free times on {on} between 12:00 and 17:00:\n"
        "- Beard Trim: 12:00, 12:15, 12:30, 12:45, 13:00, 13:15 …\n"
        "- Haircut: 12:00, 12:15, 12:30, 12:45, 13:00, 13:15 …"
    ]


async def test_help_is_answered_with_the_best_article(gql: GraphQLClient, chat: Chat) -> None:
    body = "Park behind the studio; the car park is free after six. " + "More words follow here. " * 10
    variables = {"input": {"title": "Parking", "category": "Visiting", "body": body}}
    ok(await gql.op("CreateHelpArticle", variables, token=chat.owner.access_token), "createHelpArticle")
    (answer,) = await chat.texts("help: where do I park?")
    title, excerpt = answer.split("\n")
    assert title == "Parking"
    assert excerpt.startswith("Park behind the studio; the car park is free after six.")
    assert len(excerpt) <= public.EXCERPT_CHARS + 1
    assert excerpt.endswith("…")


async def test_unknown_text_goes_on_to_verification(chat: Chat) -> None:
    await create_service(chat.gql, chat.owner.access_token, name="Haircut")
    # No account for this phone: the engine's own reply, not a catalogue answer.
    (reply,) = await chat.texts("hello there")
    assert "Haircut" not in reply
