"""Plan mutations (settings: owners and admins) and subscriptions (everyday work: all staff). Each resolver
owns its transaction: a ``DomainError`` rolls it back and becomes ``errors``."""

from __future__ import annotations

import uuid

import strawberry

from bizzly.errors import DomainError
from bizzly.patch import UNSET
from domain.subscriptions import service as subscriptions
from graphql_api.catalog.common import actor_of
from graphql_api.context import Info
from graphql_api.errors import user_errors
from graphql_api.inputs import unset
from graphql_api.permissions import CanManageSettings, CanOperate
from graphql_api.relay import parse_id
from graphql_api.subscriptions.payloads import (
    CreatePlanInput,
    PlanPayload,
    SubscribeCustomerInput,
    SubscriptionPayload,
    UpdatePlanInput,
)
from graphql_api.subscriptions.types import CustomerSubscription, Plan


def _service_ids(values: list[strawberry.ID] | None) -> list[uuid.UUID] | None:
    if values is None:
        return None
    return [parse_id(v, "Service", field="serviceIds") for v in values]


@strawberry.type
class SubscriptionsMutation:
    @strawberry.mutation(permission_classes=[CanManageSettings], description="Add a plan.")
    async def create_plan(self, info: Info, input: CreatePlanInput) -> PlanPayload:
        ctx = info.context
        try:
            service_ids = _service_ids(input.service_ids)
            async with await ctx.session(write=True) as s, s.begin():
                row = await subscriptions.create_plan(
                    s,
                    actor=await actor_of(s, ctx.caller),
                    name=input.name,
                    quota=input.quota,
                    period=input.period.value,
                    price_amount=input.price.amount,
                    price_currency=input.price.currency,
                    service_ids=service_ids,
                )
        except DomainError as exc:
            return PlanPayload(errors=user_errors(exc))
        return PlanPayload(plan=Plan.from_model(row))

    @strawberry.mutation(
        permission_classes=[CanManageSettings],
        description="Edit a plan. A new quota applies to units taken from now on.",
    )
    async def update_plan(self, info: Info, input: UpdatePlanInput) -> PlanPayload:
        ctx = info.context
        price = unset(input.price)
        period = unset(input.period)
        try:
            plan_id = parse_id(input.id, "Plan", field="id")
            service_ids = UNSET if input.service_ids is strawberry.UNSET else _service_ids(input.service_ids)
            async with await ctx.session(write=True) as s, s.begin():
                row = await subscriptions.update_plan(
                    s,
                    actor=await actor_of(s, ctx.caller),
                    plan_id=plan_id,
                    patch=subscriptions.PlanPatch(
                        name=unset(input.name),
                        quota=unset(input.quota),
                        period=period if period is UNSET or period is None else period.value,
                        price_amount=price if price is UNSET or price is None else price.amount,
                        price_currency=price if price is UNSET or price is None else price.currency,
                        service_ids=service_ids,
                        active=unset(input.active),
                    ),
                )
        except DomainError as exc:
            return PlanPayload(errors=user_errors(exc))
        return PlanPayload(plan=Plan.from_model(row))

    @strawberry.mutation(permission_classes=[CanOperate], description="Subscribe a customer to a plan.")
    async def subscribe_customer(self, info: Info, input: SubscribeCustomerInput) -> SubscriptionPayload:
        ctx = info.context
        try:
            customer_id = parse_id(input.customer_id, "Customer", field="customerId")
            plan_id = parse_id(input.plan_id, "Plan", field="planId")
            async with await ctx.session(write=True) as s, s.begin():
                row = await subscriptions.subscribe(
                    s,
                    actor=await actor_of(s, ctx.caller),
                    customer_id=customer_id,
                    plan_id=plan_id,
                    ends_at=input.ends_at,
                )
                (view,) = await subscriptions.views(s, [row])
        except DomainError as exc:
            return SubscriptionPayload(errors=user_errors(exc))
        return SubscriptionPayload(subscription=CustomerSubscription.from_view(view))

    @strawberry.mutation(
        permission_classes=[CanOperate],
        description="End a subscription now; bookings that already used a unit keep it.",
    )
    async def cancel_subscription(self, info: Info, id: strawberry.ID) -> SubscriptionPayload:
        ctx = info.context
        try:
            subscription_id = parse_id(id, "CustomerSubscription", field="id")
            async with await ctx.session(write=True) as s, s.begin():
                row = await subscriptions.cancel_subscription(
                    s, actor=await actor_of(s, ctx.caller), subscription_id=subscription_id
                )
                (view,) = await subscriptions.views(s, [row])
        except DomainError as exc:
            return SubscriptionPayload(errors=user_errors(exc))
        return SubscriptionPayload(subscription=CustomerSubscription.from_view(view))
