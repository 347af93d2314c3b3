"""Google Analytics 4: the measurement id rule, the site snippet and the server-side events queued for the
Measurement Protocol (topic ``analytics.event``; sent by ``integrations.analytics.handlers``).

Events carry ids only (booking, customer, optional website client id): the handler turns the customer id
into a pseudonymous GA client id, so no personal data reaches Google."""

from __future__ import annotations

import re
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from bizzly.errors import Invalid
from bizzly.outbox import add_outbox
from domain.connections.models import Provider, ProviderConnection
from domain.connections.service import live_connection

TOPIC = "analytics.event"
# GA's own event names (recommended events) for what Bizzly reports.
EVENTS = frozenset({"booking_created", "booking_cancelled", "whatsapp_verified", "generate_lead"})

_MEASUREMENT_ID = re.compile(r"^G-[A-Z0-9]{4,12}$")


def measurement_id(value: str) -> str:
    """The normalised ``G-…`` id of a GA4 web stream; raises ``Invalid`` on ``measurementId``."""
    clean = (value or "").strip().upper()
    if not _MEASUREMENT_ID.match(clean):
        raise Invalid(
            "A Google Analytics 4 measurement id looks like G-XXXXXXXXXX (Admin > Data streams).",
            field="measurementId",
        )
    return clean


def site_snippet(measurement: str) -> str:
    """The gtag.js tag for the business's website ``<head>`` (``measurement`` is already validated, so it
    is safe to put in the markup)."""
    return (
        f'<script async src="https://www.googletagmanager.com/gtag/js?id={measurement}"></script>\n'
        "<script>\n"
        "  window.dataLayer = window.dataLayer || [];\n"
        "  function gtag(){dataLayer.push(arguments);}\n"
        "  gtag('js', new Date());\n"
        f"  gtag('config', '{measurement}');\n"
        "</script>\n"
    )


def sends_events(connection: ProviderConnection | None) -> bool:
    """Server-side events need a live connection with an API secret."""
    return connection is not None and bool(connection.secrets)


async def queue_event(
    session: AsyncSession,
    *,
    name: str,
    customer_id: uuid.UUID | None,
    client_id: str | None = None,
    booking_id: uuid.UUID | None = None,
) -> bool:
    """Queue one GA event when the tenant's Google Analytics connection can send it; returns whether it
    did. ``client_id`` is the website's GA client id when the visitor came from the site."""
    if name not in EVENTS:
        raise ValueError(f"unknown analytics event {name!r}")
    connection = await live_connection(session, provider=Provider.GOOGLE_ANALYTICS)
    if not sends_events(connection):
        return False
    payload: dict[str, str] = {"name": name}
    if customer_id is not None:
        payload["customer_id"] = str(customer_id)
    if client_id:
        payload["client_id"] = client_id
    if booking_id is not None:
        payload["booking_id"] = str(booking_id)
    await add_outbox(session, topic=TOPIC, payload=payload)
    return True
