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
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bizzly import clock
from bizzly.db.engine import Database, MaintenanceUse
from bizzly.metrics import OUTBOX_DISPATCHED
from bizzly.outbox import OutboxRow, OutboxStatus
from bizzly.settings import Settings

log = logging.getLogger("bizzly.workers")

BATCH_SIZE = 100


@dataclass(frozen=True)
class Dispatch:
    tenant_id: uuid.UUID
    row_id: uuid.UUID


Send = Callable[[Dispatch], None]


async def claim_due(session: AsyncSession, settings: Settings, *, limit: int = BATCH_SIZE) -> list[Dispatch]:
    """Mark up to ``limit`` due rows dispatched (in the caller's transaction) and return them."""
    now = clock.now()
    lease_cutoff = now - timedelta(seconds=settings.outbox_lease_seconds)
    rows = (
        await session.scalars(
            select(OutboxRow)
            .where(
                or_(
                    and_(OutboxRow.status == OutboxStatus.PENDING, OutboxRow.available_at <= now),
                    and_(OutboxRow.status == OutboxStatus.DISPATCHED, OutboxRow.dispatched_at < lease_cutoff),
                )
            )
            .order_by(OutboxRow.available_at)
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


async def run_relay(db: Database, settings: Settings, send: Send, stop: asyncio.Event) -> None:
    """Relay every ``BIZZLY_RELAY_INTERVAL_SECONDS`` until ``stop`` is set."""
    while not stop.is_set():
        try:
            await relay_once(db, settings, send)
        except Exception:  # a database hiccup must not end the loop; the next pass retries
            log.exception("outbox relay pass failed")
        try:
            await asyncio.wait_for(stop.wait(), timeout=settings.relay_interval_seconds)
        except TimeoutError:
            pass
