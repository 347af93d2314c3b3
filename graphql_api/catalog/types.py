"""GraphQL types of the catalog: Money, Service, BusinessHours, HelpArticle."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

import strawberry
from strawberry import relay

from domain.catalog.hours import OpeningRange, format_time
from domain.catalog.models import HelpArticle as ArticleRow
from domain.catalog.models import Service as ServiceRow
from graphql_api.catalog.loaders import article_loader, service_loader
from graphql_api.context import Info
from graphql_api.permissions import staff_can
from graphql_api.relay import node_uuids
from tenants.permissions import Permission


@strawberry.type(description="An amount of money: `amount` in minor units (cents), `currency` ISO 4217.")
class Money:
    amount: int
    currency: str


@strawberry.input(description="`amount` in minor units (cents, >= 0); `currency` an ISO 4217 code (EUR).")
class MoneyInput:
    amount: int
    currency: str


@strawberry.type(description="Something the business sells and customers book.")
class Service(relay.Node):
    id: relay.NodeID[str]
    name: str
    description: str | None
    duration_minutes: int
    price: Money
    capacity: int = strawberry.field(description="How many bookings may overlap at any moment.")
    active: bool = strawberry.field(description="Inactive services are hidden from customers.")
    archived: bool = strawberry.field(description="Retired: in no list, kept for its old bookings.")
    service_id: strawberry.Private[uuid.UUID]

    @classmethod
    def from_model(cls, row: ServiceRow) -> Service:
        return cls(
            id=str(row.id),
            name=row.name,
            description=row.description,
            duration_minutes=row.duration_minutes,
            price=Money(amount=row.price_amount, currency=row.price_currency),
            capacity=row.capacity,
            active=row.active,
            archived=row.archived_at is not None,
            service_id=row.id,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Service | None]:
        """Staff see every service; customers only those on offer."""
        ids = node_uuids(node_ids)
        rows = await service_loader(info.context).load_many([i for i in ids if i is not None])
        found = {r.id: r for r in rows if r is not None}
        staff = staff_can(info, Permission.READ_SETTINGS)
        result: list[Service | None] = []
        for i in ids:
            row = found.get(i) if i is not None else None
            visible = row is not None and (staff or (row.active and row.archived_at is None))
            result.append(cls.from_model(row) if visible and row is not None else None)
        return result


@strawberry.type(description="One opening range of a weekday (0 = Monday) in the business's time zone.")
class BusinessHours:
    weekday: int
    opens: str = strawberry.field(description='"09:00"')
    closes: str = strawberry.field(description='"17:00" ("24:00" for midnight)')

    @classmethod
    def from_range(cls, r: OpeningRange) -> BusinessHours:
        return cls(weekday=r.weekday, opens=format_time(r.opens), closes=format_time(r.closes))


@strawberry.type(description="A help-centre article.")
class HelpArticle(relay.Node):
    id: relay.NodeID[str]
    title: str
    body: str
    category: str
    level: str | None = strawberry.field(description="For example Beginner.")
    read_minutes: int = strawberry.field(description="Reading time in minutes.")
    published: bool = strawberry.field(description="Only published articles are shown to the public.")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_model(cls, row: ArticleRow) -> HelpArticle:
        return cls(
            id=str(row.id),
            title=row.title,
            body=row.body,
            category=row.category,
            level=row.level,
            read_minutes=row.read_minutes,
            published=row.published,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[HelpArticle | None]:
        """Staff see drafts too; everyone else only published articles."""
        ids = node_uuids(node_ids)
        rows = await article_loader(info.context).load_many([i for i in ids if i is not None])
        found = {r.id: r for r in rows if r is not None}
        staff = staff_can(info, Permission.OPERATE)
        result: list[HelpArticle | None] = []
        for i in ids:
            row = found.get(i) if i is not None else None
            visible = row is not None and (staff or row.published)
            result.append(cls.from_model(row) if visible and row is not None else None)
        return result
