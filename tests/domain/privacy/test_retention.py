"""Retention: exactly what is past its time goes, in bounded batches, while webhooks keep being stored;
running twice or twice at once is harmless; the scheduler runs it per tenant."""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, insert, select

from bizzly import clock
from bizzly.crypto import KeyRing
from bizzly.db.engine import Database, MaintenanceUse
from bizzly.ids import new_id
from bizzly.outbox import InboxEvent, OutboxRow
from bizzly.settings import Settings
from bizzly.tasks import periodic_jobs
from bizzly.wiring import import_handlers
from domain.assistant.models import AssistantSession, AuthEvent, ConversationState, VerificationCode
from domain.conversations.models import Conversation, Message
from domain.privacy.jobs import RETENTION_JOB, RETENTION_TOPIC
from domain.privacy.retention import purge_tenant
from tests.fakes.meta import MetaFake, text_message
from tests.integrations.whatsapp.conftest import APP_SECRET, Business, business, whatsapp_settings
from tests.support.accounts import _services
from tests.support.customers import create_customer, row_id
from tests.support.graphql import GraphQLClient
from tests.support.outbox import drain_outbox
from workers.scheduler import Scheduler

BATCH = 5000
_wamids = itertools.count(1)


@pytest.fixture
def settings(database_settings: dict[str, str], meta: MetaFake) -> Settings:
    return whatsapp_settings(database_settings, meta, retention_batch_size=BATCH)


def db_of(gql: GraphQLClient) -> Database:
    db: Database = _services(gql).db
    return db


async def count(gql: GraphQLClient, model: Any, *where: Any) -> int:
    async with db_of(gql).maintenance_session(MaintenanceUse.TESTS, write=False) as s:
        return int((await s.execute(select(func.count()).select_from(model).where(*where))).scalar_one())


async def seed_messages(
    gql: GraphQLClient, tenant_id: uuid.UUID, *, old: int, recent: int, now: datetime, edges: bool = True
) -> uuid.UUID:
    """One conversation with ``old`` messages past 30 days before ``now`` and ``recent`` within them, one
    of each a second either side of the limit. Bulk inserts: set-up takes seconds, not minutes."""
    limit = now - timedelta(days=30)
    conversation = new_id()
    async with db_of(gql).maintenance_session(MaintenanceUse.TESTS) as s, s.begin():
        await s.execute(
            insert(Conversation),
            [
                {
                    "tenant_id": tenant_id,
                    "id": conversation,
                    "channel": "whatsapp",
                    "user_key": f"4477009{str(conversation.int)[-5:]}",
                    "verified": False,
                    "last_message_at": now,
                    "created_at": now - timedelta(days=90),
                }
            ],
        )

        def row(at: datetime, n: int) -> dict[str, Any]:
            return {
                "tenant_id": tenant_id,
                "id": new_id(),
                "conversation_id": conversation,
                "direction": "inbound",
                "kind": "text",
                "body": f"message {n}",
                "status": "received",
                "created_at": at,
            }

        if edges:
            stamps = [limit - timedelta(seconds=1)] + [
                limit - timedelta(days=1, seconds=i) for i in range(old - 1)
            ]
            stamps += [limit + timedelta(seconds=1)] + [now - timedelta(seconds=i) for i in range(recent - 1)]
        else:  # a day clear of the limit either side
            stamps = [limit - timedelta(days=1, seconds=i) for i in range(old)]
            stamps += [limit + timedelta(days=1, seconds=i) for i in range(recent)]
        for start in range(0, len(stamps), 20_000):
            await s.execute(
                insert(Message), [row(at, start + i) for i, at in enumerate(stamps[start : start + 20_000])]
            )
    return conversation


