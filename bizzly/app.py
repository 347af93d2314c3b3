"""The composition root: builds the ASGI app and wires adapters into the inner layers."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta

from starlette.applications import Starlette
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bizzly.crypto import KeyRing
from bizzly.db.engine import Database
from bizzly.logs import configure_logging
from bizzly.observability import Observability, operations_routes
from bizzly.settings import Settings, get_settings
from domain.connections.models import Provider
from graphql_api.context import AppServices
from graphql_api.graphiql import asset_routes as graphiql_asset_routes
from graphql_api.schema import build_schema
from graphql_api.view import GraphQLView
from integrations.analytics.checker import GoogleAnalyticsChecker
from integrations.hubspot.checker import HubSpotChecker
from integrations.hubspot.oauth import HubSpotOAuth
from integrations.hubspot.oauth_routes import hubspot_routes
from integrations.hubspot.webhook import HubSpotWebhooks
from integrations.whatsapp.checker import WhatsAppChecker
from integrations.whatsapp.webhook import WhatsAppWebhooks
from tenants.tokens import AccessTokens


class BodyLimit:
    """Refuses request bodies over the limit with 413 before anything reads them."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, per_prefix: tuple[tuple[str, int], ...] = ()) -> None:
        self.app = app
        self.max_bytes = max_bytes
        # Routes that take larger bodies (Meta's webhooks: up to about 3 MB), by path prefix.
        self.per_prefix = per_prefix

    def _limit(self, path: str) -> int:
        return next((n for prefix, n in self.per_prefix if path.startswith(prefix)), self.max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = self._limit(str(scope.get("path", "")))
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_bytes:
            await _too_large(send)
            return
        received = 0
        too_large = False

        async def limited() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    too_large = True
                    raise _BodyTooLarge
            return message

        try:
            await self.app(scope, limited, send)
        except _BodyTooLarge:
            await _too_large(send)


class _BodyTooLarge(Exception):
    pass


async def _too_large(send: Send) -> None:
    body = b'{"errors":[{"message":"Request body too large.","extensions":{"code":"PAYLOAD_TOO_LARGE"}}]}'
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def build_services(settings: Settings) -> AppServices:
    keys = KeyRing(settings.key_ring())
    db = Database(settings)
    return AppServices(
        settings=settings,
        db=db,
        keys=keys,
        tokens=AccessTokens(keys, ttl=timedelta(seconds=settings.access_token_ttl_seconds)),
        connection_checkers={
            Provider.WHATSAPP: WhatsAppChecker(settings),
            Provider.HUBSPOT: HubSpotChecker(settings),
            Provider.GOOGLE_ANALYTICS: GoogleAnalyticsChecker(settings),
        },
        oauth_starters={Provider.HUBSPOT: HubSpotOAuth(settings, db, keys)},
    )


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or get_settings()
    settings.check_production()
    configure_logging(settings.log_level)
    services = build_services(settings)
    graphql = GraphQLView(
        build_schema(settings),
        services,
        graphql_ide="graphiql" if settings.graphiql_enabled else None,
        allow_queries_via_get=True,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        from bizzly.wiring import build_mailer, import_handlers
        from workers.broker import is_embedded
        from workers.embedded import EmbeddedWorkers

        import_handlers()
        embedded = None
        if is_embedded(settings) and settings.embedded_workers:
            embedded = EmbeddedWorkers(
                settings, db=services.db, keys=services.keys, mailer_factory=build_mailer
            )
            await embedded.start()
        app.state.embedded_workers = embedded
        try:
            yield
        finally:
            if embedded is not None:
                await embedded.stop()
            await services.db.dispose()

    app = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            *graphiql_asset_routes(enabled=settings.graphiql_enabled),
            *operations_routes(settings, services.db),
            *WhatsAppWebhooks(settings, services.db, services.keys).routes(),
            *hubspot_routes(settings, services.db, services.keys),
            *HubSpotWebhooks(settings, services.db).routes(),
        ],
        lifespan=lifespan,
    )
    app.state.services = services
    app.add_middleware(
        BodyLimit,
        max_bytes=settings.max_body_bytes,
        per_prefix=(("/webhooks/whatsapp", settings.whatsapp_max_body_bytes),),
    )
    # Outermost (added last): requests refused by BodyLimit are logged and counted too.
    app.add_middleware(Observability, routes=app.routes)
    return app
