"""Helpers for the HubSpot -> Bizzly sync tests: a fast budget, queueing a run, reading what was imported."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
from sqlalchemy import func, select, update

from bizzly import clock
from bizzly.db.engine import MaintenanceUse
from bizzly.outbox import OutboxRow, OutboxStatus
from bizzly.settings import Settings
from domain.connections.models import Provider
from domain.connections.service import live_connection
from domain.crm_sync.models import HubSpotSyncRun
from domain.crm_sync.service import queue_run
from domain.identity.models import CrmContact
from tests.fakes.hubspot import HubSpotFake
from tests.integrations.hubspot.conftest import hubspot_settings
from tests.support.accounts import SignedUp, _services
from tests.support.customers import row_id, tenant_session
from tests.support.graphql import GraphQLClient
from tests.support.outbox import drain_outbox

PROGRESS = """
query { connections { provider syncProgress { state kind trigger read created updated linked archived
  merged skipped failed lastError startedAt finishedAt } } }
"""


async def progress(gql: GraphQLClient, token: str) -> dict[str, Any] | None:
    """The latest run of the tenant's HubSpot connection as ``connections { syncProgress }`` shows it."""
    result = await gql(PROGRESS, token=token)
    assert result.errors == [], result.errors
    hubspot = [c for c in result.data["connections"] if c["provider"] == "HUBSPOT"]
    assert len(hubspot) == 1
    found: dict[str, Any] | None = hubspot[0]["syncProgress"]
    return found


def fast_settings(database_settings: dict[str, str], fake: HubSpotFake, **overrides: object) -> Settings:
    """No rate limit in the way (the budget has its own tests) and windows that end at "now"."""
    fake.rate_limit = 1_000_000
    fake.search_per_second = 1_000_000
    values: dict[str, object] = {
        "hubspot_rate_limit": 1_000_000,
        "hubspot_search_rate_per_second": 1_000_000,
        "hubspot_sync_lag_seconds": 0,
        **overrides,
    }
    return hubspot_settings(database_settings, fake, **values)


async def start_run(gql: GraphQLClient, owner: SignedUp, trigger: str = "manual") -> HubSpotSyncRun:
    async with tenant_session(gql, owner) as s:
        connection = await live_connection(s, provider=Provider.HUBSPOT)
        assert connection is not None
        return await queue_run(s, connection=connection, trigger=trigger, lag_seconds=0)


async def run_all(settings: Settings) -> None:
    await drain_outbox(settings, max_rounds=100_000)


async def get_run(gql: GraphQLClient, owner: SignedUp, run_id: object) -> HubSpotSyncRun:
    async with tenant_session(gql, owner) as s:
        run = (await s.execute(select(HubSpotSyncRun).where(HubSpotSyncRun.id == run_id))).scalar_one()
        s.expunge(run)
        return run


async def contacts(gql: GraphQLClient, owner: SignedUp) -> dict[str, CrmContact]:
    async with tenant_session(gql, owner) as s:
        rows = list((await s.execute(select(CrmContact))).scalars())
        for r in rows:
            s.expunge(r)
    return {r.external_id: r for r in rows}


async def contact_count(gql: GraphQLClient, owner: SignedUp) -> tuple[int, int]:
    """(rows, distinct CRM ids) of the owner's tenant."""
    async with tenant_session(gql, owner) as s:
        stmt = select(func.count(), func.count(func.distinct(CrmContact.external_id))).where(
            CrmContact.tenant_id == row_id(owner.tenant_id)
        )
        rows, distinct = (await s.execute(stmt)).one()
    return int(rows), int(distinct)


async def make_pending_rows_due(gql: GraphQLClient) -> None:
    """A retried row waits out its backoff; the test does not (and leaves the clock alone: windows use it)."""
    services = _services(gql)
    async with services.db.maintenance_session(MaintenanceUse.TESTS) as s, s.begin():
        await s.execute(
            update(OutboxRow)
            .where(OutboxRow.status == OutboxStatus.PENDING.value)
            .values(available_at=clock.now())
        )


WEBHOOK_URL = "http://testserver/webhooks/hubspot"  # BIZZLY_PUBLIC_URL of the tests + the route


def event(portal: int, kind: str, object_id: str, n: int, **extra: object) -> dict[str, object]:
    """One event as HubSpot sends it (a batch is a JSON array of these)."""
    return {
        "eventId": n,
        "subscriptionId": 77,
        "portalId": portal,
        "appId": 1,
        "occurredAt": int(time.time() * 1000) + n,
        "subscriptionType": kind,
        "attemptNumber": 0,
        "objectId": int(object_id),
        "changeSource": "CRM_UI",
        **extra,
    }


async def post_events(
    http: httpx.AsyncClient,
    fake: HubSpotFake,
    events: list[dict[str, object]],
    *,
    timestamp_ms: int | None = None,
    body: bytes | None = None,
    signature: str | None = None,
) -> httpx.Response:
    """POST a batch to the app signed as HubSpot signs it (v3 over the public URL)."""
    raw = body if body is not None else json.dumps(events).encode()
    ts = timestamp_ms if timestamp_ms is not None else int(clock.now().timestamp() * 1000)
    headers = {
        "content-type": "application/json",
        "X-HubSpot-Signature-v3": signature or fake.sign_v3("POST", WEBHOOK_URL, raw, ts),
        "X-HubSpot-Request-Timestamp": str(ts),
    }
    return await http.post("/webhooks/hubspot", content=raw, headers=headers)
