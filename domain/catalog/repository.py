"""SQL for services and business hours (built on a tenant-bound session)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Literal

from sqlalchemy import Select, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bizzly.db.paging import Page, PageRequest, keyset_page
from bizzly.db.tenancy import session_tenant
from domain.catalog.models import BusinessHours, Service

Lock = Literal["share", "update"]


def bound_tenant(session: AsyncSession, what: str) -> uuid.UUID:
    tenant = session_tenant(session.sync_session)
    if tenant is None:
        raise RuntimeError(f"{what} needs a tenant-bound session")
    return tenant


class Services:
    def __init__(self, session: AsyncSession) -> None:
        self.tenant_id = bound_tenant(session, "Services")
        self.session = session

    def _base(self) -> Select[Service]:
        return select(Service).where(Service.tenant_id == self.tenant_id)

    async def get(self, service_id: uuid.UUID, *, lock: Lock | None = None) -> Service | None:
        """``lock="share"`` (a booking being made) or ``"update"`` (the service being edited), held to
        commit on PostgreSQL: an edit of capacity or duration waits for the bookings made with the old
        values, and bookings wait for the edit, instead of racing it."""
        stmt = self._base().where(Service.id == service_id)
        if lock is not None:
            stmt = stmt.with_for_update(read=lock == "share")
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def by_ids(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Service]:
        if not ids:
            return {}
        stmt = self._base().where(Service.id.in_(set(ids)))
        return {s.id: s for s in (await self.session.execute(stmt)).scalars()}

    def _listed(self, *, include_inactive: bool, include_archived: bool) -> Select[Service]:
        stmt = self._base()
        if not include_inactive:
            stmt = stmt.where(Service.active.is_(True))
        if not include_archived:
            stmt = stmt.where(Service.archived_at.is_(None))
        return stmt

    async def page(
        self, request: PageRequest, *, include_inactive: bool, include_archived: bool = False
    ) -> Page[Service]:
        """By name (then id): the order a price list is read in."""
        stmt = self._listed(include_inactive=include_inactive, include_archived=include_archived)
        return await keyset_page(
            self.session,
            stmt,
            order=[(Service.name, False), (Service.id, False)],
            page=request,
            with_total=True,
        )

    async def listed(self, *, include_inactive: bool) -> list[Service]:
        stmt = self._listed(include_inactive=include_inactive, include_archived=False)
        return list((await self.session.execute(stmt.order_by(Service.name, Service.id))).scalars())

    async def by_name(self, name: str) -> Service | None:
        stmt = self._base().where(Service.name == name, Service.archived_at.is_(None))
        return (await self.session.execute(stmt.limit(1))).scalar_one_or_none()

    def add(self, service: Service) -> None:
        self.session.add(service)


class Hours:
    def __init__(self, session: AsyncSession) -> None:
        self.tenant_id = bound_tenant(session, "Hours")
        self.session = session

    async def week(self) -> list[BusinessHours]:
        stmt = (
            select(BusinessHours)
            .where(BusinessHours.tenant_id == self.tenant_id)
            .order_by(BusinessHours.weekday, BusinessHours.opens_minute)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def of_weekday(self, weekday: int) -> list[BusinessHours]:
        stmt = (
            select(BusinessHours)
            .where(BusinessHours.tenant_id == self.tenant_id, BusinessHours.weekday == weekday)
            .order_by(BusinessHours.opens_minute)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def replace(self, rows: Sequence[BusinessHours]) -> None:
        await self.session.execute(
            delete(BusinessHours)
            .where(BusinessHours.tenant_id == self.tenant_id)
            .execution_options(synchronize_session=False)
        )
        self.session.add_all(rows)
        await self.session.flush()
