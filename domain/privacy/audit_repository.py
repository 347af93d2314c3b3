"""Reading the audit log (a tenant-bound session; entries are written by ``audit.record``)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bizzly.db.paging import Page, PageRequest, keyset_page
from bizzly.db.tenancy import session_tenant
from domain.privacy.audit import AuditEntry


class AuditLog:
    def __init__(self, session: AsyncSession) -> None:
        tenant = session_tenant(session.sync_session)
        if tenant is None:
            raise RuntimeError("AuditLog needs a tenant-bound session")
        self.session = session
        self.tenant_id = tenant

    async def page(self, request: PageRequest, *, action: str | None = None) -> Page[AuditEntry]:
        """Newest first (the (tenant_id, created_at) index serves it)."""
        stmt = select(AuditEntry).where(AuditEntry.tenant_id == self.tenant_id)
        if action:
            stmt = stmt.where(AuditEntry.action == action)
        return await keyset_page(
            self.session,
            stmt,
            order=[(AuditEntry.created_at, True), (AuditEntry.id, True)],
            page=request,
            with_total=True,
        )


async def audit_entries(
    session: AsyncSession, *, page: PageRequest, action: str | None = None
) -> Page[AuditEntry]:
    """One page of the session's tenant's audit log, newest first."""
    return await AuditLog(session).page(page, action=action)


async def audit_entries_by_ids(session: AsyncSession, ids: Sequence[uuid.UUID]) -> list[AuditEntry]:
    """The session's tenant's entries among ``ids`` (others' ids simply find nothing)."""
    log = AuditLog(session)
    stmt = select(AuditEntry).where(AuditEntry.tenant_id == log.tenant_id, AuditEntry.id.in_(list(ids)))
    return list((await session.execute(stmt)).scalars().all())
