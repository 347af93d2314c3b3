"""The assistant's operations: ``authEvents`` (every step of WhatsApp verification, for staff, newest first),
``configureAssistantModel`` and ``integrationSettings``."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from enum import Enum

import strawberry
from strawberry import relay

from bizzly.egress import EgressPolicy
from bizzly.errors import DomainError
from domain.assistant import model_config, service
from domain.assistant.models import AuthEvent as AuthEventRow
from domain.connections.hubspot_form import hubspot_form_guid
from graphql_api.context import Info
from graphql_api.customers.loaders import customer_loader
from graphql_api.customers.types import Customer
from graphql_api.errors import UserError, from_domain, user_errors
from graphql_api.permissions import CanManageIntegrations, CanOperate, CanReadSettings, staff_can
from graphql_api.relay import Connection, node_uuids, page_request
from tenants.permissions import Permission
from tenants.service import staff_actor


@strawberry.enum(name="AuthEventKind")
class AuthEventKind(Enum):
    CODE_SENT = "CODE_SENT"
    CODE_FAILED = "CODE_FAILED"
    VERIFIED = "VERIFIED"
    LOCKED = "LOCKED"
    LOGGED_OUT = "LOGGED_OUT"
    SESSION_EXPIRED = "SESSION_EXPIRED"
    RATE_LIMITED = "RATE_LIMITED"


@strawberry.type(description="One step of a WhatsApp customer's verification (never the code itself).")
class AuthEvent(relay.Node):
    id: relay.NodeID[str]
    kind: AuthEventKind
    phone: str | None = strawberry.field(description="The sender's phone (E.164), null for a username.")
    created_at: datetime
    customer_id: strawberry.Private[uuid.UUID | None]

    @classmethod
    def from_model(cls, row: AuthEventRow) -> AuthEvent:
        return cls(
            id=str(row.id),
            kind=AuthEventKind(row.kind),
            phone=row.phone,
            created_at=row.created_at,
            customer_id=row.customer_id,
        )

    @strawberry.field(description="The account concerned, when one was (and still exists).")
    async def customer(self, info: Info) -> Customer | None:
        if self.customer_id is None:
            return None
        row = await customer_loader(info.context).load(self.customer_id)
        return Customer.from_model(row) if row is not None else None

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[AuthEvent | None]:
        """Only staff (who may see conversations) can fetch an event."""
        ids = node_uuids(node_ids)
        if not staff_can(info, Permission.OPERATE):
            return [None for _ in ids]
        async with await info.context.session() as session:
            rows = await service.auth_events_by_ids(session, [i for i in ids if i is not None])
        found = {r.id: r for r in rows}
        return [cls.from_model(found[i]) if i in found else None for i in ids]


@strawberry.type
class AssistantQuery:
    @strawberry.field(
        permission_classes=[CanOperate],
        description="WhatsApp customers' verification steps (codes sent, failures, sessions), newest first.",
    )
    async def auth_events(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[AuthEvent]:
        try:
            async with await info.context.session() as session:
                page = await service.auth_events(session, page=page_request(first, after, last, before))
        except DomainError as exc:
            raise from_domain(exc) from exc
        return Connection.from_page(page, AuthEvent.from_model)


@strawberry.input(description="An OpenAI-compatible chat-completions model for the assistant's free text.")
class AssistantModelInput:
    base_url: str = strawberry.field(
        description="e.g. https://api.openai.com/v1 (…/chat/completions is added)."
    )
    model: str
    api_key: str = strawberry.field(description="Stored encrypted; never returned.")


@strawberry.type
class ConfigureAssistantModelPayload:
    ok: bool = False
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type(description="The assistant's model as configured (never its key).")
class AssistantModel:
    base_url: str
    model: str


@strawberry.type(description="Integration choices the dashboard shows back after configuring them.")
class IntegrationSettings:
    hubspot_form_guid: str | None = strawberry.field(
        description="The HubSpot form website contact forms go to; null: contacts are upserted instead."
    )
    assistant_model: AssistantModel | None = strawberry.field(
        description="The WhatsApp assistant's own model; null: deterministic understanding only."
    )


@strawberry.type
class AssistantSettingsQuery:
    @strawberry.field(permission_classes=[CanReadSettings], description="The integrations' settings.")
    async def integration_settings(self, info: Info) -> IntegrationSettings:
        async with await info.context.session() as session:
            guid = await hubspot_form_guid(session)
            found = await model_config.assistant_model(session)
        return IntegrationSettings(
            hubspot_form_guid=guid,
            assistant_model=AssistantModel(base_url=found.base_url, model=found.model) if found else None,
        )


@strawberry.type
class AssistantMutation:
    @strawberry.mutation(
        permission_classes=[CanManageIntegrations],
        description="Let the WhatsApp assistant use an OpenAI-compatible model for free text (it only picks "
        "tools; the tool layer's rules still decide). null: deterministic understanding only. The base URL "
        "must be https (in production) on the public internet, with no query: INVALID on baseUrl otherwise.",
    )
    async def configure_assistant_model(
        self, info: Info, input: AssistantModelInput | None = None
    ) -> ConfigureAssistantModelPayload:
        ctx = info.context
        try:
            async with await ctx.session(write=True) as s, s.begin():
                await model_config.configure_assistant_model(
                    s,
                    keys=ctx.services.keys,
                    egress=EgressPolicy.from_settings(ctx.services.settings),
                    actor=await staff_actor(s, ctx.caller),
                    base_url=input.base_url if input is not None else None,
                    model=input.model if input is not None else None,
                    api_key=input.api_key if input is not None else None,
                )
        except DomainError as exc:
            return ConfigureAssistantModelPayload(errors=user_errors(exc))
        return ConfigureAssistantModelPayload(ok=True)
