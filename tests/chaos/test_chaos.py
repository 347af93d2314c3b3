"""The outbox, inbox and booking guarantees under faults, on a private deployment (``cluster.py``):
PostgreSQL and Redis of their own, ``bizzly serve`` and ``bizzly worker`` as processes, the fake Graph API.

While signed WhatsApp messages (each answered by the assistant through ``whatsapp.send``) and GraphQL
traffic (reads, concurrent bookings of one slot, a subscriber racing its quota) keep coming, in turn:

1. the worker is killed (SIGKILL) after Meta accepted a send and before its row committed
   (``BIZZLY_CHAOS_POINT``, ``workers/chaos.py``), and started again;
2. Redis is killed and started again, empty (the queued messages are gone; the lease brings them back);
3. PostgreSQL is restarted (every pooled connection dies);
4. Meta hangs past the client's timeout on a send.

Then: every message Meta delivered is stored once (inbox and conversation), every outbox row is done, no
contested slot holds more bookings than its capacity, a subscriber booking five slots at once got exactly
its quota of two, and Meta received each reply once -- a reply reached it more than once only when its row
ran more than once (a worker died, or a commit failed, after Meta's answer), and the kill did cost one.
A webhook or request refused during an outage is retried, as Meta and browsers do.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bizzly.crypto import KeyRing
from bizzly.db.engine import make_engine
from bizzly.model_registry import import_all
from bizzly.outbox import InboxEvent, OutboxRow, OutboxStatus
from bizzly.settings import Settings
from domain.conversations.models import Conversation, Message
from domain.scheduling.models import Booking, BookingStatus
from domain.subscriptions.models import QuotaUse
from tests.chaos.cluster import Deployment, pg_bin
from tests.fakes.meta import MetaFake, encode, running_meta_fake, text_message
from tests.integrations.whatsapp.conftest import APP_SECRET, connect
from tests.support.accounts import sign_up
from tests.support.customers import row_id
from tests.support.graphql import GraphQLClient
from tests.support.scheduling import create_service, local, next_weekday, set_hours

# In the PostgreSQL pass of `make test` only: the deployment is its own either way, once is enough.
pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(pg_bin() is None, reason="PostgreSQL server binaries (initdb, pg_ctl) are missing"),
]

import_all()

KEYS = "chaos-key-" + "c" * 40
SEND_TOPIC = "whatsapp.send"
_wamids = itertools.count(1)


@pytest.fixture
async def meta() -> AsyncIterator[MetaFake]:
    async with running_meta_fake() as fake:
        yield fake


@pytest.fixture
async def deployment(meta: MetaFake) -> AsyncIterator[Deployment]:
    found = Deployment(
        secret_keys=KEYS,
        extra_env={
            "BIZZLY_WHATSAPP_GRAPH_URL": meta.url,
            "BIZZLY_WHATSAPP_APP_SECRET": APP_SECRET,
            "BIZZLY_OUTBOX_LEASE_SECONDS": "5",
            "BIZZLY_RELAY_INTERVAL_SECONDS": "0.2",
        },
    )
    try:
        await asyncio.to_thread(found.start_services)
        found.server.start()
        await found.wait_ready()
        yield found
    except BaseException:
        print("--- server\n" + found.server.tail() + "\n--- worker\n" + found.worker.tail())
        raise
    finally:
        found.close()


class Traffic:
    """Webhooks and GraphQL requests, each retried until answered (as Meta and a browser would)."""

    def __init__(self, http: httpx.AsyncClient, meta: MetaFake, numbers: list[str]) -> None:
        self.http, self.meta, self.numbers = http, meta, numbers
        self.delivered: dict[str, str] = {}  # wamid -> the sender's wa_id (one sender per message)
        self.refused = 0

    async def message(self, number: str) -> None:
        n = next(_wamids)
        wamid, wa_id = f"wamid.CHAOS{n:06d}", f"4477009{n:05d}"
        raw = encode(text_message(number, wa_id=wa_id, text="What services do you offer?", wamid=wamid))
        while True:
            try:
                response = await self.meta.post_webhook(self.http, raw, secret=APP_SECRET)
                if response.status_code == 200:
                    self.delivered[wamid] = wa_id
                    return
            except httpx.TransportError:
                pass
            self.refused += 1
            await asyncio.sleep(0.3)

    async def burst(self, count: int) -> None:
        await asyncio.gather(*(self.message(self.numbers[i % len(self.numbers)]) for i in range(count)))

    async def retried(self, call: Any) -> Any:
        for _ in range(100):
            try:
                result = await call()
                if not result.errors:
                    return result
            except (httpx.TransportError, ValueError):
                pass
            self.refused += 1
            await asyncio.sleep(0.3)
        raise AssertionError("a GraphQL request failed for 30 seconds")


async def _owner_session(deployment: Deployment) -> tuple[Any, AsyncSession]:
    engine = make_engine(deployment.env["BIZZLY_DATABASE_OWNER_URL"], null_pool=True)
    return engine, AsyncSession(engine)


async def _scalar(deployment: Deployment, stmt: Any) -> Any:
    engine, session = await _owner_session(deployment)
    try:
        async with session:
            return (await session.execute(stmt)).scalar_one()
    finally:
        await engine.dispose()


async def _rows(deployment: Deployment, stmt: Any) -> list[Any]:
    engine, session = await _owner_session(deployment)
    try:
        async with session:
            return list((await session.execute(stmt)).all())
    finally:
        await engine.dispose()


async def _entities(deployment: Deployment, stmt: Any) -> list[Any]:
    engine, session = await _owner_session(deployment)
    try:
        async with session:
            return list((await session.scalars(stmt)).all())
    finally:
        await engine.dispose()


async def _wait(what: str, check: Any, within: float) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


async def test_no_message_is_lost_or_doubled_through_kills_and_outages(
    deployment: Deployment, meta: MetaFake
) -> None:
    async with httpx.AsyncClient(base_url=deployment.url, timeout=30) as http:
        gql = GraphQLClient(http)
        owners = [await sign_up(gql, slug=f"chaos-{i}") for i in range(2)]
        for owner in owners:
            payload = await connect(gql, owner, meta)
            assert payload["errors"] == [], payload
        numbers = list(meta.numbers)
        token = owners[0].access_token
        await set_hours(gql, token)
        service = await create_service(gql, token, name="Chair", capacity=2)
        customers = []
        for i in range(6):
            created = await gql.op(
                "CreateCustomer",
                {"input": {"name": f"C {i}", "email": f"c{i}@chaos.example.com"}},
                token=token,
            )
            customers.append(created.data["createCustomer"]["customer"]["id"])
        # A subscriber whose plan covers two bookings a month, booking five free slots at once.
        plan = await gql.op(
            "CreatePlan",
            {
                "input": {
                    "name": "Two",
                    "quota": 2,
                    "period": "MONTH",
                    "price": {"amount": 100, "currency": "GBP"},
                }
            },
            token=token,
        )
        subscribed = await gql.op(
            "SubscribeCustomer",
            {"input": {"customerId": customers[0], "planId": plan.data["createPlan"]["plan"]["id"]}},
            token=token,
        )
        assert subscribed.data["subscribeCustomer"]["errors"] == []
        slot = local(next_weekday(1), 10)
        traffic = Traffic(http, meta, numbers)

        async def book_at(customer: str, minutes: int) -> None:
            await traffic.retried(
                lambda: gql.op(
                    "CreateBooking",
                    {
                        "input": {
                            "serviceId": service["id"],
                            "customerId": customer,
                            "startsAt": (slot + timedelta(minutes=minutes)).isoformat(),
                        }
                    },
                    token=token,
                )
            )

        async def bookings(offset: int) -> None:
            """Every other customer at once for the slot ``offset`` minutes after 10:00 (capacity 2)."""
            await asyncio.gather(*(book_at(c, offset) for c in customers[1:]))

        async def subscriber() -> None:
            """The subscriber at 09:00, 11:00, 13:00, 15:00 and 16:00 at once: its quota allows two."""
            await asyncio.gather(*(book_at(customers[0], m) for m in (-60, 60, 180, 300, 360)))

        async def reads() -> None:
            await traffic.retried(lambda: gql.op("Viewer", {}, token=token))

        # 1. The worker dies between Meta's answer and the commit of the first send.
        deployment.worker.start(
            BIZZLY_CHAOS_POINT="after_provider_before_commit", BIZZLY_CHAOS_TOPIC=SEND_TOPIC
        )
        await asyncio.gather(traffic.burst(6), bookings(0), reads())

        async def worker_died() -> bool:
            return not deployment.worker.alive()

        await _wait("the worker to die at the chaos point", worker_died, 60)
        assert deployment.worker.process is not None
        assert deployment.worker.process.returncode == -9
        kills = 1
        deployment.worker.start()

        # 2. Redis dies with what it queued, and comes back empty.
        await traffic.burst(4)
        deployment.redis.kill()
        await asyncio.gather(traffic.burst(4), bookings(120), reads())
        deployment.redis.start()

        # 3. PostgreSQL restarts under load: webhooks and requests are refused meanwhile, then retried.
        burst = asyncio.gather(traffic.burst(6), bookings(240), subscriber(), reads())
        await asyncio.to_thread(deployment.pg.stop, "fast")
        await asyncio.sleep(0.5)
        await asyncio.to_thread(deployment.pg.start)
        await burst

        # 4. Meta hangs past the client's 10-second timeout on one send (which is then retried).
        meta.delays.append(12.0)
        await traffic.burst(4)

        async def settled() -> bool:
            open_rows = await _scalar(
                deployment,
                select(func.count()).select_from(OutboxRow).where(OutboxRow.status != OutboxStatus.DONE),
            )
            return int(open_rows) == 0 and await _scalar(
                deployment, select(func.count()).select_from(InboxEvent)
            ) >= len(traffic.delivered)

        await _wait("every outbox row to be done", settled, 120)
        assert deployment.worker.alive(), deployment.worker.tail()
        assert deployment.server.alive(), deployment.server.tail()

    # Every message delivered is stored once, and became one inbound conversation message.
    stored = [r[0] for r in await _rows(deployment, select(InboxEvent.external_id))]
    assert sorted(stored) == sorted(traffic.delivered)
    inbound = [
        r[0] for r in await _rows(deployment, select(Message.wamid).where(Message.direction == "inbound"))
    ]
    assert sorted(inbound) == sorted(traffic.delivered)
    # Every row is done (none dead, none left behind).
    statuses = await _rows(deployment, select(OutboxRow.status, func.count()).group_by(OutboxRow.status))
    assert dict(statuses) == {OutboxStatus.DONE: dict(statuses)[OutboxStatus.DONE]}
    # Meta got each reply (one per message, to its sender), committed with Meta's id; a reply reached Meta
    # more than once only when its row ran more than once (a run that died or failed after Meta answered).
    keys = KeyRing(Settings(secret_keys=KEYS).key_ring())
    send_rows = await _entities(deployment, select(OutboxRow).where(OutboxRow.topic == SEND_TOPIC))
    attempts = {row.data(keys)["message_id"]: row.attempts for row in send_rows}
    replies = await _rows(
        deployment,
        select(Message.id, Message.wamid, Message.status, Conversation.phone_e164)
        .join(
            Conversation,
            (Conversation.tenant_id == Message.tenant_id) & (Conversation.id == Message.conversation_id),
        )
        .where(Message.direction == "outbound"),
    )
    to_meta: dict[str, list[str]] = {}
    for sent in meta.sends:
        to_meta.setdefault(sent.to, []).append(sent.wamid)
    assert sorted(p.lstrip("+") for _, _, _, p in replies) == sorted(traffic.delivered.values())
    for message_id, wamid, status, phone in replies:
        assert status == "sent", (phone, status)
        received = to_meta[phone.lstrip("+")]
        assert wamid in received
        assert len(received) <= attempts[str(message_id)], (phone, received, attempts[str(message_id)])
    duplicates = len(meta.sends) - len(replies)
    assert duplicates >= kills, "the kill after Meta's answer must cost a duplicate send"
    print(f"chaos: {len(replies)} replies, {duplicates} duplicates, {traffic.refused} refused and retried")
    # No slot over its capacity (2) at any of the three contested times; the subscriber within its quota.
    confirmed = await _rows(
        deployment,
        select(Booking.starts_at, Booking.customer_id).where(Booking.status == BookingStatus.CONFIRMED),
    )
    subscriber_id = str(row_id(customers[0]))
    contested = Counter(at for at, who in confirmed if str(who) != subscriber_id)
    assert sorted(contested.values()) == [2, 2, 2], contested
    assert len([at for at, who in confirmed if str(who) == subscriber_id]) == 2, confirmed
    assert int(await _scalar(deployment, select(func.count()).select_from(QuotaUse))) == 2
    assert traffic.refused > 0  # the outages were real: some requests had to be retried