async def seed_rest(gql: GraphQLClient, tenant_id: uuid.UUID, customer_id: uuid.UUID) -> None:
    """Webhooks, auth events and the assistant's rows either side of their limits."""
    now = clock.now()
    async with db_of(gql).maintenance_session(MaintenanceUse.TESTS) as s, s.begin():
        await s.execute(
            insert(InboxEvent),
            [
                {
                    "tenant_id": tenant_id,
                    "id": new_id(),
                    "source": "seed",
                    "external_id": f"seed-{i}",
                    "payload": "{}",
                    "received_at": now - timedelta(days=31 if i < 300 else 29),
                    "processed_at": now - timedelta(days=31 if i < 300 else 29),
                }
                for i in range(400)
            ],
        )
        await s.execute(
            insert(AuthEvent),
            [
                {
                    "tenant_id": tenant_id,
                    "id": new_id(),
                    "kind": "VERIFIED",
                    "phone": "+447700900123",
                    "user_key": "447700900123",
                    "created_at": now - timedelta(days=91 if i < 7 else 89),
                }
                for i in range(10)
            ],
        )
        s.add_all(
            [
                ConversationState(
                    tenant_id=tenant_id,
                    id=new_id(),
                    user_key="gone",
                    state="{}",
                    expires_at=now - timedelta(minutes=1),
                ),
                ConversationState(
                    tenant_id=tenant_id,
                    id=new_id(),
                    user_key="live",
                    state="{}",
                    expires_at=now + timedelta(hours=1),
                ),
                VerificationCode(
                    tenant_id=tenant_id,
                    id=new_id(),
                    user_key="gone",
                    customer_id=customer_id,
                    code_hmac="0" * 64,
                    delivery="chat",
                    created_at=now - timedelta(hours=3),
                    expires_at=now - timedelta(hours=2),
                ),
                # Expired 31 days ago: the marker has had its time. 29 days ago: it still says "expired".
                AssistantSession(
                    tenant_id=tenant_id,
                    id=new_id(),
                    user_key="old-marker",
                    customer_id=customer_id,
                    started_at=now - timedelta(days=32),
                    expires_at=now - timedelta(days=31),
                ),
                AssistantSession(
                    tenant_id=tenant_id,
                    id=new_id(),
                    user_key="marker",
                    customer_id=customer_id,
                    started_at=now - timedelta(days=30),
                    expires_at=now - timedelta(days=29),
                ),
            ]
        )


async def post_webhook(gql: GraphQLClient, http: httpx.AsyncClient, meta: MetaFake, biz: Business) -> None:
    n = next(_wamids)
    payload = text_message(biz.numbers[0], wa_id=f"4477009{n:05d}", text=f"hello {n}", wamid=f"wamid.keep{n}")
    response = await meta.post_webhook(http, payload, secret=APP_SECRET)
    assert response.status_code == 200, response.text


