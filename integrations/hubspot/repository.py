"""SQL of the HubSpot adapter: the single-use OAuth states, each portal's rate windows, and the connection
row the token refresh locks (built on tenant-bound sessions, as every repository)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.connections.models import ProviderConnection
from integrations.hubspot.models import HubSpotOAuthState, HubSpotRateWindow


class OAuthStates:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, state: HubSpotOAuthState) -> None:
        self.session.add(state)

    async def use(self, *, tenant_id: uuid.UUID, nonce_hash: str, user_id: uuid.UUID, now: datetime) -> bool:
        """Mark the unexpired, unused state used; False when there is none (used, expired or unknown)."""
        result = await self.session.execute(
            update(HubSpotOAuthState)
            .where(
                HubSpotOAuthState.tenant_id == tenant_id,
                HubSpotOAuthState.nonce_hash == nonce_hash,
                HubSpotOAuthState.user_id == user_id,
                HubSpotOAuthState.used_at.is_(None),
                HubSpotOAuthState.expires_at > now,
            )
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
        return getattr(result, "rowcount", 0) == 1


class RateWindows:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def locked(self, *, tenant_id: uuid.UUID, portal_id: str, kind: str) -> HubSpotRateWindow | None:
        """The portal's window of ``kind`` under its row lock (``FOR UPDATE``; SQLite: the writer's lock)."""
        stmt = (
            select(HubSpotRateWindow)
            .where(
                HubSpotRateWindow.tenant_id == tenant_id,
                HubSpotRateWindow.portal_id == portal_id,
                HubSpotRateWindow.kind == kind,
            )
            .with_for_update()
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def exists(self, *, tenant_id: uuid.UUID, portal_id: str, kind: str) -> bool:
        stmt = select(HubSpotRateWindow.id).where(
            HubSpotRateWindow.tenant_id == tenant_id,
            HubSpotRateWindow.portal_id == portal_id,
            HubSpotRateWindow.kind == kind,
        )
        return await self.session.scalar(stmt) is not None

    def add(self, window: HubSpotRateWindow) -> None:
        self.session.add(window)


async def locked_connection(
    session: AsyncSession, tenant_id: uuid.UUID, connection_id: uuid.UUID
) -> ProviderConnection | None:
    """The connection row under its lock: one token refresh at a time across processes."""
    stmt = (
        select(ProviderConnection)
        .where(ProviderConnection.tenant_id == tenant_id, ProviderConnection.id == connection_id)
        .with_for_update()
    )
    return (await session.execute(stmt)).scalar_one_or_none()
