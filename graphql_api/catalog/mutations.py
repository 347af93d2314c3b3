"""Catalog mutations. Services and hours are settings (owners and admins); help articles are everyday work
(all staff). Each resolver owns its transaction: a ``DomainError`` rolls it back and becomes ``errors``."""

from __future__ import annotations

import strawberry

from bizzly.errors import DomainError
from bizzly.patch import UNSET
from domain.catalog import help as articles
from domain.catalog import service as catalog
from graphql_api.catalog.common import actor_of
from graphql_api.catalog.payloads import (
    CreateHelpArticleInput,
    CreateServiceInput,
    DeleteHelpArticlePayload,
    HelpArticlePayload,
    ServicePayload,
    SetBusinessHoursInput,
    SetBusinessHoursPayload,
    UpdateHelpArticleInput,
    UpdateServiceInput,
)
from graphql_api.catalog.types import BusinessHours, HelpArticle, Service
from graphql_api.context import Info
from graphql_api.errors import user_errors
from graphql_api.inputs import unset
from graphql_api.permissions import CanManageSettings, CanOperate
from graphql_api.relay import parse_id


@strawberry.type
class CatalogMutation:
    @strawberry.mutation(permission_classes=[CanManageSettings], description="Add a service.")
    async def create_service(self, info: Info, input: CreateServiceInput) -> ServicePayload:
        ctx = info.context
        try:
            async with await ctx.session(write=True) as s, s.begin():
                row = await catalog.create_service(
                    s,
                    actor=await actor_of(s, ctx.caller),
                    name=input.name,
                    description=input.description,
                    duration_minutes=input.duration_minutes,
                    price_amount=input.price.amount,
                    price_currency=input.price.currency,
                    capacity=input.capacity,
                    active=input.active,
                )
        except DomainError as exc:
            return ServicePayload(errors=user_errors(exc))
        return ServicePayload(service=Service.from_model(row))

    @strawberry.mutation(
        permission_classes=[CanManageSettings],
        description="Edit a service (omitted fields unchanged). A new capacity or duration applies to new "
        "bookings; set active: false to stop taking bookings.",
    )
    async def update_service(self, info: Info, input: UpdateServiceInput) -> ServicePayload:
        ctx = info.context
        price = unset(input.price)
        try:
            service_id = parse_id(input.id, "Service", field="id")
            async with await ctx.session(write=True) as s, s.begin():
                row = await catalog.update_service(
                    s,
                    actor=await actor_of(s, ctx.caller),
                    service_id=service_id,
                    patch=catalog.ServicePatch(
                        name=unset(input.name),
                        description=unset(input.description),
                        duration_minutes=unset(input.duration_minutes),
                        price_amount=price if price is None or price is UNSET else price.amount,
                        price_currency=price if price is None or price is UNSET else price.currency,
                        capacity=unset(input.capacity),
                        active=unset(input.active),
                    ),
                )
        except DomainError as exc:
            return ServicePayload(errors=user_errors(exc))
        return ServicePayload(service=Service.from_model(row))

    @strawberry.mutation(
        permission_classes=[CanManageSettings],
        description="Retire a service for good: it leaves every list and takes no bookings; past and "
        "upcoming bookings keep it.",
    )
    async def archive_service(self, info: Info, id: strawberry.ID) -> ServicePayload:
        ctx = info.context
        try:
            service_id = parse_id(id, "Service", field="id")
            async with await ctx.session(write=True) as s, s.begin():
                row = await catalog.archive_service(
                    s, actor=await actor_of(s, ctx.caller), service_id=service_id
                )
        except DomainError as exc:
            return ServicePayload(errors=user_errors(exc))
        return ServicePayload(service=Service.from_model(row))

    @strawberry.mutation(
        permission_classes=[CanManageSettings],
        description="Replace the weekly opening hours (times on 5-minute steps, business time zone).",
    )
    async def set_business_hours(self, info: Info, input: SetBusinessHoursInput) -> SetBusinessHoursPayload:
        ctx = info.context
        try:
            async with await ctx.session(write=True) as s, s.begin():
                ranges = await catalog.set_business_hours(
                    s,
                    actor=await actor_of(s, ctx.caller),
                    hours=[(h.weekday, h.opens, h.closes) for h in input.hours],
                )
        except DomainError as exc:
            return SetBusinessHoursPayload(errors=user_errors(exc))
        return SetBusinessHoursPayload(business_hours=[BusinessHours.from_range(r) for r in ranges])

    @strawberry.mutation(permission_classes=[CanOperate], description="Write a help article.")
    async def create_help_article(self, info: Info, input: CreateHelpArticleInput) -> HelpArticlePayload:
        ctx = info.context
        try:
            async with await ctx.session(write=True) as s, s.begin():
                row = await articles.create_article(
                    s,
                    actor=await actor_of(s, ctx.caller),
                    title=input.title,
                    body=input.body,
                    category=input.category,
                    level=input.level,
                    read_minutes=input.read_minutes,
                    published=input.published,
                )
        except DomainError as exc:
            return HelpArticlePayload(errors=user_errors(exc))
        return HelpArticlePayload(article=HelpArticle.from_model(row))

    @strawberry.mutation(permission_classes=[CanOperate], description="Edit a help article.")
    async def update_help_article(self, info: Info, input: UpdateHelpArticleInput) -> HelpArticlePayload:
        ctx = info.context
        try:
            article_id = parse_id(input.id, "HelpArticle", field="id")
            async with await ctx.session(write=True) as s, s.begin():
                row = await articles.update_article(
                    s,
                    actor=await actor_of(s, ctx.caller),
                    article_id=article_id,
                    patch=articles.ArticlePatch(
                        title=unset(input.title),
                        body=unset(input.body),
                        category=unset(input.category),
                        level=unset(input.level),
                        read_minutes=unset(input.read_minutes),
                        published=unset(input.published),
                    ),
                )
        except DomainError as exc:
            return HelpArticlePayload(errors=user_errors(exc))
        return HelpArticlePayload(article=HelpArticle.from_model(row))

    @strawberry.mutation(permission_classes=[CanOperate], description="Delete a help article.")
    async def delete_help_article(self, info: Info, id: strawberry.ID) -> DeleteHelpArticlePayload:
        ctx = info.context
        try:
            article_id = parse_id(id, "HelpArticle", field="id")
            async with await ctx.session(write=True) as s, s.begin():
                await articles.delete_article(s, actor=await actor_of(s, ctx.caller), article_id=article_id)
        except DomainError as exc:
            return DeleteHelpArticlePayload(errors=user_errors(exc))
        return DeleteHelpArticlePayload(ok=True)
