"""Whatever arrives, in whatever state: a clear answer, no crash, nothing changed."""

from __future__ import annotations

import pytest

from domain.assistant import texts
from domain.assistant.messages import Inbound, Reply
from tests.domain.assistant.conftest import PHONE, Chat, code_of, snapshot
from tests.support.customers import create_customer

BAD_INPUT: dict[str, tuple[Inbound, str]] = {
    "empty": (Inbound(kind="text", text=""), texts.EMPTY),
    "blank": (Inbound(kind="text", text=" \n\t "), texts.EMPTY),
    "no text at all": (Inbound(kind="text", text=None), texts.EMPTY),
    "4,096 characters": (Inbound(kind="text", text="a" * 4096), texts.TOO_LONG.format(limit="1,000")),
    "emoji only": (Inbound(kind="text", text="😀🎉👍"), texts.NO_WORDS),
    "punctuation only": (Inbound(kind="text", text="?!..."), texts.NO_WORDS),
    "image": (Inbound(kind="media", media_type="image"), texts.TEXT_ONLY),
    "voice": (Inbound(kind="media", media_type="voice"), texts.TEXT_ONLY),
    "sticker": (Inbound(kind="unsupported", media_type="sticker"), texts.TEXT_ONLY),
    "unknown interactive id": (
        Inbound(kind="interactive", reply_id="weird:42", text="?"),
        texts.UNKNOWN_CHOICE,
    ),
    "interactive without id": (Inbound(kind="interactive"), texts.UNKNOWN_CHOICE),
    "reply to an old list": (
        Inbound(kind="interactive", reply_id="p:0badc0de:0", text="Sarah"),
        texts.OLD_LIST,
    ),
}


async def _people(chat: Chat) -> None:
    await create_customer(chat.gql, chat.owner, name="Sarah Jones", email="sarah@example.com", phone=PHONE)
    await create_customer(chat.gql, chat.owner, name="Tom Jones", email="tom@example.com", phone=PHONE)


async def _into(chat: Chat, state: str) -> list[Reply]:
    await _people(chat)
    if state == "choosing":
        return await chat.say("Hi")
    if state == "code pending":
        await chat.say("Hi")
        return await chat.say("1")
    if state == "verified":
        await chat.say("Hi")
        await chat.say(code_of((await chat.say("1"))[0]))
    return []


@pytest.mark.parametrize("state", ["new", "choosing", "code pending", "verified"])
async def test_bad_input_gets_a_clear_answer_and_changes_nothing(chat: Chat, state: str) -> None:
    await _into(chat, state)
    before = await snapshot(chat.gql)
    for name, (inbound, expected) in BAD_INPUT.items():
        replies = await chat.send(inbound)
        assert [r.text for r in replies] == [expected], name
        assert await snapshot(chat.gql) == before, name


async def test_a_reply_to_a_list_that_was_replaced_is_recognised(chat: Chat) -> None:
    (old_list,) = await _into(chat, "choosing")
    assert await chat.texts("log out") == [texts.NOT_LOGGED_IN]
    (new_list,) = await chat.say("Hi")
    assert new_list.text == old_list.text
    assert new_list.choices[0].id != old_list.choices[0].id
    before = await snapshot(chat.gql)
    assert await chat.tap(old_list.choices[0].id, "Sarah Jones") == [Reply(text=texts.OLD_LIST)]
    assert await snapshot(chat.gql) == before
    # The current list still works.
    (reply,) = await chat.tap(new_list.choices[0].id)
    assert reply.holds_code


async def test_a_long_list_falls_back_to_numbered_text(chat: Chat) -> None:
    for i in range(11):
        await create_customer(
            chat.gql, chat.owner, name=f"Person {i}", email=f"p{i}@example.com", phone=PHONE
        )
    (listing,) = await chat.say("Hi")
    assert listing.kind == "text"
    assert listing.choices == []
    assert "11. Person 10 (p10@example.com)" in listing.text
    assert (await chat.say("11"))[0].holds_code


async def test_a_sender_without_any_id_gets_no_reply(chat: Chat) -> None:
    from domain.assistant.messages import Sender

    assert await chat.other(sender=Sender(wa_id=None)).say("Hi") == []
