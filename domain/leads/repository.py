"""SQL for leads, customer push marks and the tenant's pending ``hubspot.push`` row (tenant-bound)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bizzly.db.paging import Page, PageRequest, keyset_page
from bizzly.db.tenancy import session_tenant
from bizzly.outbox import OutboxRow, OutboxStatus
from domain.customers.models import Customer
from domain.identity.models import CrmContact
from domain.leads.models import CustomerPush, Lead


def _tenant(session: AsyncSession) -> uuid.UUID:
    tenant = session_tenant(session.sync_session)
    if tenant is None:
        raise RuntimeError("lead repositories need a tenant-bound session")
    return tenant


class Leads:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.tenant_id = _tenant(session)

    def _base(self) -> Select[Lead]:
        return select(Lead).where(Lead.tenant_id == self.tenant_id)

    def add(self, lead: Lead) -> None:
        self.session.add(lead)

    async def get(self, lead_id: uuid.UUID) -> Lead | None:
        stmt = self._base().where(Lead.id == lead_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def by_ids(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Lead]:
        if not ids:
            return {}
        stmt = self._base().where(Lead.id.in_(set(ids)))
        return {lead.id: lead for lead in (await self.session.execute(stmt)).scalars()}

    async def page(self, request: PageRequest) -> Page[Lead]:
        """Newest first (ids are time-ordered)."""
        return await keyset_page(self.session, self._base(), order=[(Lead.id, True)], page=request)

    async def unlinked_with_email(self, email_key: str) -> list[Lead]:
        stmt = self._base().where(Lead.email_key == email_key, Lead.customer_id.is_(None))
        return list((await self.session.execute(stmt)).scalars())

    async def pending_push(self, limit: int) -> list[Lead]:
        stmt = self._base().where(Lead.push_pending.is_(True)).order_by(Lead.id).limit(limit)
        return list((await self.session.execute(stmt)).scalars())


class CustomerPushes:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.tenant_id = _tenant(session)

    def _base(self) -> Select[CustomerPush]:
        return select(CustomerPush).where(CustomerPush.tenant_id == self.tenant_id)

    async def for_customer(self, customer_id: uuid.UUID) -> CustomerPush | None:
        stmt = self._base().where(CustomerPush.customer_id == customer_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    def add(self, row: CustomerPush) -> None:
        self.session.add(row)

    async def pending(self, limit: int) -> list[CustomerPush]:
        stmt = (
            self._base().where(CustomerPush.pending.is_(True)).order_by(CustomerPush.changed_at).limit(limit)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def remove(self, row: CustomerPush) -> None:
        await self.session.delete(row)


async def push_row_waiting(session: AsyncSession, topic: str) -> bool:
    """Whether the tenant already has a ``topic`` row that has not started yet (it will see new marks)."""
    tenant = _tenant(session)
    stmt = (
        select(func.count())
        .select_from(OutboxRow)
        .where(
            OutboxRow.tenant_id == tenant,
            OutboxRow.topic == topic,
            OutboxRow.status == OutboxStatus.PENDING.value,
        )
    )
    return bool((await session.execute(stmt)).scalar_one())


async def emails_with_phones(session: AsyncSession, email_keys: Sequence[str]) -> set[str]:
    """Which of these (lower-cased) emails belong to a customer or a CRM contact that has a phone: a form
    must not bring a phone to them (two reads for a whole batch)."""
    if not email_keys:
        return set()
    tenant = _tenant(session)
    wanted = set(email_keys)
    stmt_customers = select(Customer.email_key).where(
        Customer.tenant_id == tenant, Customer.email_key.in_(wanted), Customer.phone_e164.is_not(None)
    )
    stmt_contacts = select(CrmContact.email_key).where(
        CrmContact.tenant_id == tenant,
        CrmContact.email_key.in_(wanted),
        (CrmContact.phone_raw.is_not(None))
        | (CrmContact.mobile_raw.is_not(None))
        | (CrmContact.whatsapp_raw.is_not(None)),
    )
    found = set((await session.execute(stmt_customers)).scalars())
    found |= {k for k in (await session.execute(stmt_contacts)).scalars() if k}
    return found


async def count_pending(session: AsyncSession) -> int:
    tenant = _tenant(session)
    customers = (
        select(func.count())
        .select_from(CustomerPush)
        .where(CustomerPush.tenant_id == tenant, CustomerPush.pending.is_(True))
    )
    leads = (
        select(func.count()).select_from(Lead).where(Lead.tenant_id == tenant, Lead.push_pending.is_(True))
    )
    return int((await session.execute(customers)).scalar_one()) + int(
        (await session.execute(leads)).scalar_one()
    )


async def pushes_by_ids(session: AsyncSession, ids: Sequence[uuid.UUID]) -> list[CustomerPush]:
    """Locked on PostgreSQL: a customer changed while HubSpot answered keeps its mark (see ``push``)."""
    if not ids:
        return []
    tenant = _tenant(session)
    stmt = (
        select(CustomerPush)
        .where(CustomerPush.tenant_id == tenant, CustomerPush.id.in_(set(ids)))
        .with_for_update()
    )
    return list((await session.execute(stmt)).scalars())
