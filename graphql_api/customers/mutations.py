"""Customer mutations: staff create and edit accounts; customers register, log in and edit their profile.

Each resolver owns its transaction: a ``DomainError`` inside it rolls everything back and becomes the
payload's ``errors`` (nothing written). Every change is audited by the service.
"""

from __future__ import annotations

import asyncio
import uuid

import strawberry

from bizzly.errors import DomainError
from domain.customers import phone_proof, service
from domain.customers.models import PhoneProof
from graphql_api.accounts.mutations import TokenExchange
from graphql_api.context import Info
from graphql_api.customers.payloads import (
    ConfirmPhoneCodeInput,
    ConfirmPhoneCodePayload,
    CreateCustomerInput,
    CreateCustomerPayload,
    CustomerLogInInput,
    CustomerLogInPayload,
    RegisterCustomerInput,
    RegisterCustomerPayload,
    RequestPhoneCodePayload,
    UpdateCustomerInput,
    UpdateCustomerPayload,
    UpdateMyProfileInput,
    UpdateMyProfilePayload,
)
from graphql_api.customers.types import Customer
from graphql_api.errors import ApiError, UserError, UserErrorCode, user_errors
from graphql_api.inputs import unset
from graphql_api.permissions import CanOperate, IsCustomer
from graphql_api.relay import parse_id
from tenants.service import staff_actor


def _tenant_errors(exc: ApiError) -> list[UserError]:
    """An unknown or contradictory ``tenantSlug`` is the input's fault: a payload error on that field."""
    code = UserErrorCode.NOT_FOUND if exc.code == "NOT_FOUND" else UserErrorCode.INVALID
    return [UserError(field="tenantSlug", message=str(exc), code=code)]


