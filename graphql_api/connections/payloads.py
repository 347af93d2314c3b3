"""Inputs and payloads of the integration mutations."""

from __future__ import annotations

import strawberry

from graphql_api.connections.types import Integration
from graphql_api.errors import UserError


@strawberry.input(name="ConnectWhatsAppInput")
class ConnectWhatsAppInput:
    phone_number_id: str
    waba_id: str
    access_token: str
    app_secret: str | None = strawberry.field(
        default=None, description="Only for a business that brings its own Meta app (with verifyToken)."
    )
    verify_token: str | None = None
    otp_template_name: str | None = strawberry.field(
        default=None, description="The approved authentication template that sends verification codes."
    )


@strawberry.type
class IntegrationPayload:
    connection: Integration | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
