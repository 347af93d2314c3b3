"""The GraphQL ``Integration`` type: one provider connection of the tenant (never secrets)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from enum import Enum

import strawberry
from strawberry import relay

from domain.connections.models import Provider, ProviderConnection
from domain.connections.repository import Connections
from domain.connections.service import config_of
from domain.connections.wording import owner_error
from graphql_api.context import Info
from graphql_api.errors import forbidden, unauthenticated
from graphql_api.hubspot.sync import HubSpotSyncProgress, sync_progress_loader
from graphql_api.permissions import CanManageIntegrations
from graphql_api.relay import node_uuids
from tenants.permissions import Permission, role_can


@strawberry.enum(name="IntegrationProvider")
class IntegrationProvider(Enum):
    WHATSAPP = "whatsapp"
    HUBSPOT = "hubspot"
    GOOGLE_ANALYTICS = "google_analytics"


@strawberry.enum(name="IntegrationStatus")
class IntegrationStatus(Enum):
    CONNECTED = "connected"
    NEEDS_REAUTH = "needs_reauth"
    ERROR = "error"
    DISCONNECTED = "disconnected"


def webhook_url(public_url: str, row: ProviderConnection) -> str | None:
    """Where Meta must send this connection's webhooks: the platform route, or the connection's own when
    the business brought its own Meta app."""
    if row.provider != Provider.WHATSAPP:
        return None
    base = f"{public_url.rstrip('/')}/webhooks/whatsapp"
    return f"{base}/{row.id}" if config_of(row).get("own_app") else base


@strawberry.type(
    description="A connection of the business to a provider (WhatsApp, HubSpot, Google Analytics)."
)
class Integration(relay.Node):
    id: relay.NodeID[str]
    provider: IntegrationProvider
    status: IntegrationStatus
    display_name: str
    webhook_url: str | None = strawberry.field(
        description="WhatsApp: the callback URL to give Meta (its own when the business brought its app)."
    )
    last_success_at: datetime | None
    last_error: str | None = strawberry.field(
        description="The last failure in plain words: what happened and what to do (the provider's error "
        "number in brackets)."
    )
    created_at: datetime

    @strawberry.field(
        permission_classes=[CanManageIntegrations],
        description="HubSpot: the newest contact sync run (state and counts); null for other providers or "
        "before the first run.",
    )
    async def sync_progress(self, info: Info) -> HubSpotSyncProgress | None:
        if self.provider != IntegrationProvider.HUBSPOT:
            return None
        return await sync_progress_loader(info.context).load(uuid.UUID(str(self.id)))

    @classmethod
    def from_model(cls, row: ProviderConnection, *, public_url: str) -> Integration:
        return cls(
            id=str(row.id),
            provider=IntegrationProvider(row.provider),
            status=IntegrationStatus(row.status),
            display_name=row.display_name,
            webhook_url=webhook_url(public_url, row),
            last_success_at=row.last_success_at,
            last_error=owner_error(row.provider, row.last_error),
            created_at=row.created_at,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Integration | None]:
        caller = info.context.caller
        if caller.kind is None:
            raise unauthenticated()
        if (
            not caller.is_staff
            or caller.role is None
            or not role_can(caller.role, Permission.MANAGE_INTEGRATIONS)
        ):
            raise forbidden()
        ids = node_uuids(node_ids)
        async with await info.context.session() as session:
            found = await Connections(session).by_ids([i for i in ids if i is not None])
        public_url = info.context.settings.public_url
        return [cls.from_model(found[i], public_url=public_url) if i in found else None for i in ids]


def integration_id(row_id: uuid.UUID) -> str:
    return str(relay.GlobalID("Integration", str(row_id)))
