"""Public questions over WhatsApp, end to end: a stranger's signed webhook in, a catalogue answer out,
without any verification code."""

from __future__ import annotations

import httpx
import pytest

from domain.assistant.models import VerificationCode
from tests.fakes.meta import MetaFake
from tests.integrations.whatsapp.conftest import Business, business, rows
from tests.integrations.whatsapp.test_verification_e2e import Chat
from tests.support.graphql import GraphQLClient
from tests.support.scheduling import create_service


@pytest.fixture
async def biz(gql: GraphQLClient, meta: MetaFake) -> Business:
    return await business(gql, meta, "public-salon")


async def test_a_stranger_asks_for_services_and_prices(
    gql: GraphQLClient, http: httpx.AsyncClient, meta: MetaFake, biz: Business
) -> None:
    await create_service(gql, biz.owner.access_token, name="Haircut", duration=45, amount=2500)
    chat = Chat(gql, http, meta, biz)
    assert await chat.say("What services do you offer?") == ["Our services:\n- Haircut: GBP 25.00 (45 min)"]
    assert await chat.say("how much is a hiarcut?") == ["Our prices:\n- Haircut: GBP 25.00 (45 min)"]
    assert await rows(gql, VerificationCode) == []
