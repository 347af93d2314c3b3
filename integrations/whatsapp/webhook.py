"""Meta's webhook endpoints: the GET handshake and the signed POST of events.

``/webhooks/whatsapp`` belongs to the platform's Meta app (BIZZLY_WHATSAPP_APP_SECRET / _VERIFY_TOKEN);
``/webhooks/whatsapp/{connection_id}`` to a business that brought its own app: its secret and verify token,
and only its own phone number ids. The signature is checked over the raw bytes before anything else; each
message and status is stored once in the tenant's inbox and the request is answered before any processing.
Unknown numbers and unsupported shapes are answered 200 (so Meta does not retry them for days) and logged.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass

import orjson
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from bizzly.crypto import KeyRing
from bizzly.db.engine import Database
from bizzly.errors import DomainError
from bizzly.metrics import INBOX_EVENTS
from bizzly.outbox import record_inbox_batch
from bizzly.settings import Settings
from integrations.connections import (
    Provider,
    connection_routes,
    get_connection,
    read_secrets,
    resolve_route,
)
from integrations.whatsapp.events import Event, parse_batch

log = logging.getLogger("bizzly.whatsapp.webhook")

SOURCE = "whatsapp"
# A number's route is cached briefly: every delivery would otherwise cost a maintenance-session query.
ROUTE_TTL_SECONDS = 10.0


def signature_ok(secret: str, raw: bytes, header: str | None) -> bool:
    """``X-Hub-Signature-256: sha256=<hex>``: HMAC-SHA256 of the raw body with the app secret."""
    if not secret or not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    given = header[len("sha256=") :].strip().lower()
    # compare_digest raises on non-ASCII text (a 500 for a forged header); a hex digest is ASCII anyway.
    return given.isascii() and hmac.compare_digest(expected, given)


def _token_ok(expected: str, given: str | None) -> bool:
    return bool(expected) and given is not None and hmac.compare_digest(expected.encode(), given.encode())


@dataclass(frozen=True)
class _Target:
    tenant_id: uuid.UUID
    connection_id: uuid.UUID


class WhatsAppWebhooks:
    def __init__(self, settings: Settings, db: Database, keys: KeyRing) -> None:
        self.settings = settings
        self.db = db
        self.keys = keys
        self._routes: dict[str, tuple[float, _Target]] = {}

    def routes(self) -> list[Route]:
        return [
            Route("/webhooks/whatsapp", self.handshake, methods=["GET"]),
            Route("/webhooks/whatsapp", self.receive, methods=["POST"]),
            Route("/webhooks/whatsapp/{connection_id}", self.handshake_own, methods=["GET"]),
            Route("/webhooks/whatsapp/{connection_id}", self.receive_own, methods=["POST"]),
        ]

    # -- handshake ------------------------------------------------------------------------------------

    @staticmethod
    def _challenge(request: Request, verify_token: str) -> Response:
        params = request.query_params
        if params.get("hub.mode") == "subscribe" and _token_ok(verify_token, params.get("hub.verify_token")):
            return PlainTextResponse(params.get("hub.challenge", ""))
        return PlainTextResponse("Forbidden", status_code=403)

    async def handshake(self, request: Request) -> Response:
        return self._challenge(request, self.settings.whatsapp_verify_token)

    async def handshake_own(self, request: Request) -> Response:
        own = await self._own(request)
        if own is None:
            return PlainTextResponse("Forbidden", status_code=403)
        _, secrets = own
        return self._challenge(request, secrets.get("verify_token", ""))

    # -- events ---------------------------------------------------------------------------------------

    async def receive(self, request: Request) -> Response:
        raw = await request.body()
        if not signature_ok(
            self.settings.whatsapp_app_secret, raw, request.headers.get("x-hub-signature-256")
        ):
            return PlainTextResponse("Invalid signature", status_code=401)
        return await self._ingest(raw, only=None)

    async def receive_own(self, request: Request) -> Response:
        own = await self._own(request)
        if own is None:
            return PlainTextResponse("Invalid signature", status_code=401)
        target, secrets = own
        raw = await request.body()
        if not signature_ok(secrets.get("app_secret", ""), raw, request.headers.get("x-hub-signature-256")):
            return PlainTextResponse("Invalid signature", status_code=401)
        return await self._ingest(raw, only=target)

    async def _own(self, request: Request) -> tuple[_Target, dict[str, str]] | None:
        """The connection behind ``/webhooks/whatsapp/{connection_id}`` and its own secrets, if it is live
        and brought its own app."""
        try:
            connection_id = uuid.UUID(str(request.path_params["connection_id"]))
        except ValueError:
            return None
        routes = [
            r
            for r in await connection_routes(self.db, connection_id=connection_id)
            if r.provider == Provider.WHATSAPP
        ]
        if not routes:
            return None
        tenant_id = routes[0].tenant_id
        async with self.db.tenant_session(tenant_id, write=False) as session:
            try:
                connection = await get_connection(session, connection_id=connection_id)
            except DomainError:
                return None
            secrets = read_secrets(self.keys, connection)
        if not secrets.get("app_secret"):
            return None
        return _Target(tenant_id, connection_id), secrets

    async def _route(self, phone_number_id: str) -> _Target | None:
        now = time.monotonic()
        cached = self._routes.get(phone_number_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        found = await resolve_route(self.db, provider=Provider.WHATSAPP, external_id=phone_number_id)
        if found is None:
            self._routes.pop(phone_number_id, None)
            return None
        target = _Target(found.tenant_id, found.connection_id)
        self._routes[phone_number_id] = (now + ROUTE_TTL_SECONDS, target)
        return target

    async def _ingest(self, raw: bytes, *, only: _Target | None) -> Response:
        data = _parse(raw)
        if data is _MALFORMED:
            INBOX_EVENTS.labels(SOURCE, "malformed").inc()
            return PlainTextResponse("Malformed JSON", status_code=400)
        batch = parse_batch(data)
        if batch.skipped:
            INBOX_EVENTS.labels(SOURCE, "ignored").inc(batch.skipped)
            log.info("whatsapp webhook: %d unsupported or malformed item(s) ignored", batch.skipped)
        per_tenant: dict[_Target, list[Event]] = defaultdict(list)
        for event in batch.events:
            target = await self._route(event.phone_number_id)
            if target is None or (only is not None and target != only):
                INBOX_EVENTS.labels(SOURCE, "unknown_number").inc()
                log.info("whatsapp webhook: event for a number of no connection here ignored")
                continue
            per_tenant[target].append(event)
        for target, events in per_tenant.items():
            rows = [
                (event.external_id, _dump({**event.data, "connection_id": str(target.connection_id)}))
                for event in events
            ]
            async with self.db.tenant_session(target.tenant_id, write=True) as session, session.begin():
                stored = len(await record_inbox_batch(session, source=SOURCE, events=rows))
            INBOX_EVENTS.labels(SOURCE, "stored").inc(stored)
            if len(events) > stored:
                INBOX_EVENTS.labels(SOURCE, "duplicate").inc(len(events) - stored)
        return PlainTextResponse("OK")


_MALFORMED = object()


def _parse(raw: bytes) -> object:
    """orjson (several times faster on the hot path); what it refuses but the JSON standard library reads
    (a lone surrogate escape such as ``"\\ud800"``, which Meta may relay) goes to ``json``."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return _MALFORMED


def _dump(data: dict[str, object]) -> str:
    return json.dumps(data, separators=(",", ":"), sort_keys=True)
