"""SQL for plans, subscriptions and quota units (built on a tenant-bound session)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import Select, and_, delete, exists, func, or_, select, tuple_
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from bizzly.db.paging import Page, PageRequest, keyset_page
from domain.catalog.models import Service
from domain.catalog.repository import bound_tenant
from domain.subscriptions.models import CustomerSubscription, Plan, PlanService, QuotaUse


class Plans:
    def __init__(self, session: AsyncSession) -> None:
        self.tenant_id = bound_tenant(session, "Plans")
        self.session = session

    def _base(self) -> Select[Plan]:
        return select(Plan).where(Plan.tenant_id == self.tenant_id)

    async def get(self, plan_id: uuid.UUID) -> Plan | None:
        stmt = self._base().where(Plan.id == plan_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def by_ids(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Plan]:
        if not ids:
            return {}
        stmt = self._base().where(Plan.id.in_(set(ids)))
        return {p.id: p for p in (await self.session.execute(stmt)).scalars()}

    async def page(self, request: PageRequest) -> Page[Plan]:
        return await keyset_page(
            self.session,
            self._base(),
            order=[(Plan.name, False), (Plan.id, False)],
            page=request,
            with_total=True,
        )

    async def by_name(self, name: str) -> Plan | None:
        stmt = self._base().where(Plan.name == name).limit(1)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def services_of(self, plan_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[Service]]:
        """The services each plan covers; a plan covering every service gets every listed service."""
        plans = await self.by_ids(plan_ids)
        found: dict[uuid.UUID, list[Service]] = defaultdict(list)
        explicit = [p.id for p in plans.values() if not p.covers_all_services]
        if explicit:
            stmt = (
                select(PlanService.plan_id, Service)
                .join(
                    Service,
                    and_(Service.tenant_id == PlanService.tenant_id, Service.id == PlanService.service_id),
                )
                .where(PlanService.tenant_id == self.tenant_id, PlanService.plan_id.in_(explicit))
                .order_by(Service.name, Service.id)
            )
            for plan_id, service in (await self.session.execute(stmt)).all():
                found[plan_id].append(service)
        if any(p.covers_all_services for p in plans.values()):
            every = (
                select(Service)
                .where(Service.tenant_id == self.tenant_id, Service.archived_at.is_(None))
                .order_by(Service.name, Service.id)
            )
            services = list((await self.session.execute(every)).scalars())
            for plan in plans.values():
                if plan.covers_all_services:
                    found[plan.id] = services
        return {plan_id: found.get(plan_id, []) for plan_id in plan_ids}

    async def set_services(self, plan_id: uuid.UUID, service_ids: Sequence[uuid.UUID]) -> None:
        await self.session.execute(
            delete(PlanService)
            .where(PlanService.tenant_id == self.tenant_id, PlanService.plan_id == plan_id)
            .execution_options(synchronize_session=False)
        )
        self.session.add_all(PlanService(plan_id=plan_id, service_id=s) for s in service_ids)

    def add(self, plan: Plan) -> None:
        self.session.add(plan)


class Subscriptions:
    def __init__(self, session: AsyncSession) -> None:
        self.tenant_id = bound_tenant(session, "Subscriptions")
        self.session = session

    def _base(self) -> Select[CustomerSubscription]:
        return select(CustomerSubscription).where(CustomerSubscription.tenant_id == self.tenant_id)

    async def get(self, subscription_id: uuid.UUID, *, lock: bool = False) -> CustomerSubscription | None:
        stmt = self._base().where(CustomerSubscription.id == subscription_id)
        if lock:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def by_ids(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, CustomerSubscription]:
        if not ids:
            return {}
        stmt = self._base().where(CustomerSubscription.id.in_(set(ids)))
        return {s.id: s for s in (await self.session.execute(stmt)).scalars()}

    async def of_customers(
        self, customer_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, list[CustomerSubscription]]:
        """Every subscription of each customer, newest first."""
        found: dict[uuid.UUID, list[CustomerSubscription]] = defaultdict(list)
        if customer_ids:
            stmt = (
                self._base()
                .where(CustomerSubscription.customer_id.in_(set(customer_ids)))
                .order_by(CustomerSubscription.created_at.desc(), CustomerSubscription.id.desc())
            )
            for sub in (await self.session.execute(stmt)).scalars():
                found[sub.customer_id].append(sub)
        return {c: found.get(c, []) for c in customer_ids}

    async def running(self, customer_id: uuid.UUID, plan_id: uuid.UUID, now: datetime) -> bool:
        stmt = select(
            exists().where(
                CustomerSubscription.tenant_id == self.tenant_id,
                CustomerSubscription.customer_id == customer_id,
                CustomerSubscription.plan_id == plan_id,
                CustomerSubscription.cancelled_at.is_(None),
                or_(CustomerSubscription.ends_at.is_(None), CustomerSubscription.ends_at > now),
            )
        )
        return bool((await self.session.execute(stmt)).scalar_one())

    async def covering(
        self, customer_id: uuid.UUID, service_id: uuid.UUID, at: datetime
    ) -> list[tuple[CustomerSubscription, Plan]]:
        """The customer's running subscriptions whose plan covers the service at ``at``, oldest first."""
        covered = exists().where(
            PlanService.tenant_id == Plan.tenant_id,
            PlanService.plan_id == Plan.id,
            PlanService.service_id == service_id,
        )
        stmt = (
            select(CustomerSubscription, Plan)
            .join(
                Plan,
                and_(
                    Plan.tenant_id == CustomerSubscription.tenant_id, Plan.id == CustomerSubscription.plan_id
                ),
            )
            .where(
                CustomerSubscription.tenant_id == self.tenant_id,
                CustomerSubscription.customer_id == customer_id,
                CustomerSubscription.cancelled_at.is_(None),
                or_(CustomerSubscription.ends_at.is_(None), CustomerSubscription.ends_at > at),
                or_(Plan.covers_all_services.is_(True), covered),
            )
            .order_by(CustomerSubscription.created_at, CustomerSubscription.id)
        )
        return [(s, p) for s, p in (await self.session.execute(stmt)).all()]

    def add(self, subscription: CustomerSubscription) -> None:
        self.session.add(subscription)


