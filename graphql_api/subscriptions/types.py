"""GraphQL types of subscriptions: Plan, PlanPeriod, CustomerSubscription (never ``Subscription``, the
name a schema keeps for its subscription root)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from enum import Enum

import strawberry
from strawberry import relay

from domain.subscriptions import models
from domain.subscriptions.service import SubscriptionView
from graphql_api.catalog.types import Money, Service
from graphql_api.context import Info
from graphql_api.errors import not_found
from graphql_api.relay import node_uuids
from graphql_api.subscriptions.loaders import plan_loader, plan_services_loader, subscription_loader
from tenants.permissions import Permission, role_can


@strawberry.enum
class PlanPeriod(Enum):
    WEEK = "WEEK"
    MONTH = "MONTH"


@strawberry.enum
class SubscriptionStatus(Enum):
    ACTIVE = "ACTIVE"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"


@strawberry.type(description="A subscription plan: a quota of bookings per week or month.")
class Plan(relay.Node):
    id: relay.NodeID[str]
    name: str
    quota: int = strawberry.field(description="Bookings included per period.")
    period: PlanPeriod = strawberry.field(description="Calendar weeks (Monday first) or months, local time.")
    price: Money
    covers_all_services: bool = strawberry.field(description="True: bookings of every service use the quota.")
    active: bool = strawberry.field(description="Inactive plans take no new subscribers.")
    plan_id: strawberry.Private[uuid.UUID]

    @classmethod
    def from_model(cls, row: models.Plan) -> Plan:
        return cls(
            id=str(row.id),
            name=row.name,
            quota=row.quota,
            period=PlanPeriod(row.period),
            price=Money(amount=row.price_amount, currency=row.price_currency),
            covers_all_services=row.covers_all_services,
            active=row.active,
            plan_id=row.id,
        )

    @strawberry.field(description="The services whose bookings use the quota.")
    async def services(self, info: Info) -> list[Service]:
        rows = await plan_services_loader(info.context).load(self.plan_id)
        return [Service.from_model(r) for r in rows]

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Plan | None]:
        """Staff only (plans are settings they may read)."""
        caller = info.context.caller
        ids = node_uuids(node_ids)
        if not (
            caller.is_staff and caller.role is not None and role_can(caller.role, Permission.READ_SETTINGS)
        ):
            return [None for _ in ids]
        rows = await plan_loader(info.context).load_many([i for i in ids if i is not None])
        found = {r.id: r for r in rows if r is not None}
        return [cls.from_model(found[i]) if i is not None and i in found else None for i in ids]


@strawberry.type(description="A customer's subscription to a plan.")
class CustomerSubscription(relay.Node):
    id: relay.NodeID[str]
    status: SubscriptionStatus
    remaining: int = strawberry.field(description="Bookings left in the current period (0 unless ACTIVE).")
    period_ends_at: datetime | None = strawberry.field(
        description="When the current period ends and the quota renews (null unless ACTIVE)."
    )
    started_at: datetime
    ends_at: datetime | None
    cancelled_at: datetime | None
    plan_id: strawberry.Private[uuid.UUID]
    customer_id: strawberry.Private[uuid.UUID]

    @classmethod
    def from_view(cls, view: SubscriptionView) -> CustomerSubscription:
        sub = view.subscription
        return cls(
            id=str(sub.id),
            status=SubscriptionStatus(view.status.value),
            remaining=view.remaining,
            period_ends_at=view.period_ends_at,
            started_at=sub.started_at,
            ends_at=sub.ends_at,
            cancelled_at=sub.cancelled_at,
            plan_id=sub.plan_id,
            customer_id=sub.customer_id,
        )

    @strawberry.field
    async def plan(self, info: Info) -> Plan:
        row = await plan_loader(info.context).load(self.plan_id)
        if row is None:
            raise not_found("This subscription's plan no longer exists.")
        return Plan.from_model(row)

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[CustomerSubscription | None]:
        """Staff see every subscription of their business; a customer only their own."""
        caller = info.context.caller
        staff = caller.is_staff and caller.role is not None and role_can(caller.role, Permission.OPERATE)
        ids = node_uuids(node_ids)
        views = await subscription_loader(info.context).load_many([i for i in ids if i is not None])
        found = {v.subscription.id: v for v in views if v is not None}
        result: list[CustomerSubscription | None] = []
        for i in ids:
            view = found.get(i) if i is not None else None
            visible = view is not None and (
                staff or (caller.is_customer and view.subscription.customer_id == caller.subject_id)
            )
            result.append(cls.from_view(view) if visible and view is not None else None)
        return result