@strawberry.type
class CustomersMutation:
    @strawberry.mutation(permission_classes=[CanOperate], description="Staff add a customer account.")
    async def create_customer(self, info: Info, input: CreateCustomerInput) -> CreateCustomerPayload:
        ctx = info.context
        try:
            async with await ctx.session(write=True) as s, s.begin():
                tenant = await service.current_tenant(s)
                row = await service.create_customer(
                    s,
                    tenant=tenant,
                    actor=await staff_actor(s, ctx.caller),
                    name=input.name,
                    email=input.email,
                    phone=input.phone,
                    phone_proof=PhoneProof.STAFF,
                )
        except DomainError as exc:
            return CreateCustomerPayload(errors=user_errors(exc))
        return CreateCustomerPayload(customer=Customer.from_model(row))

    @strawberry.mutation(
        permission_classes=[CanOperate],
        description="Staff edit a customer: omitted fields are unchanged, a null phone clears it.",
    )
    async def update_customer(self, info: Info, input: UpdateCustomerInput) -> UpdateCustomerPayload:
        ctx = info.context
        try:
            customer_id = parse_id(input.id, "Customer", field="id")
            async with await ctx.session(write=True) as s, s.begin():
                tenant = await service.current_tenant(s)
                row = await service.update_customer(
                    s,
                    tenant=tenant,
                    actor=await staff_actor(s, ctx.caller),
                    customer_id=customer_id,
                    name=unset(input.name),
                    email=unset(input.email),
                    phone=unset(input.phone),
                    phone_proof=PhoneProof.STAFF,
                )
        except DomainError as exc:
            return UpdateCustomerPayload(errors=user_errors(exc))
        return UpdateCustomerPayload(customer=Customer.from_model(row))

    @strawberry.mutation(
        permission_classes=[TokenExchange],
        description="A customer creates an account on the business's website and is logged in.",
    )
    async def register_customer(self, info: Info, input: RegisterCustomerInput) -> RegisterCustomerPayload:
        ctx = info.context
        services = ctx.services
        try:
            tenant_id = await ctx.tenant_id(slug=input.tenant_slug)
        except ApiError as exc:
            return RegisterCustomerPayload(errors=_tenant_errors(exc))
        try:
            async with services.db.tenant_session(tenant_id, write=True) as s, s.begin():
                tenant = await service.current_tenant(s)
                done = await service.register_customer(
                    s,
                    tenant=tenant,
                    tokens=services.tokens,
                    settings=services.settings,
                    name=input.name,
                    email=input.email,
                    password=input.password,
                    phone=input.phone,
                )
        except DomainError as exc:
            return RegisterCustomerPayload(errors=user_errors(exc))
        return RegisterCustomerPayload(
            customer=Customer.from_model(done.customer),
            access_token=done.tokens.access_token,
            refresh_token=done.tokens.refresh_token,
        )

    @strawberry.mutation(
        permission_classes=[TokenExchange],
        description="A customer logs in on the business's website (failed attempts are throttled).",
    )
    async def customer_log_in(self, info: Info, input: CustomerLogInInput) -> CustomerLogInPayload:
        ctx = info.context
        services = ctx.services
        try:
            tenant_id = await ctx.tenant_id(slug=input.tenant_slug)
        except ApiError as exc:
            return CustomerLogInPayload(errors=_tenant_errors(exc))
        try:
            # The failure count of a refused attempt is committed with the transaction, then reported.
            async with services.db.tenant_session(tenant_id, write=True) as s, s.begin():
                tenant = await service.current_tenant(s)
                outcome = await service.customer_log_in(
                    s,
                    tenant=tenant,
                    tokens=services.tokens,
                    settings=services.settings,
                    keys=services.keys,
                    email=input.email,
                    password=input.password,
                    client_ip=ctx.client_ip,
                )
        except DomainError as exc:
            return CustomerLogInPayload(errors=user_errors(exc))
        await asyncio.sleep(outcome.delay)  # an account under attack is slowed down, never locked
        if outcome.error is not None or outcome.value is None:
            return CustomerLogInPayload(errors=user_errors(outcome.error) if outcome.error else [])
        return CustomerLogInPayload(
            customer=Customer.from_model(outcome.value.customer),
            access_token=outcome.value.tokens.access_token,
            refresh_token=outcome.value.tokens.refresh_token,
        )

    @strawberry.mutation(
        permission_classes=[IsCustomer],
        description="A customer edits their own name and phone (a null phone clears it).",
    )
    async def update_my_profile(self, info: Info, input: UpdateMyProfileInput) -> UpdateMyProfilePayload:
        ctx = info.context
        customer_id = ctx.caller.subject_id
        assert isinstance(customer_id, uuid.UUID)
        try:
            async with await ctx.session(write=True) as s, s.begin():
                tenant = await service.current_tenant(s)
                row = await service.update_my_profile(
                    s,
                    tenant=tenant,
                    customer_id=customer_id,
                    name=unset(input.name),
                    phone=unset(input.phone),
                )
        except DomainError as exc:
            return UpdateMyProfilePayload(errors=user_errors(exc))
        return UpdateMyProfilePayload(customer=Customer.from_model(row))

    @strawberry.mutation(
        permission_classes=[IsCustomer],
        description="Send a 6-digit code to the signed-in customer's phone through the business's WhatsApp "
        "number (its authentication template), to prove the phone is theirs with confirmPhoneCode. Errors: "
        "REQUIRED (no phone), CONFLICT (already proven), UNAVAILABLE (no WhatsApp connected or no "
        "template), LIMIT_REACHED (too many codes; the message says when to try again).",
    )
    async def request_phone_code(self, info: Info) -> RequestPhoneCodePayload:
        ctx = info.context
        customer_id = ctx.caller.subject_id
        assert isinstance(customer_id, uuid.UUID)
        services = ctx.services
        try:
            async with await ctx.session(write=True) as s, s.begin():
                sent = await phone_proof.request_phone_code(
                    s, keys=services.keys, settings=services.settings, customer_id=customer_id
                )
        except DomainError as exc:
            return RequestPhoneCodePayload(errors=user_errors(exc))
        return RequestPhoneCodePayload(phone=sent.phone_masked, expires_at=sent.expires_at)

    @strawberry.mutation(
        permission_classes=[IsCustomer],
        description="Confirm the code from requestPhoneCode: the right one proves the phone. Errors on "
        "`code`: INVALID (not 6 digits), NOT_FOUND (none asked for), EXPIRED (10 minutes), WRONG_CODE "
        "(tries left in the message), TOO_MANY_ATTEMPTS (the third wrong try ends the code); CONFLICT on "
        "`phone` when it is already proven.",
    )
    async def confirm_phone_code(self, info: Info, input: ConfirmPhoneCodeInput) -> ConfirmPhoneCodePayload:
        ctx = info.context
        customer_id = ctx.caller.subject_id
        assert isinstance(customer_id, uuid.UUID)
        try:
            # A wrong try is counted and committed with the transaction, then reported.
            async with await ctx.session(write=True) as s, s.begin():
                outcome = await phone_proof.confirm_phone_code(
                    s, keys=ctx.services.keys, customer_id=customer_id, code=input.code
                )
        except DomainError as exc:
            return ConfirmPhoneCodePayload(errors=user_errors(exc))
        if outcome.error is not None or outcome.value is None:
            return ConfirmPhoneCodePayload(errors=user_errors(outcome.error) if outcome.error else [])
        return ConfirmPhoneCodePayload(customer=Customer.from_model(outcome.value))
