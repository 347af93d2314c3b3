"""SQL for tenants, users and memberships."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tenants.models import Tenant


class TenantDirectory:
    """Reads of the tenants table (a system table: no tenant wall applies to it)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def id_for_slug(self, slug: str) -> uuid.UUID | None:
        stmt = select(Tenant.id).where(Tenant.slug == slug.strip().lower())
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def get(self, tenant_id: uuid.UUID) -> Tenant | None:
        return await self.session.get(Tenant, tenant_id)

    async def slug_taken(self, slug: str) -> bool:
        stmt = select(func.count()).select_from(Tenant).where(Tenant.slug == slug)
        return bool((await self.session.execute(stmt)).scalar_one())
