"""Outbox handler ``analytics.event``: one queued event (or a ``events`` batch of them) to the tenant's
GA4 Measurement Protocol stream. Skipped when Google Analytics was disconnected or lost its API secret in
the meantime."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from bizzly.outbox import OutboxRow
from bizzly.tasks import PermanentFailure, TaskContext, outbox_handler
from domain.connections.analytics import EVENTS, TOPIC, sends_events
from domain.connections.models import Provider
from domain.connections.service import config_of, live_connection, read_secrets, record_success
from integrations.analytics.client import MAX_EVENTS, MeasurementProtocol
from integrations.analytics.events import client_id_of, ga_event


@outbox_handler(TOPIC)
async def send_event(ctx: TaskContext, row: OutboxRow, data: dict[str, Any]) -> None:
    items = data.get("events") if isinstance(data.get("events"), list) else [data]
    assert isinstance(items, list)
    if not items or len(items) > MAX_EVENTS:
        raise PermanentFailure(f"an analytics batch holds 1 to {MAX_EVENTS} events")
    if any(not isinstance(i, dict) or i.get("name") not in EVENTS for i in items):
        raise PermanentFailure("unknown analytics event")
    connection = await live_connection(ctx.session, provider=Provider.GOOGLE_ANALYTICS)
    if connection is None or not sends_events(connection):
        return
    measurement_id = str(config_of(connection).get("measurement_id", ""))
    api_secret = read_secrets(ctx.keys, connection).get("api_secret", "")
    by_client: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for item in items:
        by_client[client_id_of(ctx.keys, item)].append(ga_event(item))
    ga = ctx.shared("analytics.mp", lambda: MeasurementProtocol(ctx.settings))
    for client_id, events in by_client.items():
        await ga.collect(measurement_id, api_secret, client_id, events)
    record_success(connection)
