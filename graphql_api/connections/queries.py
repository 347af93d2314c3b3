"""The tenant's connections, for "Managing your connections" in the dashboard."""

from __future__ import annotations

import strawberry

from domain.connections.service import list_connections
from graphql_api.connections.types import Integration
from graphql_api.context import Info
from graphql_api.permissions import CanManageIntegrations


@strawberry.type
class ConnectionsQuery:
    @strawberry.field(
        permission_classes=[CanManageIntegrations],
        description="Each provider's current connection (a short list; disconnected ones are shown too).",
    )
    async def connections(self, info: Info) -> list[Integration]:
        async with await info.context.session() as session:
            rows = await list_connections(session)
        public_url = info.context.settings.public_url
        return [Integration.from_model(r, public_url=public_url) for r in rows]
