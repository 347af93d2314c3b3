"""Issue 18 end to end: a model base URL saved before the outbound check (or one whose name now resolves
inside) is refused when a customer's message would reach it; the assistant answers with its help and the
inside server receives nothing."""

from __future__ import annotations

from sqlalchemy import update

from domain.assistant import dialogue
from domain.assistant.models import AssistantModelConfig
from tests.fakes.model import ModelFake
from tests.integrations.whatsapp.conftest import Business
from tests.integrations.whatsapp.test_assistant_model import (  # noqa: F401 - fixtures
    _sarah_and_toms_booking,
    _verify,
    biz,
    chat,
)
from tests.integrations.whatsapp.test_verification_e2e import Chat
from tests.support.customers import tenant_session
from tests.support.graphql import GraphQLClient


async def test_a_stored_inside_url_is_refused_when_a_message_would_reach_it(
    gql: GraphQLClient,
    biz: Business,  # noqa: F811 - the fixtures imported above
    chat: Chat,  # noqa: F811
    model: ModelFake,
) -> None:
    await _sarah_and_toms_booking(gql, biz)
    await _verify(chat)
    asked = len(model.requests)
    port = model.url.rsplit(":", 1)[1].split("/")[0]
    # "localhost" is not an allowed host (127.0.0.1 is, for the fakes): the same server, by a name.
    async with tenant_session(gql, biz.owner) as s:
        await s.execute(update(AssistantModelConfig).values(base_url=f"http://localhost:{port}/v1"))
    assert await chat.say("do the needful") == [dialogue.HELP]  # as when the model fails
    assert len(model.requests) == asked  # the loopback server was not reached
