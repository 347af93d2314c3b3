"""``submitContactForm``: a website contact form (public; the business is named by ``tenantSlug``)."""

from __future__ import annotations

import strawberry

from bizzly.errors import DomainError
from domain.customers.service import current_tenant
from domain.leads import service
from graphql_api.context import Info
from graphql_api.errors import ApiError, UserError, UserErrorCode, user_errors
from graphql_api.permissions import Public


@strawberry.input(name="ContactFormInput")
class ContactFormInput:
    tenant_slug: str
    email: str
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    message: str | None = None
    page_uri: str | None = strawberry.field(default=None, description="The page the form was sent from.")
    hutk: str | None = strawberry.field(
        default=None, description="The visitor's `hubspotutk` cookie (HubSpot's tracking code), if any."
    )
    consent: bool | None = strawberry.field(
        default=None, description="The visitor agreed to have their data processed (sent to HubSpot)."
    )
    analytics_client_id: str | None = strawberry.field(
        default=None, description="The visitor's Google Analytics client id (from the `_ga` cookie)."
    )


@strawberry.type
class SubmitContactFormPayload:
    ok: bool = False
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class LeadsMutation:
    @strawberry.mutation(
        permission_classes=[Public],
        description="A website contact form: records a lead and, with HubSpot connected, sends it there. "
        "Never changes a phone an account or a CRM contact already has. Throttled per address and business.",
    )
    async def submit_contact_form(self, info: Info, input: ContactFormInput) -> SubmitContactFormPayload:
        ctx = info.context
        try:
            tenant_id = await ctx.tenant_id(slug=input.tenant_slug.strip().lower())
        except ApiError as exc:
            code = UserErrorCode.NOT_FOUND if exc.code == "NOT_FOUND" else UserErrorCode.INVALID
            return SubmitContactFormPayload(
                errors=[UserError(field="tenantSlug", message=str(exc), code=code)]
            )
        form = service.ContactForm(
            email=input.email,
            first_name=input.first_name,
            last_name=input.last_name,
            phone=input.phone,
            message=input.message,
            page_uri=input.page_uri,
            hutk=input.hutk,
            consent=input.consent,
            analytics_client_id=input.analytics_client_id,
        )
        try:
            async with ctx.services.db.tenant_session(tenant_id, write=True) as s, s.begin():
                tenant = await current_tenant(s)
                await service.submit_contact_form(
                    s, tenant=tenant, settings=ctx.settings, client_ip=ctx.client_ip, form=form
                )
        except DomainError as exc:
            return SubmitContactFormPayload(errors=user_errors(exc))
        return SubmitContactFormPayload(ok=True)
