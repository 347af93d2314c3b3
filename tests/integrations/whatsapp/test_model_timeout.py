"""A tenant's model is given up after ``BIZZLY_ASSISTANT_MODEL_TIMEOUT_SECONDS``, whatever it does: a slow
answer or none at all gets the assistant's deterministic help, not a wait."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from bizzly.settings import Settings
from domain.assistant import dialogue
from tests.fakes.meta import MetaFake
from tests.fakes.model import API_KEY, Answer, ModelFake, tool_call
from tests.integrations.whatsapp.conftest import Business, business, whatsapp_settings
from tests.integrations.whatsapp.test_verification_e2e import Chat, code_in
from tests.support.customers import create_customer
from tests.support.graphql import GraphQLClient
from tests.support.scheduling import create_service, set_hours

TIMEOUT = 0.5


@pytest.fixture
def settings(database_settings: dict[str, str], meta: MetaFake) -> Settings:
    return whatsapp_settings(
        database_settings,
        meta,
        assistant_model_timeout_seconds=TIMEOUT,
        outbound_allowed_hosts="127.0.0.1",  # the fake model (a tenant's URL may not reach 127.0.0.1 else)
    )


@pytest.fixture
async def chat(gql: GraphQLClient, http: httpx.AsyncClient, meta: MetaFake, model: ModelFake) -> Chat:
    biz: Business = await business(gql, meta, "slow-model-salon")
    token = biz.owner.access_token
    await set_hours(gql, token)
    await create_service(gql, token, name="Haircut", duration=60, capacity=1)
    result = await gql.op(
        "ConfigureAssistantModel",
        {"input": {"baseUrl": model.url, "model": "gpt-test", "apiKey": API_KEY}},
        token=token,
    )
    assert result.data["configureAssistantModel"] == {"ok": True, "errors": []}
    await create_customer(gql, biz.owner, name="Sarah Jones", email="sarah@example.com", phone="07700 900123")
    talk = Chat(gql, http, meta, biz)
    code = code_in(await talk.say("Hi"))
    assert await talk.say(code) == ["You're now verified! How can I help you today?"]
    return talk


async def test_a_model_slower_than_its_timeout_is_given_up_for_the_help_message(
    chat: Chat, model: ModelFake
) -> None:
    asked = len(model.requests)
    model.script(Answer(name="list_services", delay=3.0))
    assert await chat.say("do the needful") == [dialogue.HELP]  # its answer was not waited for
    assert len(model.requests) == asked + 1
    # The next answer in time is used as ever.
    model.script(tool_call("list_services", {}))
    assert await chat.say("got anything to make me look sharp for a wedding") == [
        "Our services:\n- Haircut: GBP 25.00 (1 h)"
    ]


async def test_a_model_that_trickles_its_answer_is_given_up_after_the_timeout_all_told(
    chat: Chat, model: ModelFake
) -> None:
    # Every read is quick (one blank a tenth of a second), the whole answer takes 3 s: the timeout bounds
    # the call, not each read.
    model.script(Answer(name="list_services", trickle=3.0))
    assert await chat.say("do the needful") == [dialogue.HELP]


async def test_a_model_that_never_answers_gets_the_help_message(chat: Chat, model: ModelFake) -> None:
    asked = len(model.requests)
    model.hang = True
    async with asyncio.timeout(60):  # fails rather than hangs with the model
        assert await chat.say("do the needful") == [dialogue.HELP]
        assert await chat.say("and the other thing") == [dialogue.HELP]
    assert len(model.requests) == asked + 2
