"""Replies go out through the outbox and the Cloud API: throttling and 5xx are retried until delivered
(never twice), 190 marks the connection needs_reauth, the 24-hour window falls back to a template or is
reported, statuses move messages forward only, and verification codes never reach the log in clear."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from bizzly import clock
from bizzly.db.engine import MaintenanceUse
from bizzly.outbox import OutboxRow
from domain.conversations import service as conversations
from domain.conversations.models import Conversation, Message
from tests.fakes.meta import MetaFake, status_update, text_message
from tests.integrations.whatsapp.conftest import APP_SECRET, business, database, rows
from tests.support.accounts import _services
from tests.support.graphql import GraphQLClient
from tests.support.outbox import drain_outbox


def _settings(gql: GraphQLClient):  # type: ignore[no-untyped-def]
    return _services(gql).settings


async def _inbound(
    http: httpx.AsyncClient, meta: MetaFake, number: str, n: int, *, prefix: str = "I"
) -> None:
    for i in range(n):
        payload = text_message(
            number, wa_id=f"44770090{i:04d}", text=f"hello {i}", wamid=f"wamid.{prefix}{i}"
        )
        assert (await meta.post_webhook(http, payload, secret=APP_SECRET)).status_code == 200


async def _drain_until_quiet(gql: GraphQLClient, *, step: timedelta, rounds: int = 12) -> None:
    for _ in range(rounds):
        await drain_outbox(_settings(gql))
        clock.advance(step)
    await drain_outbox(_settings(gql))


async def test_throttling_then_5xx_every_reply_delivered_once_after_recovery(
    gql: GraphQLClient, http: httpx.AsyncClient, meta: MetaFake
) -> None:
    biz = await business(gql, meta, "glow")
    await _inbound(http, meta, biz.numbers[0], 5)
    meta.fail_next("throttle", 2)
    meta.fail_next("server", 3)
    meta.fail_next("pair", 1)
    meta.fail_next("http429", 1)
    await _drain_until_quiet(gql, step=timedelta(minutes=2))
    recipients = sorted(s.to for s in meta.sends)
    assert meta.failures == []  # every queued failure was served
    assert recipients == [f"44770090{i:04d}" for i in range(5)]
    outbound = [m for m in await rows(gql, Message) if m.direction == "outbound"]
    assert sorted(m.status for m in outbound) == ["sent"] * 5
    assert {m.wamid for m in outbound} == {s.wamid for s in meta.sends}
    sends = await rows(gql, OutboxRow, OutboxRow.topic == "whatsapp.send")
    assert {r.status for r in sends} == {"done"}


async def test_an_expired_token_marks_the_connection_needs_reauth(
    gql: GraphQLClient, http: httpx.AsyncClient, meta: MetaFake
) -> None:
    biz = await business(gql, meta, "glow")
    await _inbound(http, meta, biz.numbers[0], 1)
    meta.fail_next("token")
    await drain_outbox(_settings(gql))
    listed = (await gql.op("Connections", token=biz.owner.access_token)).data["connections"]
    assert [c["status"] for c in listed] == ["NEEDS_REAUTH"]
    assert "190" in listed[0]["lastError"]
    [reply] = [m for m in await rows(gql, Message) if m.direction == "outbound"]
    assert (reply.status, reply.error_code) == ("failed", 190)
    assert meta.sends == []


async def test_outside_the_window_falls_back_to_a_template_or_is_reported(
    gql: GraphQLClient, http: httpx.AsyncClient, meta: MetaFake
) -> None:
    biz = await business(gql, meta, "glow")
    meta.add_template("booking_reminder", body_params=1)
    await _inbound(http, meta, biz.numbers[0], 1)
    await drain_outbox(_settings(gql))
    clock.advance(timedelta(hours=25))
    db = database(gql)
    keys = _services(gql).keys
    async with db.tenant_session(biz.tenant_id) as s, s.begin():
        [conversation] = (await s.execute(select(Conversation))).scalars().all()
        await conversations.queue_reply(
            s,
            keys=keys,
            conversation=conversation,
            reply=conversations.Reply(text="Your booking is tomorrow"),
        )
        await conversations.queue_reply(
            s,
            keys=keys,
            conversation=conversation,
            reply=conversations.Reply(
                text="Your booking is tomorrow",
                fallback=conversations.Template(name="booking_reminder", params=["tomorrow"]),
            ),
        )
    before = len(meta.sends)
    await drain_outbox(_settings(gql))
    late = meta.sends[before:]
    assert [s.body["type"] for s in late] == ["template"]
    assert late[0].body["template"]["name"] == "booking_reminder"
    outbound = sorted(
        (m for m in await rows(gql, Message) if m.direction == "outbound"), key=lambda m: m.created_at
    )
    assert [(m.status, m.error_code) for m in outbound[1:]] == [("failed", 131047), ("sent", None)]
    # Meta answering 131047 itself (its clock, not ours) is not retried as is either.
    async with db.tenant_session(biz.tenant_id) as s, s.begin():
        conversation.last_inbound_at = clock.now()
        s.add(await s.merge(conversation))
        await conversations.queue_reply(
            s, keys=keys, conversation=conversation, reply=conversations.Reply(text="x")
        )
    meta.fail_next("window")
    await drain_outbox(_settings(gql))
    last = sorted((m for m in await rows(gql, Message)), key=lambda m: m.created_at)[-1]
    assert (last.status, last.error_code) == ("failed", 131047)


async def test_statuses_move_forward_only_whatever_their_order(
    gql: GraphQLClient, http: httpx.AsyncClient, meta: MetaFake
) -> None:
    biz = await business(gql, meta, "glow")
    number = biz.numbers[0]
    await _inbound(http, meta, number, 2)
    await drain_outbox(_settings(gql))
    first, second = meta.sends[0].wamid, meta.sends[1].wamid
    for wamid, status, code in [
        (first, "read", None),
        (first, "delivered", None),
        (first, "sent", None),
        (second, "delivered", None),
        (second, "failed", 131026),
        (second, "sent", None),
    ]:
        payload = status_update(number, wamid=wamid, status=status, error_code=code)
        assert (await meta.post_webhook(http, payload, secret=APP_SECRET)).status_code == 200
    await drain_outbox(_settings(gql))
    by_wamid = {m.wamid: m for m in await rows(gql, Message)}
    assert by_wamid[first].status == "read"
    assert (by_wamid[second].status, by_wamid[second].error_code) == ("failed", 131026)
    assert "It failed." in (by_wamid[second].error or "")


async def test_a_verification_code_is_encrypted_in_the_outbox_and_redacted_in_the_log(
    gql: GraphQLClient, http: httpx.AsyncClient, meta: MetaFake
) -> None:
    biz = await business(gql, meta, "glow")
    await _inbound(http, meta, biz.numbers[0], 1)
    await drain_outbox(_settings(gql))
    db = database(gql)
    keys = _services(gql).keys
    async with db.tenant_session(biz.tenant_id) as s, s.begin():
        [conversation] = (await s.execute(select(Conversation))).scalars().all()
        await conversations.queue_reply(
            s,
            keys=keys,
            conversation=conversation,
            reply=conversations.Reply(template=conversations.Template(name="bizzly_otp", code="482913")),
        )
        await conversations.queue_reply(
            s,
            keys=keys,
            conversation=conversation,
            reply=conversations.Reply(
                text="Your verification code is: 731555", log_text=conversations.REDACTED_CODE
            ),
        )
    async with db.maintenance_session(MaintenanceUse.TESTS) as s:
        raw = [r.payload for r in (await s.execute(select(OutboxRow))).scalars()]
    assert not any("482913" in p or "731555" in p for p in raw)
    await drain_outbox(_settings(gql))
    template = meta.sends[-2].body["template"]
    assert template["components"][0]["parameters"][0]["text"] == "482913"
    assert template["components"][1]["parameters"][0]["text"] == "482913"
    assert meta.sends[-1].text == "Your verification code is: 731555"
    bodies = [m.body or "" for m in await rows(gql, Message)]
    assert not any("482913" in b or "731555" in b for b in bodies)
    result = await gql.op("Conversations", {"first": 5}, token=biz.owner.access_token)
    logged = [
        e["node"]["body"] for e in result.data["conversations"]["edges"][0]["node"]["messages"]["edges"]
    ]
    assert logged[-2:] == [conversations.REDACTED_CODE, conversations.REDACTED_CODE]


async def test_only_a_worker_dying_after_metas_answer_sends_twice(
    gql: GraphQLClient, http: httpx.AsyncClient, meta: MetaFake, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The named point: Meta accepted the send, the worker dies before its transaction commits. The row
    # is retried, so that one reply goes out twice (at least once, docs/design.md section 5); the others once.
    biz = await business(gql, meta, "glow")
    await _inbound(http, meta, biz.numbers[0], 3)
    real = conversations.mark_sent
    died: list[str] = []

    def dies_once(message: Message, *, wamid: str) -> None:
        if not died:
            died.append(wamid)
            raise RuntimeError("worker died between the provider's answer and the commit")
        real(message, wamid=wamid)

    monkeypatch.setattr(conversations, "mark_sent", dies_once)
    await _drain_until_quiet(gql, step=timedelta(minutes=1), rounds=3)
    by_recipient: dict[str, int] = {}
    for send in meta.sends:
        by_recipient[send.to] = by_recipient.get(send.to, 0) + 1
    assert sorted(by_recipient.values()) == [1, 1, 2]
    outbound = [m for m in await rows(gql, Message) if m.direction == "outbound"]
    assert sorted(m.status for m in outbound) == ["sent"] * 3
