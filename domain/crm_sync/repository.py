"""SQL for CRM sync runs (on a tenant-bound session) and the portals the scheduler syncs (maintenance)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bizzly.db.tenancy import session_tenant
from domain.connections.models import ConnectionStatus, Provider, ProviderConnection
from domain.crm_sync.models import HubSpotSyncRun, RunState

ACTIVE = (RunState.QUEUED.value, RunState.RUNNING.value)


class SyncRuns:
    def __init__(self, session: AsyncSession) -> None:
        tenant = session_tenant(session.sync_session)
        if tenant is None:
            raise RuntimeError("SyncRuns needs a tenant-bound session")
        self.session = session
        self.tenant_id = tenant

    def _base(self) -> Select[HubSpotSyncRun]:
        return select(HubSpotSyncRun).where(HubSpotSyncRun.tenant_id == self.tenant_id)

    async def get(self, run_id: uuid.UUID, *, lock: bool = False) -> HubSpotSyncRun | None:
        stmt = self._base().where(HubSpotSyncRun.id == run_id)
        if lock:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def active(self, connection_id: uuid.UUID) -> HubSpotSyncRun | None:
        stmt = (
            self._base()
            .where(HubSpotSyncRun.connection_id == connection_id, HubSpotSyncRun.state.in_(ACTIVE))
            .order_by(HubSpotSyncRun.created_at.desc())
            .limit(1)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def cursor(self, connection_id: uuid.UUID) -> int | None:
        """Where the next incremental window starts: the end of the last completed run's window."""
        stmt = select(func.max(HubSpotSyncRun.window_to_ms)).where(
            HubSpotSyncRun.tenant_id == self.tenant_id,
            HubSpotSyncRun.connection_id == connection_id,
            HubSpotSyncRun.state == RunState.DONE.value,
        )
        value = (await self.session.execute(stmt)).scalar_one_or_none()
        return int(value) if value is not None else None

    async def latest(self, connection_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, HubSpotSyncRun]:
        """Each connection's newest run (one query for a list of connections)."""
        if not connection_ids:
            return {}
        newest = (
            select(HubSpotSyncRun.connection_id, func.max(HubSpotSyncRun.created_at).label("at"))
            .where(
                HubSpotSyncRun.tenant_id == self.tenant_id,
                HubSpotSyncRun.connection_id.in_(set(connection_ids)),
            )
            .group_by(HubSpotSyncRun.connection_id)
            .subquery()
        )
        stmt = self._base().join(
            newest,
            (newest.c.connection_id == HubSpotSyncRun.connection_id)
            & (newest.c.at == HubSpotSyncRun.created_at),
        )
        return {r.connection_id: r for r in (await self.session.execute(stmt)).scalars()}

    async def last_started(self, connection_id: uuid.UUID) -> HubSpotSyncRun | None:
        stmt = (
            self._base()
            .where(HubSpotSyncRun.connection_id == connection_id)
            .order_by(HubSpotSyncRun.created_at.desc())
            .limit(1)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    def add(self, run: HubSpotSyncRun) -> None:
        self.session.add(run)


async def connected_portals(session: AsyncSession) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(tenant, connection) of every connected HubSpot portal -- on a maintenance session (the scheduler)."""
    stmt = (
        select(ProviderConnection.tenant_id, ProviderConnection.id)
        .where(
            ProviderConnection.provider == Provider.HUBSPOT.value,
            ProviderConnection.status == ConnectionStatus.CONNECTED.value,
        )
        .order_by(ProviderConnection.tenant_id)
    )
    return [(t, c) for t, c in (await session.execute(stmt)).all()]
