"""The request's DataLoaders of plans, a plan's services, and customers' subscriptions."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from strawberry.dataloader import DataLoader

from domain.catalog.models import Service as ServiceRow
from domain.subscriptions import service as subscriptions
from domain.subscriptions.models import Plan as PlanRow
from domain.subscriptions.repository import Plans, Subscriptions
from graphql_api.context import Context


def plan_loader(ctx: Context) -> DataLoader[uuid.UUID, PlanRow | None]:
    async def load(ids: Sequence[uuid.UUID]) -> list[PlanRow | None]:
        async with await ctx.session() as session:
            found = await Plans(session).by_ids(list(ids))
        return [found.get(i) for i in ids]

    return ctx.loaders.get("subscriptions.plans_by_id", lambda: DataLoader(load_fn=load))


def plan_services_loader(ctx: Context) -> DataLoader[uuid.UUID, list[ServiceRow]]:
    async def load(ids: Sequence[uuid.UUID]) -> list[list[ServiceRow]]:
        async with await ctx.session() as session:
            found = await Plans(session).services_of(list(ids))
        return [found.get(i, []) for i in ids]

    return ctx.loaders.get("subscriptions.plan_services", lambda: DataLoader(load_fn=load))


def customer_subscriptions_loader(
    ctx: Context,
) -> DataLoader[uuid.UUID, list[subscriptions.SubscriptionView]]:
    async def load(ids: Sequence[uuid.UUID]) -> list[list[subscriptions.SubscriptionView]]:
        async with await ctx.session() as session:
            found = await subscriptions.customers_subscriptions(session, list(ids))
        _prime_plans(ctx, [v for views in found.values() for v in views])
        return [found.get(i, []) for i in ids]

    return ctx.loaders.get("subscriptions.by_customer", lambda: DataLoader(load_fn=load))


def subscription_loader(ctx: Context) -> DataLoader[uuid.UUID, subscriptions.SubscriptionView | None]:
    async def load(ids: Sequence[uuid.UUID]) -> list[subscriptions.SubscriptionView | None]:
        async with await ctx.session() as session:
            subs = await Subscriptions(session).by_ids(list(ids))
            views = {v.subscription.id: v for v in await subscriptions.views(session, list(subs.values()))}
        _prime_plans(ctx, list(views.values()))
        return [views.get(i) for i in ids]

    return ctx.loaders.get("subscriptions.by_id", lambda: DataLoader(load_fn=load))


def _prime_plans(ctx: Context, views: Sequence[subscriptions.SubscriptionView]) -> None:
    loader = plan_loader(ctx)
    for view in views:
        loader.prime(view.plan.id, view.plan)
