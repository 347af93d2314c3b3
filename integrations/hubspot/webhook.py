"""``POST /webhooks/hubspot``: HubSpot's signed (v3) batches of contact events.

The signature and its 5-minute window are checked over the raw bytes and the public URL
(``BIZZLY_PUBLIC_URL``: HubSpot signs the URL it called, not the one a proxy forwards to) before anything
else. Each event is routed to its tenant by ``portalId`` and stored once in that tenant's inbox (keyed by
subscription, event id, time and object: HubSpot's ``eventId`` alone is not unique), then the request is
answered; the events are processed by workers (``integrations.hubspot.events``). Only ids are stored,
never property values: the worker reads the contact from HubSpot.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
import uuid
from collections import defaultdict
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from bizzly import clock
from bizzly.db.engine import Database
from bizzly.metrics import INBOX_EVENTS
from bizzly.outbox import record_inbox
from bizzly.settings import Settings
from domain.connections.models import Provider
from domain.connections.service import resolve_route

log = logging.getLogger("bizzly.hubspot.webhook")

SOURCE = "hubspot"
PATH = "/webhooks/hubspot"
MAX_AGE_MS = 5 * 60 * 1000
ROUTE_TTL_SECONDS = 10.0
EVENT_TYPES = {
    "contact.creation",
    "contact.propertyChange",
    "contact.restore",
    "contact.deletion",
    "contact.privacyDeletion",
    "contact.merge",
}
# Escapes HubSpot decodes in the URI before signing (its validation docs).
_DECODE = {
    "%3A": ":", "%2F": "/", "%3F": "?", "%40": "@", "%21": "!", "%24": "$",
    "%27": "'", "%28": "(", "%29": ")", "%2A": "*", "%2C": ",", "%3B": ";",
}  # fmt: skip


def signed_uri(public_url: str, request: Request) -> str:
    uri = public_url.rstrip("/") + request.url.path
    if request.url.query:
        uri += "?" + request.url.query
    for escape, char in _DECODE.items():
        uri = uri.replace(escape, char).replace(escape.lower(), char)
    return uri


def signature_ok(secret: str, method: str, uri: str, raw: bytes, timestamp: str, given: str | None) -> bool:
    if not secret or not given:
        return False
    message = method.encode() + uri.encode() + raw + timestamp.encode()
    expected = base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()
    return given.isascii() and hmac.compare_digest(expected, given.strip())


def _event_key(event: dict[str, Any]) -> str:
    parts = (
        event.get("subscriptionId"),
        event.get("eventId"),
        event.get("occurredAt"),
        event.get("objectId"),
    )
    key = ":".join(str(p) for p in parts)
    # Stored as text: a NUL or a lone surrogate from a hostile body would fail the insert (a 500).
    return key.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")[:255]


def digits(value: Any) -> bool:
    """ASCII digits only: ``str.isdigit`` also takes "²" and "①", which ``int()`` refuses (a 500); and a
    bounded length (``int()`` refuses more than 4,300 digits; HubSpot's ids and times have under 20)."""
    text = str(value)
    return text.isascii() and text.isdigit() and len(text) <= 32


def _ids(values: Any) -> list[str]:
    return (
        [str(int(v)) for v in values if isinstance(v, int | str) and digits(v)]
        if isinstance(values, list)
        else []
    )


def _stored(event: dict[str, Any]) -> dict[str, Any] | None:
    """The ids of a supported event, or None for one we do not handle (or that is malformed)."""
    kind = event.get("subscriptionType")
    object_id = event.get("objectId")
    if not isinstance(kind, str) or kind not in EVENT_TYPES or not digits(object_id):
        return None
    data: dict[str, Any] = {
        "type": kind,
        "object_id": str(int(str(object_id))),
        "occurred_at": event.get("occurredAt"),
    }
    if kind == "contact.merge":
        primary = event.get("primaryObjectId") or event.get("newObjectId") or object_id
        if not digits(primary):
            return None
        data["primary_id"] = str(int(str(primary)))
        data["merged_ids"] = _ids(event.get("mergedObjectIds"))
    return data


class HubSpotWebhooks:
    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self._routes: dict[str, tuple[float, uuid.UUID | None]] = {}

    def routes(self) -> list[Route]:
        return [Route(PATH, self.receive, methods=["POST"])]

    async def _tenant(self, portal_id: str) -> uuid.UUID | None:
        now = time.monotonic()
        cached = self._routes.get(portal_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        found = await resolve_route(self.db, provider=Provider.HUBSPOT, external_id=portal_id)
        tenant = found.tenant_id if found is not None else None
        self._routes[portal_id] = (now + ROUTE_TTL_SECONDS, tenant)
        return tenant

    async def receive(self, request: Request) -> Response:
        raw = await request.body()
        timestamp = request.headers.get("x-hubspot-request-timestamp", "")
        if not digits(timestamp) or abs(int(clock.now().timestamp() * 1000) - int(timestamp)) > MAX_AGE_MS:
            return PlainTextResponse("Stale or missing timestamp", status_code=401)
        uri = signed_uri(self.settings.public_url, request)
        given = request.headers.get("x-hubspot-signature-v3")
        if not signature_ok(self.settings.hubspot_client_secret, request.method, uri, raw, timestamp, given):
            return PlainTextResponse("Invalid signature", status_code=401)
        try:
            events = json.loads(raw)
        except (ValueError, RecursionError):
            INBOX_EVENTS.labels(SOURCE, "malformed").inc()
            return PlainTextResponse("Malformed JSON", status_code=400)
        if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
            INBOX_EVENTS.labels(SOURCE, "malformed").inc()
            return PlainTextResponse("Expected a JSON array of events", status_code=400)
        per_tenant: dict[uuid.UUID, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
        for event in events:
            data = _stored(event)
            portal = str(event.get("portalId", ""))
            tenant = await self._tenant(portal) if data is not None and digits(portal) else None
            if data is None or tenant is None:
                INBOX_EVENTS.labels(SOURCE, "ignored").inc()
                continue
            per_tenant[tenant].append((_event_key(event), {**data, "portal_id": portal}))
        for tenant_id, items in per_tenant.items():
            stored = 0
            async with self.db.tenant_session(tenant_id, write=True) as session, session.begin():
                for key, data in items:
                    body = json.dumps(data, separators=(",", ":"), sort_keys=True)
                    stored += (
                        await record_inbox(session, source=SOURCE, external_id=key, payload=body) is not None
                    )
            INBOX_EVENTS.labels(SOURCE, "stored").inc(stored)
            if len(items) > stored:
                INBOX_EVENTS.labels(SOURCE, "duplicate").inc(len(items) - stored)
        return PlainTextResponse("OK")
