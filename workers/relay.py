"""The outbox relay: hands due rows of every tenant to the broker.

Due means pending with ``available_at`` reached, or dispatched longer ago than the lease
(``BIZZLY_OUTBOX_LEASE_SECONDS``: its worker died, or its message was lost). Rows are claimed in batches on
the maintenance session (``MaintenanceUse.OUTBOX_RELAY``) with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so
relays in several processes never claim the same row and never touch a row a worker is running (the worker
holds its lock). Each claim marks the row dispatched and counts the attempt; the messages are sent after the
claim commits. A row whose attempts are used up is marked dead instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Select, and_, func, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from bizzly import clock
from bizzly.db.engine import Database, MaintenanceUse
from bizzly.metrics import OUTBOX_DISPATCHED
from bizzly.outbox import INBOX_TOPIC, OutboxRow, OutboxStatus, add_outbox_once
from bizzly.settings import Settings
from domain.notifications import OWNER_ALERT_TOPIC

log = logging.getLogger("bizzly.workers")

BATCH_SIZE = 100


@dataclass(frozen=True)
class Dispatch:
    tenant_id: uuid.UUID
    row_id: uuid.UUID


Send = Callable[[Dispatch], None]


def _due(now: datetime, lease_cutoff: datetime) -> ColumnElement[bool]:
    return or_(
        and_(OutboxRow.status == OutboxStatus.PENDING, OutboxRow.available_at <= now),
        and_(OutboxRow.status == OutboxStatus.DISPATCHED, OutboxRow.dispatched_at < lease_cutoff),
    )


def _fair_share(now: datetime, lease_cutoff: datetime, share: int) -> Select[tuple[uuid.UUID, uuid.UUID]]:
    """The due rows each tenant may have dispatched now: its first ``share`` due rows (oldest first) less
    the rows it has running (dispatched within the lease). The rest wait, stored and in order."""
    running = (
        select(OutboxRow.tenant_id, func.count().label("n"))
        .where(OutboxRow.status == OutboxStatus.DISPATCHED, OutboxRow.dispatched_at >= lease_cutoff)
        .group_by(OutboxRow.tenant_id)
        .subquery("running")
    )
    place = (
        func.row_number()
        .over(partition_by=OutboxRow.tenant_id, order_by=(OutboxRow.available_at, OutboxRow.id))
        .label("place")
    )
    ranked = (
        select(OutboxRow.tenant_id, OutboxRow.id, place).where(_due(now, lease_cutoff)).subquery("ranked")
    )
    return (
        select(ranked.c.tenant_id, ranked.c.id)
        .select_from(ranked.outerjoin(running, running.c.tenant_id == ranked.c.tenant_id))
        .where(ranked.c.place + func.coalesce(running.c.n, 0) <= share)
    )


async def claim_due(session: AsyncSession, settings: Settings, *, limit: int = BATCH_SIZE) -> list[Dispatch]:
    """Mark up to ``limit`` due rows dispatched (in the caller's transaction) and return them, oldest
    first, each tenant's held to its share (``BIZZLY_WORKER_TENANT_SHARE`` rows running at once): a tenant
    with a flood of rows cannot fill the queue ahead of the others."""
    now = clock.now()
    lease_cutoff = now - timedelta(seconds=settings.outbox_lease_seconds)
    allowed = _fair_share(now, lease_cutoff, settings.worker_tenant_share)
    rows = (
        await session.scalars(
            select(OutboxRow)
            .where(tuple_(OutboxRow.tenant_id, OutboxRow.id).in_(allowed), _due(now, lease_cutoff))
            .order_by(OutboxRow.available_at, OutboxRow.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()
    claimed: list[Dispatch] = []
    for row in rows:
        lost = row.status == OutboxStatus.DISPATCHED
        if lost:
            log.warning("outbox row %s (%s): lease expired, dispatching again", row.id, row.topic)
        if row.attempts >= settings.outbox_max_attempts:
            row.status = OutboxStatus.DEAD
            row.last_error = f"gave up after {row.attempts} attempts" + (
                "; the last run never finished (worker lost)" if lost else ""
            )
            log.error("outbox row %s (%s) is dead: %s", row.id, row.topic, row.last_error)
            continue
        row.status = OutboxStatus.DISPATCHED
        row.attempts += 1
        row.dispatched_at = now
        if lost:
            row.last_error = "lease expired: the worker running it was lost"
        claimed.append(Dispatch(tenant_id=row.tenant_id, row_id=row.id))
        OUTBOX_DISPATCHED.labels(topic=row.topic).inc()
    await session.flush()
    return claimed


async def release(db: Database, dispatches: Sequence[Dispatch]) -> None:
    """Put claimed rows whose messages never reached a worker back to pending, without using an attempt
    (a failed send, or messages still queued in the embedded broker at shutdown)."""
    if not dispatches:
        return
    async with db.maintenance_session(MaintenanceUse.OUTBOX_RELAY) as session, session.begin():
        for d in dispatches:
            await session.execute(
                update(OutboxRow)
                .where(
                    OutboxRow.tenant_id == d.tenant_id,
                    OutboxRow.id == d.row_id,
                    OutboxRow.status == OutboxStatus.DISPATCHED,
                )
                .values(
                    status=OutboxStatus.PENDING,
                    attempts=OutboxRow.attempts - 1,
                    dispatched_at=None,
                )
            )


def send_all(dispatches: Sequence[Dispatch], send: Send) -> list[Dispatch]:
    """Send each message; returns those that could not be sent."""
    for i, d in enumerate(dispatches):
        try:
            send(d)
        except Exception:  # a broker outage must not kill the relay; the rows are released
            log.exception("could not send %d outbox messages to the broker", len(dispatches) - i)
            return list(dispatches[i:])
    return []


async def relay_once(db: Database, settings: Settings, send: Send, *, limit: int = BATCH_SIZE) -> int:
    """Claim and send due rows until none is left; returns how many were sent."""
    sent = 0
    while True:
        async with db.maintenance_session(MaintenanceUse.OUTBOX_RELAY) as session, session.begin():
            batch = await claim_due(session, settings, limit=limit)
        unsent = send_all(batch, send)
        sent += len(batch) - len(unsent)
        if unsent:
            await release(db, unsent)
            return sent
        if len(batch) < limit:
            return sent


class _Nudges:
    """Relays of this process to wake when a row finishes (worker threads call ``nudge``): a tenant held
    to its share gets its next row at once rather than at the next interval."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()

    def add(self, loop: asyncio.AbstractEventLoop, event: asyncio.Event) -> None:
        with self._lock:
            self._waiting.add((loop, event))

    def discard(self, loop: asyncio.AbstractEventLoop, event: asyncio.Event) -> None:
        with self._lock:
            self._waiting.discard((loop, event))

    def nudge(self) -> None:
        with self._lock:
            waiting = list(self._waiting)
        for loop, event in waiting:
            with contextlib.suppress(RuntimeError):  # its loop has closed: that relay has stopped
                loop.call_soon_threadsafe(event.set)


_nudges = _Nudges()
nudge = _nudges.nudge
# Passes woken by finished rows are at least this far apart (a busy worker finishes many a second).
NUDGE_GAP_SECONDS = 0.01


async def run_relay(db: Database, settings: Settings, send: Send, stop: asyncio.Event) -> None:
    """Relay every ``BIZZLY_RELAY_INTERVAL_SECONDS``, and when a row of this process finishes, until
    ``stop`` is set; the inbox backlogs are checked on the way (``BacklogWatch``)."""
    loop = asyncio.get_running_loop()
    wake = asyncio.Event()
    watch = BacklogWatch(db, settings)
    _nudges.add(loop, wake)
    try:
        while not stop.is_set():
            wake.clear()
            try:
                await relay_once(db, settings, send)
                await watch.check()
            except Exception:  # a database hiccup must not end the loop; the next pass retries
                log.exception("outbox relay pass failed")
            stopping = asyncio.ensure_future(stop.wait())
            woken = asyncio.ensure_future(wake.wait())
            try:
                await asyncio.wait(
                    {stopping, woken},
                    timeout=settings.relay_interval_seconds,
                    return_when=asyncio.FIRST_COMPLETED,
                )
            finally:
                stopping.cancel()
                woken.cancel()
            await asyncio.sleep(NUDGE_GAP_SECONDS)
    finally:
        _nudges.discard(loop, wake)


class BacklogWatch:
    """Alerts a tenant's owner when its inbound messages waiting to be run pass ``BIZZLY_INBOX_BACKLOG_ALERT``
    (a flood held to its fair share): an owner alert, at most one an hour per tenant (its dedupe key). One
    grouped count of the pending inbox rows, at most every ``CHECK_SECONDS``."""

    CHECK_SECONDS = 0.5

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self._next = 0.0

    async def check(self) -> list[uuid.UUID]:
        """The tenants alerted by this check (an alert already sent this hour is not sent again)."""
        now = time.monotonic()
        if now < self._next:
            return []
        self._next = now + self.CHECK_SECONDS
        threshold = self.settings.inbox_backlog_alert
        async with self.db.maintenance_session(MaintenanceUse.OUTBOX_RELAY) as session, session.begin():
            waiting = (
                await session.execute(
                    select(OutboxRow.tenant_id, func.count())
                    .where(OutboxRow.status == OutboxStatus.PENDING, OutboxRow.topic == INBOX_TOPIC)
                    .group_by(OutboxRow.tenant_id)
                    .having(func.count() > threshold)
                )
            ).all()
            alerted = []
            for tenant_id, count in waiting:
                if await add_outbox_once(
                    session,
                    tenant_id=tenant_id,
                    topic=OWNER_ALERT_TOPIC,
                    payload={"kind": "integration_error", "provider": "WHATSAPP", "message": _flood(count)},
                    dedupe_key=f"inbox.backlog:{clock.now():%Y-%m-%dT%H}",
                ):
                    log.warning("tenant %s has %d inbound messages waiting: owner alerted", tenant_id, count)
                    alerted.append(tenant_id)
        return alerted


def _flood(count: int) -> str:
    return (
        f"{count} inbound WhatsApp messages are waiting to be answered: far more than usual. They are "
        "answered in order at your business's share of the workers; if you did not expect this many, "
        "check your WhatsApp app's webhook settings and secret."
    )
