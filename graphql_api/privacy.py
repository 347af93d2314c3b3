"""Erasure: ``eraseCustomerData`` removes a customer's personal data (owners and admins only)."""

from __future__ import annotations

import strawberry

from bizzly.errors import DomainError
from domain.privacy.erasure import erase_customer
from graphql_api.context import Info
from graphql_api.errors import UserError, user_errors
from graphql_api.permissions import CanManageIntegrations
from graphql_api.relay import parse_id
from tenants.service import staff_actor


@strawberry.type
class EraseCustomerDataPayload:
    ok: bool = False
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class PrivacyMutation:
    @strawberry.mutation(
        permission_classes=[CanManageIntegrations],
        description="Erase a customer's personal data: messages, webhooks, CRM contact fields, leads, "
        "assistant sessions and the account's name, email, phone and password. Bookings stay, anonymised. "
        "Erasing twice is a `CONFLICT`; an unknown id is `NOT_FOUND`.",
    )
    async def erase_customer_data(self, info: Info, customer_id: strawberry.ID) -> EraseCustomerDataPayload:
        ctx = info.context
        try:
            customer_uuid = parse_id(customer_id, "Customer", field="customerId")
            async with await ctx.session(write=True) as s, s.begin():
                await erase_customer(
                    s,
                    keys=ctx.services.keys,
                    customer_id=customer_uuid,
                    actor=await staff_actor(s, ctx.caller),
                )
        except DomainError as exc:
            return EraseCustomerDataPayload(errors=user_errors(exc))
        return EraseCustomerDataPayload(ok=True)
