"""HubSpot mutations: start connecting, link or unlink a CRM contact, choose the website form's HubSpot form.

Connecting goes through the ``OAuthStarter`` port (the API never imports integrations); the callback that
finishes it is a plain route of the HubSpot adapter.
"""

from __future__ import annotations

import strawberry

from bizzly.errors import DomainError
from domain.connections.hubspot_form import configure_hubspot_form
from domain.connections.models import Provider
from domain.identity import service
from graphql_api.context import Info
from graphql_api.customers.types import Customer
from graphql_api.errors import UserError, UserErrorCode, user_errors
from graphql_api.hubspot.payloads import (
    ConfigureHubSpotFormPayload,
    CrmContactPayload,
    StartHubSpotConnectPayload,
)
from graphql_api.identity.types import CrmContact
from graphql_api.permissions import CanManageIntegrations
from graphql_api.relay import parse_id
from tenants.service import staff_actor


async def _link(
    info: Info, contact_id: strawberry.ID, customer_id: strawberry.ID | None
) -> CrmContactPayload:
    ctx = info.context
    try:
        contact_uuid = parse_id(contact_id, "CrmContact", field="contactId")
        customer_uuid = (
            parse_id(customer_id, "Customer", field="customerId") if customer_id is not None else None
        )
        async with await ctx.session(write=True) as s, s.begin():
            row = await service.link_crm_contact(
                s, contact_id=contact_uuid, customer_id=customer_uuid, actor=await staff_actor(s, ctx.caller)
            )
            found = await service.crm_contacts_with_customers(s, [row.id])
    except DomainError as exc:
        return CrmContactPayload(errors=user_errors(exc))
    contact, customer = found[row.id]
    return CrmContactPayload(
        contact=CrmContact.from_model(contact, Customer.from_model(customer) if customer else None)
    )


@strawberry.type
class HubSpotMutation:
    @strawberry.mutation(
        permission_classes=[CanManageIntegrations],
        description="Start connecting HubSpot: the URL of HubSpot's authorization page for this business.",
    )
    async def start_hub_spot_connect(self, info: Info) -> StartHubSpotConnectPayload:
        ctx = info.context
        starter = ctx.services.oauth_starters.get(Provider.HUBSPOT)
        if starter is None:
            return StartHubSpotConnectPayload(
                errors=[
                    UserError(
                        field=None, message="HubSpot is not available here.", code=UserErrorCode.UNAVAILABLE
                    )
                ]
            )
        assert ctx.caller.subject_id is not None
        try:
            url = await starter.start(tenant_id=await ctx.tenant_id(), user_id=ctx.caller.subject_id)
        except DomainError as exc:
            return StartHubSpotConnectPayload(errors=user_errors(exc))
        return StartHubSpotConnectPayload(authorization_url=url)

    @strawberry.mutation(
        permission_classes=[CanManageIntegrations],
        description="Link a CRM contact to a website account by hand (automatic linking by email then "
        "leaves it alone).",
    )
    async def link_crm_contact(
        self, info: Info, contact_id: strawberry.ID, customer_id: strawberry.ID
    ) -> CrmContactPayload:
        return await _link(info, contact_id, customer_id)

    @strawberry.mutation(
        permission_classes=[CanManageIntegrations],
        description="Unlink a CRM contact from its website account (and keep it unlinked).",
    )
    async def unlink_crm_contact(self, info: Info, contact_id: strawberry.ID) -> CrmContactPayload:
        return await _link(info, contact_id, None)

    @strawberry.mutation(
        permission_classes=[CanManageIntegrations],
        description="The HubSpot form website contact forms are submitted to; null: upsert the contact "
        "instead. Needs HubSpot connected.",
    )
    async def configure_hub_spot_form(
        self, info: Info, form_guid: str | None = None
    ) -> ConfigureHubSpotFormPayload:
        ctx = info.context
        try:
            async with await ctx.session(write=True) as s, s.begin():
                await configure_hubspot_form(s, form_guid=form_guid, actor=await staff_actor(s, ctx.caller))
        except DomainError as exc:
            return ConfigureHubSpotFormPayload(errors=user_errors(exc))
        return ConfigureHubSpotFormPayload(ok=True)
