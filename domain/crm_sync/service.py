"""Queueing HubSpot -> Bizzly sync runs (by the scheduler, which also starts a new connection's first, full
run; or by staff) and reading their progress.

A run is worked through by the ``hubspot.sync_page`` outbox topic (``integrations.hubspot.sync``), one page
per row; the payload carries only the run id and the page number it expects, so a stale or duplicated row
is a no-op.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bizzly import clock
from bizzly.errors import DomainError, ErrorCode
from bizzly.ids import new_id
from bizzly.outbox import add_outbox
from domain.connections.models import ConnectionStatus, Provider, ProviderConnection
from domain.connections.service import config_of, live_connection
from domain.crm_sync.models import HubSpotSyncRun, Phase, RunKind, RunState
from domain.crm_sync.repository import SyncRuns
from domain.privacy.audit import record

SYNC_PAGE_TOPIC = "hubspot.sync_page"
SYNC_TICK_TOPIC = "hubspot.sync_tick"


async def queue_run(
    session: AsyncSession, *, connection: ProviderConnection, trigger: str, lag_seconds: float
) -> HubSpotSyncRun:
    """Queue the connection's next run, or return the one already queued or running (never two at once).

    The first run of a connection is full; later ones are incremental from the last completed window's end
    to ``now - lag_seconds`` (HubSpot's search index lags its writes)."""
    runs = SyncRuns(session)
    active = await runs.active(connection.id)
    if active is not None:
        return active
    now_ms = int(clock.now().timestamp() * 1000)
    cursor = await runs.cursor(connection.id)
    kind = RunKind.FULL if cursor is None else RunKind.INCREMENTAL
    run = HubSpotSyncRun(
        id=new_id(),
        tenant_id=connection.tenant_id,
        connection_id=connection.id,
        portal_id=str(config_of(connection).get("portal_id") or ""),
        kind=kind.value,
        trigger=trigger,
        state=RunState.QUEUED.value,
        phase=Phase.LIVE.value,
        window_from_ms=cursor,
        window_to_ms=now_ms if cursor is None else max(now_ms - int(lag_seconds * 1000), cursor),
        pages=0,
        read=0,
        created=0,
        updated=0,
        linked=0,
        archived=0,
        merged=0,
        skipped=0,
        failed=0,
    )
    runs.add(run)
    await add_outbox(
        session,
        topic=SYNC_PAGE_TOPIC,
        payload={"run_id": str(run.id), "page": 0},
        dedupe_key=f"{SYNC_PAGE_TOPIC}:{run.id}:0",
    )
    await session.flush()
    return run


async def sync_hubspot_now(session: AsyncSession, *, actor: str, lag_seconds: float) -> HubSpotSyncRun:
    """Staff ask for a sync now: queues a run (or returns the one in progress). HubSpot must be connected."""
    connection = await live_connection(session, provider=Provider.HUBSPOT)
    if connection is None or connection.status != ConnectionStatus.CONNECTED.value:
        raise DomainError(ErrorCode.UNAVAILABLE, "Connect HubSpot first.")
    run = await queue_run(session, connection=connection, trigger="manual", lag_seconds=lag_seconds)
    record(
        session,
        actor=actor,
        action="integration.hubspot_sync",
        subject_type="Integration",
        subject_id=connection.id,
    )
    return run


async def due_for_schedule(
    session: AsyncSession, *, connection: ProviderConnection, every_seconds: int
) -> bool:
    """True when the connection's newest run started at least ``every_seconds`` ago (or there is none)."""
    last = await SyncRuns(session).last_started(connection.id)
    return last is None or last.created_at <= clock.now() - timedelta(seconds=every_seconds)


async def latest_runs(
    session: AsyncSession, connection_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, HubSpotSyncRun]:
    return await SyncRuns(session).latest(connection_ids)
