"""SQL for notification settings and notifications (built on a tenant-bound session), and the one
cross-tenant read the reminder scheduler needs."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bizzly.db.paging import Page, PageRequest, keyset_page
from bizzly.db.tenancy import session_tenant
from domain.notifications.models import Notification, NotificationSettings
from domain.scheduling.models import Booking, BookingStatus
from tenants.models import Membership, StaffRole, User


def _insert(session: AsyncSession) -> Any:
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    return (postgresql if dialect == "postgresql" else sqlite).insert(Notification)


class Notifications:
    def __init__(self, session: AsyncSession) -> None:
        tenant = session_tenant(session.sync_session)
        if tenant is None:
            raise RuntimeError("Notifications needs a tenant-bound session")
        self.session = session
        self.tenant_id = tenant

    def _rows(self) -> Select[Notification]:
        return select(Notification).where(Notification.tenant_id == self.tenant_id)

    async def settings(self, *, lock: bool = False) -> NotificationSettings | None:
        stmt = select(NotificationSettings).where(NotificationSettings.tenant_id == self.tenant_id)
        if lock:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    def add_settings(self, row: NotificationSettings) -> None:
        self.session.add(row)

    async def decide(self, values: dict[str, Any]) -> uuid.UUID | None:
        """Insert a notification unless its ``dedupe_key`` is already decided; the new id, or None."""
        stmt = (
            _insert(self.session)
            .values(tenant_id=self.tenant_id, **values)
            .on_conflict_do_nothing()
            .returning(Notification.id)
        )
        inserted = (await self.session.execute(stmt)).scalar_one_or_none()
        return inserted if isinstance(inserted, uuid.UUID) else None

    async def decided_keys(self, keys: Sequence[str]) -> set[str]:
        if not keys:
            return set()
        stmt = select(Notification.dedupe_key).where(
            Notification.tenant_id == self.tenant_id, Notification.dedupe_key.in_(set(keys))
        )
        return set((await self.session.execute(stmt)).scalars())

    async def get(self, notification_id: uuid.UUID, *, lock: bool = False) -> Notification | None:
        stmt = self._rows().where(Notification.id == notification_id)
        if lock:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def by_ids(self, ids: Sequence[uuid.UUID]) -> list[Notification]:
        if not ids:
            return []
        return list((await self.session.execute(self._rows().where(Notification.id.in_(set(ids))))).scalars())

    async def page(self, request: PageRequest) -> Page[Notification]:
        """Newest first."""
        return await keyset_page(
            self.session,
            self._rows(),
            order=[(Notification.created_at, True), (Notification.id, True)],
            page=request,
        )

    async def owner_email(self) -> str | None:
        """The account email of the tenant's first owner."""
        stmt = (
            select(User.email)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.tenant_id == self.tenant_id, Membership.role == StaffRole.OWNER.value)
            .order_by(Membership.id)
            .limit(1)
        )
        found = (await self.session.execute(stmt)).scalar_one_or_none()
        return str(found) if found else None

    async def bookings_starting(self, start: datetime, end: datetime) -> list[Booking]:
        """Confirmed bookings starting in ``(start, end]`` (reminder candidates)."""
        stmt = select(Booking).where(
            Booking.tenant_id == self.tenant_id,
            Booking.status == BookingStatus.CONFIRMED.value,
            Booking.starts_at > start,
            Booking.starts_at <= end,
        )
        return list((await self.session.execute(stmt)).scalars())


async def tenants_with_upcoming_bookings(
    session: AsyncSession, *, now: datetime, until: datetime
) -> list[uuid.UUID]:
    """The tenants with reminders on (no settings row: the default, on) and a confirmed booking starting in
    ``(now, until]`` -- a maintenance session: the scheduler's fan-out, one scan row per such tenant."""
    off = select(NotificationSettings.tenant_id).where(NotificationSettings.reminder_hours_before == 0)
    stmt = (
        select(Booking.tenant_id)
        .where(
            Booking.status == BookingStatus.CONFIRMED.value,
            Booking.starts_at > now,
            Booking.starts_at <= until,
            Booking.tenant_id.not_in(off),
        )
        .distinct()
    )
    return list((await session.execute(stmt)).scalars())
