"""SQL for connections (tenant-bound session) and for routing keys (any session: a system table)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bizzly.db.tenancy import session_tenant
from domain.connections.models import ConnectionStatus, ProviderConnection, RoutingKey


class Connections:
    def __init__(self, session: AsyncSession) -> None:
        tenant = session_tenant(session.sync_session)
        if tenant is None:
            raise RuntimeError("Connections needs a tenant-bound session")
        self.session = session
        self.tenant_id = tenant

    async def get(self, connection_id: uuid.UUID) -> ProviderConnection | None:
        stmt = select(ProviderConnection).where(
            ProviderConnection.tenant_id == self.tenant_id, ProviderConnection.id == connection_id
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def by_ids(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, ProviderConnection]:
        if not ids:
            return {}
        stmt = select(ProviderConnection).where(
            ProviderConnection.tenant_id == self.tenant_id, ProviderConnection.id.in_(set(ids))
        )
        return {c.id: c for c in (await self.session.execute(stmt)).scalars()}

    async def live(self, provider: str) -> ProviderConnection | None:
        """The tenant's current (not disconnected) connection to ``provider``, newest first."""
        stmt = (
            select(ProviderConnection)
            .where(
                ProviderConnection.tenant_id == self.tenant_id,
                ProviderConnection.provider == provider,
                ProviderConnection.status != ConnectionStatus.DISCONNECTED,
            )
            .order_by(ProviderConnection.created_at.desc(), ProviderConnection.id.desc())
            .limit(1)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def current(self) -> list[ProviderConnection]:
        """What the dashboard lists: every live connection, and for a provider with none live its newest
        (disconnected) one."""
        stmt = (
            select(ProviderConnection)
            .where(ProviderConnection.tenant_id == self.tenant_id)
            .order_by(ProviderConnection.created_at.desc(), ProviderConnection.id.desc())
        )
        shown: list[ProviderConnection] = []
        providers: set[str] = set()
        rows = list((await self.session.execute(stmt)).scalars())
        for row in rows:
            if row.status != ConnectionStatus.DISCONNECTED:
                shown.append(row)
                providers.add(row.provider)
        for row in rows:
            if row.provider not in providers:
                shown.append(row)
                providers.add(row.provider)
        return sorted(shown, key=lambda c: (c.provider, c.created_at, c.id))

    async def holding(self, connection_ids: Sequence[uuid.UUID]) -> list[ProviderConnection]:
        if not connection_ids:
            return []
        stmt = select(ProviderConnection).where(
            ProviderConnection.tenant_id == self.tenant_id, ProviderConnection.id.in_(set(connection_ids))
        )
        return list((await self.session.execute(stmt)).scalars())

    def add(self, connection: ProviderConnection) -> None:
        self.session.add(connection)


class RoutingKeys:
    """The routing table is RLS-exempt and not tenant-scoped: callers say which tenant they act for."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def find(self, provider: str, external_id: str) -> RoutingKey | None:
        stmt = select(RoutingKey).where(
            RoutingKey.provider == provider, RoutingKey.external_id == external_id
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def for_connection(self, tenant_id: uuid.UUID, connection_id: uuid.UUID) -> list[RoutingKey]:
        stmt = select(RoutingKey).where(
            RoutingKey.tenant_id == tenant_id, RoutingKey.connection_id == connection_id
        )
        return list((await self.session.execute(stmt)).scalars())

    async def by_connection(self, connection_id: uuid.UUID) -> list[RoutingKey]:
        stmt = select(RoutingKey).where(RoutingKey.connection_id == connection_id)
        return list((await self.session.execute(stmt)).scalars())

    def add(self, key: RoutingKey) -> None:
        self.session.add(key)

    async def remove_for_connection(self, tenant_id: uuid.UUID, connection_id: uuid.UUID) -> None:
        await self.session.execute(
            delete(RoutingKey).where(
                RoutingKey.tenant_id == tenant_id, RoutingKey.connection_id == connection_id
            )
        )
