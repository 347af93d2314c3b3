"""``bizzly chat``: a terminal standing in for a customer's phone, through the webhook's path."""

from __future__ import annotations

import asyncio

import pytest
from typer.testing import CliRunner

from bizzly import cli
from bizzly.settings import Settings
from domain.assistant import texts
from domain.conversations.models import Conversation, Message
from tests.domain.assistant.conftest import Chat, rows
from tests.support.customers import create_customer
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
    # Piped input is echoed so the output reads as the conversation.
    assert result.output == (
        "> what services do you have?\n"
        "< Our services:\n  - Haircut: GBP 25.00 (45 min)\n"
        "> haircut price\n"
        "< Our prices:\n  - Haircut: GBP 25.00 (45 min)\n"
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


async def test_consecutive_replies_are_kept_apart(
    chat: Chat, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("Ann", "Bob"):  # two profiles on one phone: an unmatched pick gets two replies
        email = f"{name.lower()}@example.com"
        await create_customer(chat.gql, chat.owner, name=name, email=email, phone="+447700900123")
    monkeypatch.setattr(cli, "get_settings", lambda: settings)
    args = ["chat", "--tenant", chat.owner.slug, "--phone", "+447700900123"]
    result = await asyncio.to_thread(CliRunner().invoke, cli.app, args, input="hello\nzzz\n")
    assert result.exit_code == 0, result.output
    profiles = (
        "< Multiple accounts found for this phone number:\n\n"
        "  1. Ann (ann@example.com)\n  2. Bob (bob@example.com)\n\n"
        "  Which profile would you like to use?\n  [Ann]\n  [Bob]\n"
    )
    assert result.output == (
        f"> hello\n{profiles}"
        f"> zzz\n< {texts.PICK_AGAIN}\n{profiles}"  # two replies to one message, each marked
    )


async def test_a_national_number_is_read_with_the_business_region(
    chat: Chat, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    await create_customer(chat.gql, chat.owner, name="Ann", email="ann@example.com", phone="+447700900123")
    monkeypatch.setattr(cli, "get_settings", lambda: settings)
    args = ["chat", "--tenant", chat.owner.slug, "--phone", "07700 900123"]  # the business is in GB
    result = await asyncio.to_thread(CliRunner().invoke, cli.app, args, input="Hi\n")
    assert result.exit_code == 0, result.output
    assert texts.NO_ACCOUNT not in result.output
    assert "Your verification code is:" in result.output
    (conversation,) = await rows(chat.gql, Conversation)
    assert conversation.phone_e164 == "+447700900123"


async def test_a_phone_the_region_cannot_read_is_refused(
    chat: Chat, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli, "get_settings", lambda: settings)
    args = ["chat", "--tenant", chat.owner.slug, "--phone", "not a phone"]
    result = await asyncio.to_thread(CliRunner().invoke, cli.app, args, input="Hi\n")
    assert result.exit_code == 2
    assert "--phone" in result.output
    assert "is not a phone number we can understand" in result.output
    assert await rows(chat.gql, Conversation) == []


def test_help_names_each_value_without_type_placeholders() -> None:
    result = CliRunner().invoke(cli.app, ["chat", "--help"], env={"COLUMNS": "100"})
    assert result.exit_code == 0
    assert "--tenant SLUG" in result.output
    assert "--phone PHONE" in result.output
    for placeholder in ("<bool>", "<str>", "<text>"):
        assert placeholder not in result.output
