"""What is sent for choices and templates (within Meta's limits), and the interactive replies that return."""

from __future__ import annotations

import httpx

from domain.conversations.models import Message
from integrations.whatsapp import payloads
from tests.fakes.meta import MetaFake, interactive_reply
from tests.integrations.whatsapp.conftest import APP_SECRET, business, rows
from tests.support.accounts import _services
from tests.support.graphql import GraphQLClient
from tests.support.outbox import drain_outbox


def test_up_to_three_short_choices_are_reply_buttons() -> None:
    body = payloads.choices("447700900123", "Which one?", [("a", "Haircut"), ("b", "Colour"), ("c", "Beard")])
    interactive = body["interactive"]
    assert interactive["type"] == "button"
    assert [b["reply"]["id"] for b in interactive["action"]["buttons"]] == ["a", "b", "c"]


def test_up_to_ten_choices_are_a_list() -> None:
    options = [(f"slot:{i}", f"Tue 10:{i:02d}") for i in range(10)]
    body = payloads.choices("447700900123", "Pick a time", options, button="See times")
    interactive = body["interactive"]
    assert interactive["type"] == "list"
    assert interactive["action"]["button"] == "See times"
    assert len(interactive["action"]["sections"][0]["rows"]) == 10


def test_what_does_not_fit_becomes_numbered_text() -> None:
    eleven = [(str(i), f"Option {i}") for i in range(11)]
    long_title = [("x", "A title far longer than twenty-four characters")]
    for options in (eleven, long_title):
        body = payloads.choices("447700900123", "Choose", options)
        assert body["type"] == "text"
        assert "1. " in body["text"]["body"]
        assert "Reply with a number." in body["text"]["body"]


def test_an_authentication_template_carries_the_code_in_body_and_button() -> None:
    body = payloads.template("447700900123", {"name": "bizzly_otp", "language": "en_US", "code": "123456"})
    components = body["template"]["components"]
    assert components[0] == {"type": "body", "parameters": [{"type": "text", "text": "123456"}]}
    assert components[1]["type"] == "button"
    assert components[1]["parameters"] == [{"type": "text", "text": "123456"}]


async def test_an_interactive_reply_is_stored_with_its_id(
    gql: GraphQLClient, http: httpx.AsyncClient, meta: MetaFake
) -> None:
    biz = await business(gql, meta, "glow")
    payload = interactive_reply(
        biz.numbers[0], wa_id="447700900123", reply_id="profile:42", title="Sheena (gym)", wamid="wamid.R1"
    )
    assert (await meta.post_webhook(http, payload, secret=APP_SECRET)).status_code == 200
    await drain_outbox(_services(gql).settings)
    inbound = [m for m in await rows(gql, Message) if m.direction == "inbound"]
    assert [(m.kind, m.reply_id, m.body) for m in inbound] == [("interactive", "profile:42", "Sheena (gym)")]
