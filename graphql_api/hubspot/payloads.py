"""Payloads of the HubSpot mutations."""

from __future__ import annotations

import strawberry

from graphql_api.errors import UserError
from graphql_api.identity.types import CrmContact


@strawberry.type
class StartHubSpotConnectPayload:
    authorization_url: str | None = strawberry.field(
        default=None,
        description="Send the staff member's browser here; HubSpot returns them to the dashboard with "
        "`hubspot=connected` or `hubspot=error&message=...`. Valid once, for a few minutes.",
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class CrmContactPayload:
    contact: CrmContact | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ConfigureHubSpotFormPayload:
    ok: bool = False
    errors: list[UserError] = strawberry.field(default_factory=list)
