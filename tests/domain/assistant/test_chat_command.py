"""``bizzly chat``: a terminal standing in for a customer's phone, through the webhook's path."""

from __future__ import annotations

import asyncio

import pytest
from typer.testing import CliRunner

from bizzly import cli
from bizzly.settings import Settings
from domain.conversations.models import Message
from tests.domain.assistant.conftest import Chat, rows
from tests.support.scheduling import create_service


async def test_ask_for_services_and_get_them(
    chat: Chat, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    await create_service(chat.gql, chat.owner.access_token, name="Haircut", duration=45, amount=2500)
    monkeypatch.setattr(cli, "get_settings", lambda: settings)
    args = ["chat", "--tenant", chat.owner.slug, "--phone", "+44 7700 900123"]
    result = await asyncio.to_thread(
        CliRunner().invoke, cli.app, args, input="what services do you have?\n\nhaircut price\n"
    )
    assert result.exit_code == 0, result.output
    assert result.output == (
        "Our services:\n- Haircut: GBP 25.00 (45 min)\nOur prices:\n- Haircut: GBP 25.00 (45 min)\n"
    )
    # Stored as the webhook stores them: the inbound messages and nothing sent anywhere.
    inbound = [m.body for m in await rows(chat.gql, Message) if m.direction == "inbound"]
    assert inbound == ["what services do you have?", "haircut price"]


async def test_an_unknown_business_is_refused(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "get_settings", lambda: settings)
    args = ["chat", "--tenant", "nobody-here", "--phone", "+447700900123"]
    result = await asyncio.to_thread(CliRunner().invoke, cli.app, args, input="services\n")
    assert result.exit_code == 2
    assert "no business 'nobody-here'" in result.output