class QuotaUses:
    def __init__(self, session: AsyncSession) -> None:
        self.tenant_id = bound_tenant(session, "QuotaUses")
        self.session = session

    async def units_taken(self, subscription_id: uuid.UUID, period: date) -> set[int]:
        stmt = select(QuotaUse.unit_no).where(
            QuotaUse.tenant_id == self.tenant_id,
            QuotaUse.subscription_id == subscription_id,
            QuotaUse.period_start == period,
        )
        return set((await self.session.execute(stmt)).scalars())

    async def used(self, keys: Sequence[tuple[uuid.UUID, date]]) -> dict[tuple[uuid.UUID, date], int]:
        """Units used per (subscription, period start), for many subscriptions in one statement."""
        if not keys:
            return {}
        stmt = (
            select(QuotaUse.subscription_id, QuotaUse.period_start, func.count())
            .where(
                QuotaUse.tenant_id == self.tenant_id,
                tuple_(QuotaUse.subscription_id, QuotaUse.period_start).in_(list(set(keys))),
            )
            .group_by(QuotaUse.subscription_id, QuotaUse.period_start)
        )
        counts = {(s, p): int(n) for s, p, n in (await self.session.execute(stmt)).all()}
        return {k: counts.get(k, 0) for k in keys}

    async def of_booking(self, booking_id: uuid.UUID) -> QuotaUse | None:
        stmt = select(QuotaUse).where(QuotaUse.tenant_id == self.tenant_id, QuotaUse.booking_id == booking_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    def add(self, use: QuotaUse) -> None:
        self.session.add(use)

    async def release(self, booking_id: uuid.UUID) -> bool:
        result = await self.session.execute(
            delete(QuotaUse)
            .where(QuotaUse.tenant_id == self.tenant_id, QuotaUse.booking_id == booking_id)
            .execution_options(synchronize_session=False)
        )
        assert isinstance(result, CursorResult)
        return result.rowcount > 0