async def test_200k_messages_purged_in_batches_while_webhooks_are_stored(
    gql: GraphQLClient, http: httpx.AsyncClient, meta: MetaFake, settings: Settings
) -> None:
    # 200,000 messages on both dialects (SQLite too: bulk set-up keeps it to seconds).
    old, recent = 120_000, 80_000
    t0 = clock.now()  # "now" for the seed and the purge alike: the limit is exact to the second
    biz = await business(gql, meta, "keep-salon")
    other = await business(gql, meta, "other-salon")
    customer = await create_customer(gql, biz.owner, name="Sarah", email="sarah@example.com")
    await seed_messages(gql, biz.tenant_id, old=old, recent=recent, now=t0)
    await seed_messages(gql, other.tenant_id, old=10, recent=10, now=t0)
    await seed_rest(gql, biz.tenant_id, row_id(customer["id"]))
    inbox_before = await count(gql, InboxEvent, InboxEvent.tenant_id == biz.tenant_id)

    purge = asyncio.create_task(purge_tenant(db_of(gql), settings=settings, tenant_id=biz.tenant_id, now=t0))
    during = 0
    started = time.monotonic()
    while not purge.done():
        await post_webhook(gql, http, meta, biz)
        during += not purge.done()
    report = await purge
    elapsed = time.monotonic() - started

    # Webhooks were accepted and stored all along the purge.
    assert during >= 3, (during, elapsed)
    assert await count(gql, InboxEvent, InboxEvent.tenant_id == biz.tenant_id) == inbox_before - 300 + (
        next(_wamids) - 1
    )
    # Exactly the messages past 30 days went, 5,000 per transaction.
    assert report.messages == old
    assert report.batches["messages"] == [BATCH] * (old // BATCH)
    assert await count(gql, Message, Message.tenant_id == biz.tenant_id) == recent
    oldest = t0 - timedelta(days=30)
    assert await count(gql, Message, Message.tenant_id == biz.tenant_id, Message.created_at < oldest) == 0
    # Webhooks past 30 days, auth events past 90, expired states and codes, markers past 30 days.
    assert (report.inbox_events, report.auth_events) == (300, 7)
    assert await count(gql, AuthEvent) == 3
    assert sorted(
        (await _all(gql, ConversationState.user_key)) + (await _all(gql, AssistantSession.user_key))
    ) == ["live", "marker"]
    assert await count(gql, VerificationCode) == 0
    # Another business's messages are its own purge's business.
    assert await count(gql, Message, Message.tenant_id == other.tenant_id) == 20


async def _all(gql: GraphQLClient, column: Any, *where: Any) -> list[Any]:
    async with db_of(gql).maintenance_session(MaintenanceUse.TESTS, write=False) as s:
        return list((await s.execute(select(column).where(*where))).scalars())


async def test_twice_and_twice_at_once_is_harmless(
    gql: GraphQLClient, meta: MetaFake, settings: Settings
) -> None:
    biz = await business(gql, meta, "keep-salon")
    t0 = clock.now()
    await seed_messages(gql, biz.tenant_id, old=12_000, recent=1_000, now=t0)
    small = make_settings_like(settings, retention_batch_size=1000)
    one, two = await asyncio.gather(
        purge_tenant(db_of(gql), settings=small, tenant_id=biz.tenant_id, now=t0),
        purge_tenant(db_of(gql), settings=small, tenant_id=biz.tenant_id, now=t0),
    )
    assert one.messages + two.messages == 12_000
    assert all(size <= 1000 for size in one.batches["messages"] + two.batches["messages"])
    again = await purge_tenant(db_of(gql), settings=small, tenant_id=biz.tenant_id, now=t0)
    assert (again.messages, again.batches["messages"]) == (0, [])
    assert await count(gql, Message) == 1_000


def make_settings_like(settings: Settings, **changes: Any) -> Settings:
    return settings.model_copy(update=changes)


async def test_the_scheduler_purges_every_tenant_once_per_tick(
    gql: GraphQLClient, meta: MetaFake, settings: Settings
) -> None:
    import_handlers()
    a = await business(gql, meta, "keep-salon")
    b = await business(gql, meta, "other-salon")
    for biz in (a, b):
        await seed_messages(gql, biz.tenant_id, old=50, recent=5, now=clock.now(), edges=False)
    # A business with nothing expired gets no purge at all.
    fresh = await business(gql, meta, "fresh-salon")
    await seed_messages(gql, fresh.tenant_id, old=0, recent=5, now=clock.now(), edges=False)
    [job] = [j for j in periodic_jobs() if j.name == RETENTION_JOB]
    scheduler = Scheduler(
        db=db_of(gql),
        settings=settings,
        keys=KeyRing(settings.key_ring()),
        send=None,
        holder="test",
        jobs=[job],
    )
    assert await scheduler.fire_due() == [RETENTION_JOB]
    assert await scheduler.fire_due() == []  # the same tick: not again
    purged = await _all(gql, OutboxRow.tenant_id, OutboxRow.topic == RETENTION_TOPIC)
    assert sorted(purged) == sorted([a.tenant_id, b.tenant_id])
    statuses = await drain_outbox(settings)
    assert set(statuses.values()) == {"done"}
    assert await count(gql, Message) == 15


async def test_the_purge_steps_back_as_long_as_a_slow_batch_took(
    gql: GraphQLClient, meta: MetaFake, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A database slowed by live traffic: each batch takes 0.2 s. The purge then pauses at least as long
    # after each one, so it holds the database at most half the time (the configured pause is far shorter).
    biz = await business(gql, meta, "slow-salon")
    batches: list[tuple[float, float]] = []

    async def slow_batch(session: Any, *, before: datetime, limit: int) -> int:
        began = time.monotonic()
        await asyncio.sleep(0.2)
        batches.append((began, time.monotonic()))
        return limit if len(batches) < 4 else 0

    monkeypatch.setattr("domain.privacy.retention_repository.delete_messages_before", slow_batch)
    await purge_tenant(db_of(gql), settings=settings, tenant_id=biz.tenant_id)
    gaps = [nxt[0] - end for (_, end), nxt in itertools.pairwise(batches)]
    assert len(gaps) == 3
    assert all(gap >= 0.19 for gap in gaps), gaps
    assert settings.retention_pause_ms / 1000 < 0.1
