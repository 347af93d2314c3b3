"""Inputs and payloads of the catalog mutations, named and shaped as the contract says."""

from __future__ import annotations

import strawberry

from graphql_api.catalog.types import BusinessHours, HelpArticle, MoneyInput, Service
from graphql_api.errors import UserError


@strawberry.input
class CreateServiceInput:
    name: str
    description: str | None = None
    duration_minutes: int
    price: MoneyInput
    capacity: int = 1
    active: bool = True


@strawberry.input(description="An omitted field is unchanged; an explicit null description clears it.")
class UpdateServiceInput:
    id: strawberry.ID
    name: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    duration_minutes: int | None = strawberry.UNSET
    price: MoneyInput | None = strawberry.UNSET
    capacity: int | None = strawberry.UNSET
    active: bool | None = strawberry.UNSET


@strawberry.type
class ServicePayload:
    service: Service | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class BusinessHoursInput:
    weekday: int = strawberry.field(description="0 = Monday ... 6 = Sunday")
    opens: str = strawberry.field(description='"09:00"')
    closes: str = strawberry.field(description='"17:00" ("24:00" for midnight)')


@strawberry.input(
    description="The whole week: a weekday left out is closed; a weekday may have several ranges."
)
class SetBusinessHoursInput:
    hours: list[BusinessHoursInput]


@strawberry.type
class SetBusinessHoursPayload:
    business_hours: list[BusinessHours] | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class CreateHelpArticleInput:
    title: str
    body: str
    category: str
    level: str | None = None
    read_minutes: int | None = strawberry.field(default=None, description="Omitted: estimated from the text.")
    published: bool = True


@strawberry.input(description="An omitted field is unchanged; a null readMinutes goes back to the estimate.")
class UpdateHelpArticleInput:
    id: strawberry.ID
    title: str | None = strawberry.UNSET
    body: str | None = strawberry.UNSET
    category: str | None = strawberry.UNSET
    level: str | None = strawberry.UNSET
    read_minutes: int | None = strawberry.UNSET
    published: bool | None = strawberry.UNSET


@strawberry.type
class HelpArticlePayload:
    article: HelpArticle | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class DeleteHelpArticlePayload:
    ok: bool = False
    errors: list[UserError] = strawberry.field(default_factory=list)
