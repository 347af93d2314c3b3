"""What customers can do in chat (issue 6), end to end: signed webhooks in, the outbox and the fake Graph
API out, and the dashboard's ``bookings`` query (staff's GraphQL) showing the same bookings."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from bizzly import clock
from domain.assistant.models import VerificationCode
from tests.fakes.meta import MetaFake, interactive_reply
from tests.integrations.whatsapp.conftest import Business, business, rows
from tests.integrations.whatsapp.test_verification_e2e import WA_ID, Chat, code_in
from tests.support.accounts import _services
from tests.support.customers import create_customer
from tests.support.graphql import GraphQLClient
from tests.support.outbox import drain_outbox
from tests.support.scheduling import book, create_service, local, ok, set_hours, update_settings

ZONE = ZoneInfo("Europe/London")
_wamids = itertools.count(1)


class CustomerChat(Chat):
    async def button(self, reply_id: str, title: str) -> list[str]:
        payload = interactive_reply(
            self.number, wa_id=WA_ID, reply_id=reply_id, title=title, wamid=f"wamid.asst{next(_wamids)}"
        )
        return await self._deliver(payload)


def on(day: date, hour: str) -> str:
    return f"{day:%A} {day.day} {day:%B} at {hour}"


def tomorrow() -> date:
    return clock.now().astimezone(ZONE).date() + timedelta(days=1)


@pytest.fixture
async def biz(gql: GraphQLClient, meta: MetaFake) -> Business:
    found = await business(gql, meta, "assistant-salon")
    await set_hours(gql, found.owner.access_token)
    return found


@pytest.fixture
def chat(gql: GraphQLClient, http: httpx.AsyncClient, meta: MetaFake, biz: Business) -> CustomerChat:
    return CustomerChat(gql, http, meta, biz)


async def dashboard(gql: GraphQLClient, biz: Business) -> list[dict[str, Any]]:
    result = await gql.op("Bookings", {"first": 50}, token=biz.owner.access_token)
    assert not result.errors, result.body
    return [e["node"] for e in result.data["bookings"]["edges"]]


async def test_a_stranger_gets_services_prices_and_free_times_without_a_code(
    gql: GraphQLClient, biz: Business, chat: CustomerChat
) -> None:
    await create_service(gql, biz.owner.access_token, name="Haircut", duration=60, amount=2500)
    await create_service(gql, biz.owner.access_token, name="Beard Trim", duration=30, amount=1200)
    assert await chat.say("what do you offer and how much?") == [
        "Our prices:\n- Beard Trim: GBP 12.00 (30 min)\n- Haircut: GBP 25.00 (1 h)"
    ]
    (free,) = await chat.say("any beard trim slots tomorrow?")
    day = tomorrow()
    assert free.startswith(f"Free Beard Trim times on {day:%A} {day.day} {day:%B}: 09:00, 09:15, ")
    assert await rows(gql, VerificationCode) == []


async def test_a_verified_customer_books_sees_and_cancels_as_the_dashboard_shows(
    gql: GraphQLClient, biz: Business, chat: CustomerChat
) -> None:
    token = biz.owner.access_token
    await create_service(gql, token, name="Haircut", duration=60, capacity=1)
    await create_service(gql, token, name="Colour", duration=90, amount=6000)
    await create_customer(gql, biz.owner, name="Sarah Jones", email="sarah@example.com", phone="07700 900123")
    day = tomorrow() + timedelta(days=2)  # past the default 24-hour cut-off

    # One sentence: the request waits for the code, then asks for a "yes".
    code = code_in(await chat.say(f"book a haircut on {day.day}/{day.month} at 10am"))
    assert await chat.say(code) == [
        "You're now verified! How can I help you today?",
        f"Book Haircut on {on(day, '10:00')} (GBP 25.00)? Reply YES to confirm or NO to stop.",
    ]
    # (The business's own booking notification may follow the assistant's answer.)
    assert (await chat.button("d:yes", "Yes"))[0] == f"Booked: Haircut on {on(day, '10:00')}. See you then!"

    # Step by step: service, day, a list of free times (the 10:00 hour is taken: capacity 1), yes.
    (services,) = await chat.say("I'd like to make another appointment")
    assert services.startswith("Which service would you like?\n1. Colour")
    today = clock.now().astimezone(ZONE).date()
    later, week = today + timedelta(days=4), today + timedelta(days=7)  # examples still to come
    assert await chat.say("haircut") == [
        f"Which day would you like Haircut? (e.g. tomorrow, {later:%A}, {week.day}/{week.month})"
    ]
    (times,) = await chat.say(f"{day.day}/{day.month}")
    assert times.splitlines()[1:4] == ["1. 09:00", "2. 11:00", "3. 11:15"]
    assert await chat.tap("d:3", "11:15") == [
        f"Book Haircut on {on(day, '11:15')} (GBP 25.00)? Reply YES to confirm or NO to stop."
    ]
    assert (await chat.say("yes"))[0] == f"Booked: Haircut on {on(day, '11:15')}. See you then!"

    assert await chat.say("show my bookings") == [
        f"Your upcoming bookings:\n1. Haircut — {on(day, '10:00')}\n2. Haircut — {on(day, '11:15')}"
    ]
    seen = await dashboard(gql, biz)
    assert (
        sorted((b["source"], b["status"], b["customer"]["name"], b["service"]["name"]) for b in seen)
        == [("WHATSAPP", "CONFIRMED", "Sarah Jones", "Haircut")] * 2
    )

    (which,) = await chat.say("cancel my appointment")
    assert which.startswith("Which booking would you like to cancel?\n1. Haircut")
    assert await chat.say("1") == [
        f"Cancel your Haircut on {on(day, '10:00')}? Reply YES to confirm or NO to stop."
    ]
    assert (await chat.say("yes"))[0] == f"Cancelled: your Haircut on {on(day, '10:00')}."
    by_status = {b["status"]: b["startsAt"] for b in await dashboard(gql, biz)}
    assert set(by_status) == {"CONFIRMED", "CANCELLED"}
    assert await chat.say("my bookings") == [f"Your upcoming bookings:\n1. Haircut — {on(day, '11:15')}"]


async def test_past_the_quota_and_past_the_cut_off_are_refused_with_a_reason(
    gql: GraphQLClient, biz: Business, chat: CustomerChat
) -> None:
    token = biz.owner.access_token
    await update_settings(gql, token, cancellationCutoffHours=48)
    haircut = await create_service(gql, token, name="Haircut", duration=60, capacity=1)
    sarah = await create_customer(
        gql, biz.owner, name="Sarah Jones", email="sarah@example.com", phone="07700 900123"
    )
    plan = ok(
        await gql.op(
            "CreatePlan",
            {
                "input": {
                    "name": "Weekly cut",
                    "quota": 1,
                    "period": "WEEK",
                    "price": {"amount": 2000, "currency": "GBP"},
                }
            },
            token=token,
        ),
        "createPlan",
    )["plan"]
    ok(
        await gql.op(
            "SubscribeCustomer", {"input": {"customerId": sarah["id"], "planId": plan["id"]}}, token=token
        ),
        "subscribeCustomer",
    )
    # Staff booked her a haircut tomorrow: it uses that week's unit.
    day = tomorrow()
    staff = await book(
        gql, token, service_id=haircut["id"], starts_at=local(day, 10), customer_id=str(sarah["id"])
    )
    assert staff["errors"] == []
    await drain_outbox(_services(gql).settings)  # staff's booking notification goes out first
    code_in(await chat.say("Hi"))
    code = code_in(await chat.say("verify"))
    await chat.say(code)

    assert await chat.say("cancel my booking") == [
        f"Cancel your Haircut on {on(day, '10:00')}? Reply YES to confirm or NO to stop."
    ]
    assert await chat.say("yes") == [
        "Sorry, I couldn't cancel that booking: Bookings can be cancelled up to 48 hours before they start. "
        "Please contact Assistant Salon to change this one."
    ]
    (subs,) = await chat.say("my subscriptions")
    assert subs.startswith("Your subscriptions:\n- Weekly cut: ")
    await chat.say(f"book a haircut on {day.day}/{day.month} at 2pm")
    (refused,) = await chat.say("yes")
    # The same day as staff's booking, so the same week: its one unit is used.
    assert refused.startswith("Sorry, I couldn't book that: The Weekly cut plan has no bookings left")
    statuses = [(b["status"], b["source"]) for b in await dashboard(gql, biz)]
    assert statuses == [("CONFIRMED", "DASHBOARD")]
