"""SQL for customers (built on a tenant-bound session)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, Select, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bizzly.db.paging import Page, PageRequest, keyset_page
from bizzly.db.tenancy import session_tenant
from domain.customers.models import Customer, PhoneCode


class Customers:
    def __init__(self, session: AsyncSession) -> None:
        tenant = session_tenant(session.sync_session)
        if tenant is None:
            raise RuntimeError("Customers needs a tenant-bound session")
        self.session = session
        self.tenant_id = tenant

    def _base(self) -> Select[Customer]:
        return select(Customer).where(Customer.tenant_id == self.tenant_id)

    async def get(self, customer_id: uuid.UUID, *, lock: bool = False) -> Customer | None:
        stmt = self._base().where(Customer.id == customer_id)
        if lock:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def by_ids(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Customer]:
        if not ids:
            return {}
        stmt = self._base().where(Customer.id.in_(set(ids)))
        return {c.id: c for c in (await self.session.execute(stmt)).scalars()}

    async def by_email_key(self, email_key: str) -> Customer | None:
        stmt = self._base().where(Customer.email_key == email_key)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def by_meta_user_id(self, meta_user_id: str) -> Customer | None:
        stmt = self._base().where(Customer.meta_user_id == meta_user_id).order_by(Customer.id).limit(1)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def email_taken(self, email_key: str, *, except_id: uuid.UUID | None = None) -> bool:
        stmt = (
            select(func.count())
            .select_from(Customer)
            .where(Customer.tenant_id == self.tenant_id, Customer.email_key == email_key)
        )
        if except_id is not None:
            stmt = stmt.where(Customer.id != except_id)
        return bool((await self.session.execute(stmt)).scalar_one())

    async def page(
        self, request: PageRequest, *, text: str | None = None, e164: str | None = None
    ) -> Page[Customer]:
        """Newest first; ``text``: name or email (substring, case-blind); ``e164``: the phone exactly."""
        stmt = self._base()
        matches: list[ColumnElement[bool]] = []
        if text:
            needle = text.lower()
            matches.append(func.lower(Customer.name).contains(needle, autoescape=True))
            matches.append(Customer.email_key.contains(needle, autoescape=True))
        if e164:
            matches.append(Customer.phone_e164 == e164)
        if matches:
            stmt = stmt.where(or_(*matches))
        return await keyset_page(
            self.session, stmt, order=[(Customer.id, True)], page=request, with_total=True
        )

    def add(self, customer: Customer) -> None:
        self.session.add(customer)

    async def remove(self, customer: Customer) -> None:
        await self.session.delete(customer)


class PhoneCodes:
    """The website's phone codes (``phone_codes``), on a tenant-bound session."""

    def __init__(self, session: AsyncSession) -> None:
        tenant = session_tenant(session.sync_session)
        if tenant is None:
            raise RuntimeError("PhoneCodes needs a tenant-bound session")
        self.session = session
        self.tenant_id = tenant

    def add(self, code: PhoneCode) -> None:
        code.tenant_id = self.tenant_id
        self.session.add(code)

    async def latest(self, customer_id: uuid.UUID) -> PhoneCode | None:
        """The account's newest code (whatever its state), locked for the attempt."""
        stmt = (
            select(PhoneCode)
            .where(PhoneCode.tenant_id == self.tenant_id, PhoneCode.customer_id == customer_id)
            .order_by(PhoneCode.created_at.desc(), PhoneCode.id.desc())
            .limit(1)
            .with_for_update()
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def kill(self, customer_id: uuid.UUID, *, at: datetime) -> None:
        await self.session.execute(
            update(PhoneCode)
            .where(
                PhoneCode.tenant_id == self.tenant_id,
                PhoneCode.customer_id == customer_id,
                PhoneCode.used_at.is_(None),
                PhoneCode.dead_at.is_(None),
            )
            .values(dead_at=at)
            .execution_options(synchronize_session="fetch")
        )

    async def prune(self, customer_id: uuid.UUID, *, before: datetime) -> None:
        """Forget the account's codes created before ``before`` (past any send-limit window)."""
        await self.session.execute(
            delete(PhoneCode)
            .where(
                PhoneCode.tenant_id == self.tenant_id,
                PhoneCode.customer_id == customer_id,
                PhoneCode.created_at < before,
            )
            .execution_options(synchronize_session=False)
        )

    async def since(
        self,
        since: datetime,
        *,
        customer_id: uuid.UUID | None = None,
        phone_digest: str | None = None,
    ) -> tuple[int, datetime | None]:
        """How many codes were sent since ``since`` (to one phone, for one account, or in the tenant), and
        the oldest of them."""
        stmt = select(func.count(), func.min(PhoneCode.created_at)).where(
            PhoneCode.tenant_id == self.tenant_id, PhoneCode.created_at > since
        )
        if customer_id is not None:
            stmt = stmt.where(PhoneCode.customer_id == customer_id)
        if phone_digest is not None:
            stmt = stmt.where(PhoneCode.phone_digest == phone_digest)
        count, oldest = (await self.session.execute(stmt)).one()
        return int(count), oldest
