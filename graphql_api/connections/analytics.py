"""connectGoogleAnalytics: the measurement id (and optional API secret) are checked, then saved; the
payload carries the gtag.js snippet for the website. With a secret, GA's debug endpoint validates a sample
event first (it cannot verify the secret itself, which the connection's name says)."""

from __future__ import annotations

import strawberry

from bizzly.errors import DomainError
from domain.connections import service as connections
from domain.connections.analytics import measurement_id, site_snippet
from domain.connections.models import ConnectionStatus, Provider
from domain.privacy.audit import record
from graphql_api.catalog.common import actor_of
from graphql_api.connections.types import Integration
from graphql_api.context import Info
from graphql_api.errors import UserError, UserErrorCode, user_errors
from graphql_api.permissions import CanManageIntegrations


@strawberry.input(name="ConnectGoogleAnalyticsInput")
class ConnectGoogleAnalyticsInput:
    measurement_id: str = strawberry.field(description="The GA4 web stream's id: G-XXXXXXXXXX.")
    api_secret: str | None = strawberry.field(
        default=None,
        description="A Measurement Protocol API secret of the stream; without it only the snippet works.",
    )


@strawberry.type
class ConnectGoogleAnalyticsPayload:
    connection: Integration | None = None
    site_snippet: str | None = strawberry.field(
        default=None, description="The gtag.js tag to put in the website's <head>."
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class AnalyticsMutation:
    @strawberry.mutation(
        name="connectGoogleAnalytics",
        permission_classes=[CanManageIntegrations],
        description="Connect Google Analytics 4; reconnecting replaces the previous measurement id.",
    )
    async def connect_google_analytics(
        self, info: Info, input: ConnectGoogleAnalyticsInput
    ) -> ConnectGoogleAnalyticsPayload:
        ctx = info.context
        try:
            measurement = measurement_id(input.measurement_id)
        except DomainError as exc:
            return ConnectGoogleAnalyticsPayload(errors=user_errors(exc))
        secret = (input.api_secret or "").strip() or None
        config = {"measurement_id": measurement}
        secrets = {"api_secret": secret} if secret else {}
        checker = ctx.services.connection_checkers.get(Provider.GOOGLE_ANALYTICS)
        if secret and checker is None:
            return ConnectGoogleAnalyticsPayload(
                errors=[
                    UserError(
                        field=None,
                        message="Google Analytics cannot be checked right now.",
                        code=UserErrorCode.UNAVAILABLE,
                    )
                ]
            )
        result = await checker.check(config, secrets, setup=True) if checker else None
        try:
            async with await ctx.session(write=True) as s, s.begin():
                row = await connections.save_connection(
                    s,
                    keys=ctx.services.keys,
                    provider=Provider.GOOGLE_ANALYTICS,
                    display_name=result.display_name if result else measurement,
                    config=config,
                    secrets=secrets,
                    single=True,
                )
                if result is not None and not result.ok:
                    # GA's validation messages are shown on the connection: the tag still works.
                    connections.record_error(
                        row,
                        result.error or "Google Analytics refused the sample event.",
                        status=ConnectionStatus.ERROR,
                    )
                record(
                    s,
                    actor=await actor_of(s, ctx.caller),
                    action="integration.connected",
                    subject_type="Integration",
                    subject_id=row.id,
                    detail="google_analytics",
                )
        except DomainError as exc:
            return ConnectGoogleAnalyticsPayload(errors=user_errors(exc))
        return ConnectGoogleAnalyticsPayload(
            connection=Integration.from_model(row, public_url=ctx.settings.public_url),
            site_snippet=site_snippet(measurement),
        )
