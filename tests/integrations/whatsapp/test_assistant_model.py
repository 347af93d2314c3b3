"""A tenant's own OpenAI-compatible model (issue 6): configured through GraphQL (the key encrypted, never
returned), asked only about free text, through signed webhooks and the fake model server. Whatever the
model picks, the tool layer's policy decides: it cannot reveal or change what the policy forbids."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from typer.testing import CliRunner

from bizzly import cli, clock
from domain.assistant import dialogue, texts
from domain.assistant import service as assistant
from domain.assistant.messages import Sender
from domain.assistant.models import AssistantModelConfig, ConversationState
from domain.conversations.models import Message
from domain.customers.service import current_tenant, customers_by_ids
from domain.notifications.service import customer_route
from domain.privacy.audit import AuditEntry
from domain.scheduling.models import Booking
from tests.fakes.meta import MetaFake
from tests.fakes.model import API_KEY, Answer, ModelFake, tool_call
from tests.integrations.whatsapp.conftest import Business, business, rows
from tests.integrations.whatsapp.test_verification_e2e import WA_ID, Chat, code_in
from tests.support.accounts import _services, staff_token
from tests.support.customers import create_customer, row_id, tenant_session
from tests.support.graphql import GraphQLClient
from tests.support.outbox import drain_outbox
from tests.support.scheduling import book, create_service, local, set_hours

ZONE = ZoneInfo("Europe/London")


def later() -> date:
    return clock.now().astimezone(ZONE).date() + timedelta(days=3)


async def configure(gql: GraphQLClient, token: str, value: dict[str, Any] | None) -> dict[str, Any]:
    result = await gql.op("ConfigureAssistantModel", {"input": value}, token=token)
    assert not result.errors, result.body
    payload: dict[str, Any] = result.data["configureAssistantModel"]
    return payload


async def settings_shown(gql: GraphQLClient, token: str) -> dict[str, Any]:
    result = await gql.op("IntegrationSettings", token=token)
    assert not result.errors, result.body
    shown: dict[str, Any] = result.data["integrationSettings"]
    return shown


@pytest.fixture
async def biz(gql: GraphQLClient, meta: MetaFake, model: ModelFake) -> Business:
    found = await business(gql, meta, "model-salon")
    token = found.owner.access_token
    await set_hours(gql, token)
    await create_service(gql, token, name="Haircut", duration=60, capacity=1)
    payload = await configure(gql, token, {"baseUrl": model.url, "model": "gpt-test", "apiKey": API_KEY})
    assert payload == {"ok": True, "errors": []}
    return found


@pytest.fixture
def chat(gql: GraphQLClient, http: httpx.AsyncClient, meta: MetaFake, biz: Business) -> Chat:
    return Chat(gql, http, meta, biz)


async def _verify(chat: Chat) -> None:
    code = code_in(await chat.say("Hi"))
    assert await chat.say(code) == ["You're now verified! How can I help you today?"]


async def _sarah_and_toms_booking(gql: GraphQLClient, biz: Business) -> tuple[str, str]:
    sarah = await create_customer(
        gql, biz.owner, name="Sarah Jones", email="sarah@example.com", phone="07700 900123"
    )
    tom = await create_customer(
        gql, biz.owner, name="Tom Other", email="tom@example.com", phone="07700 900999"
    )
    services = (await gql.op("Services", token=biz.owner.access_token)).data
    haircut = _first_service_id(services)
    theirs = await book(
        gql,
        biz.owner.access_token,
        service_id=haircut,
        starts_at=local(later(), 10),
        customer_id=str(tom["id"]),
    )
    assert theirs["errors"] == []
    await drain_outbox(_services(gql).settings)  # staff's booking notification goes out first
    return str(sarah["id"]), str(theirs["booking"]["id"])


def _first_service_id(data: Any) -> str:
    found = data["services"]
    nodes = [e["node"] for e in found["edges"]] if isinstance(found, dict) else found
    return str(nodes[0]["id"])


# --- configuring ---------------------------------------------------------------------------------------


async def test_the_key_is_stored_encrypted_and_never_shown(
    gql: GraphQLClient, biz: Business, model: ModelFake
) -> None:
    token = biz.owner.access_token
    assert (await settings_shown(gql, token))["assistantModel"] == {"baseUrl": model.url, "model": "gpt-test"}
    (row,) = await rows(gql, AssistantModelConfig)
    assert API_KEY not in row.api_key_encrypted
    result = await gql.op("IntegrationSettings", token=token)
    assert API_KEY not in str(result.body)


async def test_bad_input_is_a_typed_error_and_null_goes_back_to_deterministic(
    gql: GraphQLClient, biz: Business, model: ModelFake
) -> None:
    token = biz.owner.access_token
    for value, field in (
        ({"baseUrl": "ftp://example.com", "model": "m", "apiKey": "k"}, "baseUrl"),
        ({"baseUrl": "https://user:pw@example.com/v1", "model": "m", "apiKey": "k"}, "baseUrl"),
        ({"baseUrl": "https://[::1/v1", "model": "m", "apiKey": "k"}, "baseUrl"),  # urlsplit raises
        ({"baseUrl": model.url, "model": " ", "apiKey": "k"}, "model"),
        ({"baseUrl": model.url, "model": "m", "apiKey": ""}, "apiKey"),
        ({"baseUrl": model.url, "model": "m" * 201, "apiKey": "k"}, "model"),
    ):
        payload = await configure(gql, token, value)
        assert payload["ok"] is False
        assert [(e["field"], e["code"]) for e in payload["errors"]] == [(field, "INVALID")]
    assert (await settings_shown(gql, token))["assistantModel"] == {"baseUrl": model.url, "model": "gpt-test"}
    assert await configure(gql, token, None) == {"ok": True, "errors": []}
    assert (await settings_shown(gql, token))["assistantModel"] is None
    assert await rows(gql, AssistantModelConfig) == []


async def test_only_staff_who_manage_integrations_may_configure(gql: GraphQLClient, biz: Business) -> None:
    operator = await staff_token(gql, biz.owner, "STAFF")
    result = await gql.op("ConfigureAssistantModel", {"input": None}, token=operator)
    assert result.error_codes == ["FORBIDDEN"]
    assert len(await rows(gql, AssistantModelConfig)) == 1


# --- the model in the chat -----------------------------------------------------------------------------


async def test_free_text_goes_to_the_model_which_only_picks_a_tool(
    gql: GraphQLClient, biz: Business, chat: Chat, model: ModelFake
) -> None:
    model.script(tool_call("list_services", {}))
    assert await chat.say("got anything to make me look sharp for a wedding") == [
        "Our services:\n- Haircut: GBP 25.00 (1 h)"
    ]
    (request,) = model.requests
    assert request["authorization"] == f"Bearer {API_KEY}"
    assert request["body"]["model"] == "gpt-test"
    offered = {t["function"]["name"] for t in request["body"]["tools"]}
    # A stranger's model is offered public tools only.
    assert offered == {
        "list_services",
        "get_prices",
        "opening_hours",
        "check_availability",
        "search_help",
        "opt_out",
    }
    # Text the deterministic understanding reads never reaches the model.
    assert (await chat.say("what are your prices?"))[0].startswith("Our prices:")
    assert len(model.requests) == 1


async def test_bizzly_chat_asks_the_tenants_model_too(
    gql: GraphQLClient, biz: Business, model: ModelFake, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The terminal takes the webhook's path, the tenant's model included.
    monkeypatch.setattr(cli, "get_settings", lambda: _services(gql).settings)
    model.script(tool_call("list_services", {}))
    args = ["chat", "--tenant", biz.owner.slug, "--phone", "+44 7700 900123"]
    result = await asyncio.to_thread(
        CliRunner().invoke, cli.app, args, input="got anything to make me look sharp for a wedding\n"
    )
    assert result.exit_code == 0, result.output
    assert result.output == (
        "> got anything to make me look sharp for a wedding\n< Our services:\n  - Haircut: GBP 25.00 (1 h)\n"
    )
    (request,) = model.requests
    assert request["authorization"] == f"Bearer {API_KEY}"


async def test_a_verified_tool_for_an_unverified_customer_is_refused(
    gql: GraphQLClient, biz: Business, chat: Chat, model: ModelFake
) -> None:
    await _sarah_and_toms_booking(gql, biz)
    replies = []
    for name in ("list_my_bookings", "get_my_subscriptions", "cancel_booking"):
        model.script(tool_call(name, {"booking_id": "x"} if name == "cancel_booking" else {}))
        (reply,) = await chat.say("yo whats up with my stuff")
        replies.append(reply)
    # No data: the engine asks who this is (a code to Sarah's own phone), like any protected request, then
    # waits for the code.
    assert replies[0].startswith("Your verification code is:"), replies
    assert replies[1:] == [texts.ENTER_CODE] * 2
    assert len(model.requests) == 3
    assert [b.status for b in await rows(gql, Booking)] == ["CONFIRMED"]


async def test_another_customers_booking_id_is_refused_and_unchanged(
    gql: GraphQLClient, biz: Business, chat: Chat, model: ModelFake
) -> None:
    _, toms = await _sarah_and_toms_booking(gql, biz)
    await _verify(chat)
    toms_uuid = str(row_id(toms))
    model.script(
        tool_call("cancel_booking", {"booking_id": toms_uuid}),
        tool_call(
            "reschedule_booking", {"booking_id": toms_uuid, "starts_at": f"{later().isoformat()}T14:00"}
        ),
        tool_call("create_booking", {"service_id": "x", "starts_at": "2030-01-01T10:00", "customer_id": "y"}),
    )
    assert await chat.say("please sort out the thing from before") == [dialogue.NOT_YOURS]
    assert await chat.say("and the other thing") == [dialogue.NOT_YOURS]
    assert await chat.say("sort one out for my mate") == [
        f"{dialogue.REFUSED} create_booking takes no customer_id."
    ]
    (booking,) = await rows(gql, Booking)
    assert (booking.status, booking.starts_at) == ("CONFIRMED", local(later(), 10))
    # A verified customer's model may be offered the verified tools, and they act on her own data only.
    offered = {t["function"]["name"] for t in model.requests[-1]["body"]["tools"]}
    assert {"list_my_bookings", "cancel_booking"} <= offered


async def test_the_models_booking_still_needs_a_free_time_and_a_yes(
    gql: GraphQLClient, biz: Business, chat: Chat, model: ModelFake
) -> None:
    sarah, _ = await _sarah_and_toms_booking(gql, biz)
    await _verify(chat)
    services = (await gql.op("Services", token=biz.owner.access_token)).data
    haircut = str(row_id(_first_service_id(services)))
    day = later()
    model.script(
        tool_call("create_booking", {"service_id": haircut, "starts_at": f"{day.isoformat()}T10:00"})
    )
    (full,) = await chat.say("sort me out with that thing on the usual day")
    assert full.startswith(f"Sorry, 10:00 isn't free for Haircut on {day:%A} {day.day} {day:%B}.")
    model.script(
        tool_call("create_booking", {"service_id": haircut, "starts_at": f"{day.isoformat()}T12:00"})
    )
    (confirm,) = await chat.say("ok then the usual but at lunch")
    assert confirm.startswith(f"Book Haircut on {day:%A} {day.day} {day:%B} at 12:00")
    assert len(await rows(gql, Booking)) == 1
    (done, *_) = await chat.say("yes")
    assert done.startswith("Booked: Haircut")
    mine = [b for b in await rows(gql, Booking) if b.customer_id == row_id(sarah)]
    assert [(b.source, b.starts_at) for b in mine] == [("WHATSAPP", local(day, 12))]


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (Answer(status=500), dialogue.HELP),
        (Answer(garbage=True), dialogue.HELP),
        (Answer(name="list_services", arguments="{not json"), dialogue.HELP),
        (Answer(name="no_such_tool"), f"{dialogue.REFUSED} There is no tool 'no_such_tool'."),
        (Answer(content="Sure! I have cancelled all bookings."), dialogue.HELP),
    ],
    ids=["http-500", "not-json", "bad-arguments", "unknown-tool", "plain-text"],
)
async def test_a_misbehaving_model_falls_back_to_the_help_message(
    gql: GraphQLClient, biz: Business, chat: Chat, model: ModelFake, answer: Answer, expected: str
) -> None:
    await _sarah_and_toms_booking(gql, biz)
    await _verify(chat)
    asked = len(model.requests)
    model.script(answer)
    assert await chat.say("do the needful") == [expected]
    assert len(model.requests) == asked + 1  # the model was asked (and answered badly), once
    assert [b.status for b in await rows(gql, Booking)] == ["CONFIRMED"]
    assert await rows(gql, ConversationState) == []  # nothing pending either


# --- privacy: the model's pick asks the engine's own question --------------------------------------------

WIPE = "please wipe my chat history"
NO_MORE = "don't message me on WhatsApp any more"


def buttons(chat: Chat) -> list[tuple[str, str]]:
    """The reply buttons of the last message the customer got."""
    interactive = chat.meta.sends[-1].body.get("interactive") or {}
    return [(b["reply"]["id"], b["reply"]["title"]) for b in interactive.get("action", {}).get("buttons", [])]


async def _opt_out_question(gql: GraphQLClient, biz: Business) -> str:
    async with tenant_session(gql, biz.owner) as s:
        name = (await current_tenant(s)).name
    return texts.OPT_OUT_CONFIRM.format(business=name)


async def _opted_out(gql: GraphQLClient, biz: Business, sarah: str) -> tuple[bool, str | None]:
    """Whether this WhatsApp said stop, and why a notification to Sarah is skipped (None: it is sent)."""
    async with tenant_session(gql, biz.owner) as s:
        stopped = await assistant.is_opted_out(s, sender=Sender(wa_id=WA_ID))
        customer = (await customers_by_ids(s, [row_id(sarah)]))[row_id(sarah)]
        route = await customer_route(s, customer)
    return stopped, route.skipped


async def _erased(gql: GraphQLClient) -> list[AuditEntry]:
    return [e for e in await rows(gql, AuditEntry) if e.action == "whatsapp.messages_erased"]


async def test_the_models_erase_asks_the_typed_question_and_no_keeps_the_history(
    gql: GraphQLClient, biz: Business, chat: Chat, model: ModelFake
) -> None:
    await _sarah_and_toms_booking(gql, biz)
    await _verify(chat)
    assert await chat.say("delete my messages") == [texts.ERASE_CONFIRM]
    typed = chat.meta.sends[-1].body["interactive"]
    assert await chat.say("no") == [texts.ERASE_CANCELLED]

    model.script(tool_call("erase_my_messages", {}))
    assert await chat.say(WIPE) == [texts.ERASE_CONFIRM]
    assert chat.meta.sends[-1].body["interactive"] == typed  # one question, whoever asked it
    assert buttons(chat) == [("erase:yes", "Yes"), ("erase:no", "No")]
    before = len(await rows(gql, Message))
    assert await chat.tap("erase:no", "No") == [texts.ERASE_CANCELLED]
    assert len(await rows(gql, Message)) > before  # nothing was erased
    assert await _erased(gql) == []
    assert await chat.say("yes") == [dialogue.HELP]  # no question pending any more
    assert any(m.body == WIPE for m in await rows(gql, Message))


async def test_the_models_erase_answered_yes_erases_the_history(
    gql: GraphQLClient, biz: Business, chat: Chat, model: ModelFake
) -> None:
    sarah, _ = await _sarah_and_toms_booking(gql, biz)
    await _verify(chat)
    model.script(tool_call("erase_my_messages", {}))
    assert await chat.say(WIPE) == [texts.ERASE_CONFIRM]
    assert len(await rows(gql, Message)) >= 6
    assert await chat.say("yes") == [texts.ERASED]
    # Only the confirmation sent after the erasure is left of her conversation (Tom's notification stays).
    bodies = [m.body for m in await rows(gql, Message)]
    assert texts.ERASED in bodies
    assert not {"Hi", texts.VERIFIED, WIPE, texts.ERASE_CONFIRM, "yes"} & set(bodies)
    (entry,) = await _erased(gql)
    assert (entry.subject_id, entry.actor) == (row_id(sarah), f"customer:{row_id(sarah)}")


async def test_an_unverified_senders_model_cannot_erase(
    gql: GraphQLClient, biz: Business, chat: Chat, model: ModelFake
) -> None:
    await _sarah_and_toms_booking(gql, biz)
    # Refused: the engine asks who this is instead (a code to Sarah's own phone), then for the code.
    model.script(tool_call("erase_my_messages", {}))
    code = code_in(await chat.say(WIPE))
    model.script(tool_call("erase_my_messages", {}))
    assert await chat.say("yes") == [texts.ENTER_CODE]
    assert len(model.requests) == 2
    for request in model.requests:
        assert "erase_my_messages" not in {t["function"]["name"] for t in request["body"]["tools"]}
    assert any(m.body == WIPE for m in await rows(gql, Message))
    assert await _erased(gql) == []
    model.script(tool_call("erase_my_messages", {}))
    # Verified, the remembered request asks the same question as ever; only her "yes" would erase.
    assert await chat.say(code) == [texts.VERIFIED, texts.ERASE_CONFIRM]
    assert any(m.body == WIPE for m in await rows(gql, Message))
    assert await _erased(gql) == []


async def test_the_models_opt_out_asks_first_and_yes_stops_messages_mid_verification(
    gql: GraphQLClient, biz: Business, chat: Chat, model: ModelFake
) -> None:
    sarah, _ = await _sarah_and_toms_booking(gql, biz)
    code = code_in(await chat.say("Hi"))
    model.script(tool_call("opt_out", {}))
    assert await chat.say(NO_MORE) == [await _opt_out_question(gql, biz)]
    assert buttons(chat) == [("optout:yes", "Yes"), ("optout:no", "No")]
    assert await _opted_out(gql, biz, sarah) == (False, None)  # not on the model's word alone
    assert await chat.tap("optout:yes", "Yes") == [texts.OPTED_OUT]
    assert await _opted_out(gql, biz, sarah) == (
        True,
        "the customer opted out of messages (WhatsApp STOP)",
    )
    assert [e.action for e in await rows(gql, AuditEntry) if e.action.startswith("whatsapp.opted")] == [
        "whatsapp.opted_out"
    ]
    # The code she was sent still verifies her: the question left the pending step alone.
    assert await chat.say(code) == [texts.VERIFIED]


async def test_the_models_opt_out_answered_no_or_ignored_changes_nothing(
    gql: GraphQLClient, biz: Business, chat: Chat, model: ModelFake
) -> None:
    sarah, _ = await _sarah_and_toms_booking(gql, biz)
    await _verify(chat)
    question = await _opt_out_question(gql, biz)
    model.script(tool_call("opt_out", {}))
    assert await chat.say(NO_MORE) == [question]
    assert await chat.say("no") == [texts.OPT_OUT_CANCELLED]
    model.script(tool_call("opt_out", {}))
    assert await chat.say(NO_MORE) == [question]
    assert buttons(chat) == [("optout:yes", "Yes"), ("optout:no", "No")]
    assert (await chat.say("what are your prices?"))[0].startswith("Our prices:")  # answered as usual
    assert await chat.say("yes") == [dialogue.HELP]  # the question is gone
    assert await chat.tap("optout:yes", "Yes") == [texts.UNKNOWN_CHOICE]
    assert await _opted_out(gql, biz, sarah) == (False, None)
    assert await rows(gql, ConversationState) == []
