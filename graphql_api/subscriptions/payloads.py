"""Inputs and payloads of the plan and subscription mutations, named and shaped as the contract says."""

from __future__ import annotations

from datetime import datetime

import strawberry

from graphql_api.catalog.types import MoneyInput
from graphql_api.errors import UserError
from graphql_api.subscriptions.types import CustomerSubscription, Plan, PlanPeriod


@strawberry.input
class CreatePlanInput:
    name: str
    quota: int
    period: PlanPeriod
    price: MoneyInput
    service_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Bookings of these services use the quota; omitted: every service."
    )


@strawberry.input(description="An omitted field is unchanged; serviceIds null: every service.")
class UpdatePlanInput:
    id: strawberry.ID
    name: str | None = strawberry.UNSET
    quota: int | None = strawberry.UNSET
    period: PlanPeriod | None = strawberry.UNSET
    price: MoneyInput | None = strawberry.UNSET
    service_ids: list[strawberry.ID] | None = strawberry.UNSET
    active: bool | None = strawberry.UNSET


@strawberry.type
class PlanPayload:
    plan: Plan | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class SubscribeCustomerInput:
    customer_id: strawberry.ID
    plan_id: strawberry.ID
    ends_at: datetime | None = strawberry.field(default=None, description="Omitted: runs until cancelled.")


@strawberry.type
class SubscriptionPayload:
    subscription: CustomerSubscription | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
