"""Retention: what is kept how long, purged per tenant in bounded batches (docs/design.md sections 3, 7).

- WhatsApp messages (bodies included) and stored webhooks: ``BIZZLY_MESSAGE_RETENTION_DAYS`` (30).
- Auth events: ``BIZZLY_AUTH_EVENT_RETENTION_DAYS`` (90).
- The assistant's expired conversation states and codes; its sessions 30 days after they ended or
  expired (the expired-session marker's lifetime) -- ``domain.assistant.service.purge_expired``.

Each batch of at most ``BIZZLY_RETENTION_BATCH_SIZE`` rows is its own short transaction in a tenant session,
followed by a pause of at least ``BIZZLY_RETENTION_PAUSE_MS`` and at least the batch's own time (``pacing``),
so a purge of millions of rows never blocks webhooks for
long nor takes the whole database, and a crash loses at most one batch's work.
Running twice, or two runs at once, is harmless: a row is deleted once, a batch already taken is skipped.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bizzly import clock
from bizzly.db.engine import Database
from bizzly.settings import Settings
from domain.assistant.service import EXPIRED_MARKER_TTL, RATE_WINDOW, purge_expired
from domain.privacy import retention_repository as repo

BatchDelete = Callable[..., Awaitable[int]]
# Pause after a batch, as a multiple of the batch's own time (1.0: the purge runs at most half the time).
RETENTION_YIELD = 1.0


@dataclass
class RetentionReport:
    """What one tenant's purge deleted, and the size of each batch (for the logs, tests and the bench)."""

    messages: int = 0
    inbox_events: int = 0
    auth_events: int = 0
    assistant_rows: int = 0
    batches: dict[str, list[int]] = field(default_factory=dict)


async def _drain(
    db: Database,
    tenant_id: uuid.UUID,
    delete: Callable[[AsyncSession], Awaitable[int]],
    *,
    limit: int,
    pause: float,
    sizes: list[int],
) -> int:
    total = 0
    while True:
        began = time.monotonic()
        async with db.tenant_session(tenant_id, write=True) as session, session.begin():
            deleted = await delete(session)
        took = time.monotonic() - began
        if deleted:
            sizes.append(deleted)
            total += deleted
        # A short batch means nothing older is left (rows a concurrent run holds are its to delete).
        if deleted < limit:
            return total
        await asyncio.sleep(pacing(took, pause))


def pacing(took: float, pause: float) -> float:
    """The pause after a batch that took ``took`` seconds: at least ``pause`` and at least as long as the
    batch itself, so the purge holds the database at most half the time; when live traffic slows the
    database, batches take longer and the purge steps back as much (measured, no ``pg_sleep``)."""
    return max(pause, took * RETENTION_YIELD)


async def purge_tenant(
    db: Database, *, settings: Settings, tenant_id: uuid.UUID, now: datetime | None = None
) -> RetentionReport:
    """Delete one tenant's expired rows, batch by batch, each batch committed on its own."""
    at = now or clock.now()
    limit = settings.retention_batch_size
    messages_before = at - timedelta(days=settings.message_retention_days)
    events_before = at - timedelta(days=settings.auth_event_retention_days)
    report = RetentionReport()

    async def step(name: str, delete: BatchDelete, before: datetime) -> int:
        sizes = report.batches.setdefault(name, [])
        return await _drain(
            db,
            tenant_id,
            lambda s: delete(s, before=before, limit=limit),
            limit=limit,
            pause=settings.retention_pause_ms / 1000,
            sizes=sizes,
        )

    report.messages = await step("messages", repo.delete_messages_before, messages_before)
    report.inbox_events = await step("inbox", repo.delete_inbox_before, messages_before)
    report.auth_events = await step("auth_events", repo.delete_auth_events_before, events_before)
    # States, codes and sessions are few per person (one state, a handful of codes and sessions a day).
    async with db.tenant_session(tenant_id, write=True) as session, session.begin():
        report.assistant_rows = await purge_expired(session)
    return report


async def tenants_to_purge(
    session: AsyncSession, *, settings: Settings, now: datetime | None = None
) -> list[uuid.UUID]:
    """The tenants with expired rows (the scheduler's maintenance session): only they get a purge."""
    at = now or clock.now()
    return await repo.tenants_with_expired(
        session,
        messages_before=at - timedelta(days=settings.message_retention_days),
        events_before=at - timedelta(days=settings.auth_event_retention_days),
        states_before=at,
        codes_before=at - RATE_WINDOW,
        sessions_before=at - EXPIRED_MARKER_TTL,
    )
