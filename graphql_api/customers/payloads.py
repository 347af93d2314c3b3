"""Inputs and payloads of the customer mutations, named and shaped as the contract says."""

from __future__ import annotations

from datetime import datetime

import strawberry

from graphql_api.customers.types import Customer
from graphql_api.errors import UserError


@strawberry.input
class CreateCustomerInput:
    name: str
    email: str
    phone: str | None = None


@strawberry.input(description="An omitted field is unchanged; an explicit null phone clears it.")
class UpdateCustomerInput:
    id: strawberry.ID
    name: str | None = strawberry.UNSET
    email: str | None = strawberry.UNSET
    phone: str | None = strawberry.UNSET


@strawberry.input
class RegisterCustomerInput:
    tenant_slug: str
    name: str
    email: str
    password: str
    phone: str | None = None


@strawberry.input
class CustomerLogInInput:
    tenant_slug: str
    email: str
    password: str


@strawberry.input(description="An omitted field is unchanged; an explicit null phone clears it.")
class UpdateMyProfileInput:
    name: str | None = strawberry.UNSET
    phone: str | None = strawberry.UNSET


@strawberry.type
class CreateCustomerPayload:
    customer: Customer | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class UpdateCustomerPayload:
    customer: Customer | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class RegisterCustomerPayload:
    customer: Customer | None = None
    access_token: str | None = None
    refresh_token: str | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class CustomerLogInPayload:
    customer: Customer | None = None
    access_token: str | None = None
    refresh_token: str | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class UpdateMyProfilePayload:
    customer: Customer | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class ConfirmPhoneCodeInput:
    code: str = strawberry.field(description="The 6 digits the customer received on WhatsApp.")


@strawberry.type
class RequestPhoneCodePayload:
    phone: str | None = strawberry.field(
        default=None, description="Where the code went, masked (+44•••••••123)."
    )
    expires_at: datetime | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ConfirmPhoneCodePayload:
    customer: Customer | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
