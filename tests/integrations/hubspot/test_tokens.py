"""Access tokens: refreshed once however many processes need them; a revoked app ends in needs_reauth."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bizzly.db.engine import MaintenanceUse
from bizzly.settings import Settings
from bizzly.tasks import TaskContext, outbox_handler, unregister
from domain.connections.models import ConnectionStatus, ProviderConnection
from integrations.hubspot.client import HubSpotPortals
from integrations.hubspot.errors import ConnectionUnavailable
from tests.fakes.hubspot import HubSpotFake
from tests.integrations.hubspot.support import connect, connections, outbox_rows, tid
from tests.support.accounts import _services, sign_up
from tests.support.graphql import GraphQLClient
from tests.support.outbox import drain_outbox

ROOT = Path(__file__).resolve().parents[3]


async def _expire_stored_token(gql: GraphQLClient) -> None:
    """Make the stored token due for refresh (as 25+ minutes after connecting)."""
    services = _services(gql)
    async with services.db.maintenance_session(MaintenanceUse.TESTS) as s, s.begin():
        for row in (await s.execute(select(ProviderConnection))).scalars():
            config = json.loads(row.config)
            config["expires_at"] = time.time() - 1
            row.config = json.dumps(config)


def _env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    for name in (
        "env",
        "secret_keys",
        "database_url",
        "database_owner_url",
        "maintenance_database_url",
        "data_dir",
        "hubspot_client_id",
        "hubspot_client_secret",
        "hubspot_api_url",
        "public_url",
    ):
        env[f"BIZZLY_{name.upper()}"] = str(getattr(settings, name))
    env["PYTHONPATH"] = str(ROOT)
    return env


async def test_two_worker_processes_refresh_an_expiring_token_once(
    gql: GraphQLClient, hubspot_fake: HubSpotFake, settings: Settings
) -> None:
    owner = await sign_up(gql, slug="acme")
    await connect(gql, owner, hubspot_fake, 4242)
    await _expire_stored_token(gql)
    hubspot_fake.refresh_latency = 0.5  # both processes are waiting on the refresh at once
    start_at = time.time() + 4.0
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.integrations.hubspot.token_main",
            str(tid(owner)),
            str(start_at),
            env=_env(settings),
            cwd=str(ROOT),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(2)
    ]
    outputs = [await asyncio.wait_for(p.communicate(), timeout=60) for p in procs]
    for proc, (_out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err.decode()[-2000:]
    tokens = {out.decode().strip() for out, _ in outputs}
    assert time.time() >= start_at  # they did ask together
    assert hubspot_fake.refreshes == 1
    assert len(tokens) == 1
    [row] = await connections(gql)
    stored = _services(gql).keys.decrypt(row.secrets)
    assert tokens.pop() in stored


async def test_a_revoked_refresh_token_ends_in_needs_reauth_and_one_alert(
    gql: GraphQLClient, hubspot_fake: HubSpotFake, settings: Settings
) -> None:
    owner = await sign_up(gql, slug="acme")
    await connect(gql, owner, hubspot_fake, 4242)
    hubspot_fake.revoke(4242)  # the app is uninstalled in HubSpot
    await _expire_stored_token(gql)
    calls: list[str] = []

    @outbox_handler("hubspot.test_read")
    async def read_contacts(ctx: TaskContext, row: Any, data: dict[str, Any]) -> None:
        portals = ctx.shared("hubspot.portals", lambda: HubSpotPortals(ctx.settings, ctx.db, ctx.keys))
        try:
            portal = await portals.for_tenant(ctx.tenant_id)
            await portal.call(lambda hs: hs.crm.contacts.basic_api.get_page(limit=10))
        except ConnectionUnavailable:
            calls.append("stopped")
            return
        calls.append("called")

    try:
        from bizzly.outbox import add_outbox

        async with _services(gql).db.tenant_session(tid(owner)) as s, s.begin():
            for _ in range(5):
                await add_outbox(s, topic="hubspot.test_read", payload={})
        statuses = await drain_outbox(settings)
    finally:
        unregister(topic="hubspot.test_read")
    [row] = await connections(gql)
    assert row.status == ConnectionStatus.NEEDS_REAUTH
    assert "refresh token" in (row.last_error or "")
    alerts = await outbox_rows(gql, "notifications.owner_alert")
    assert len(alerts) == 1
    assert json.loads(alerts[0].payload) == {
        "kind": "integration_error",
        "provider": "HUBSPOT",
        "message": "HubSpot no longer accepts Bizzly's access. Reconnect HubSpot in Settings > Integrations.",
    }
    # No retry storm: one refresh attempt, every job stopped (done, not retried), no CRM call made.
    refreshes = [r for r in hubspot_fake.token_requests if r["grant_type"] == "refresh_token"]
    assert len(refreshes) == 1
    assert calls == ["stopped"] * 5
    assert set(statuses.values()) == {"done"}
    assert not [r for r in hubspot_fake.requests if r[0] != "POST"]


async def test_an_access_token_refused_twice_needs_reauth(
    gql: GraphQLClient, hubspot_fake: HubSpotFake, settings: Settings
) -> None:
    owner = await sign_up(gql, slug="acme")
    await connect(gql, owner, hubspot_fake, 4242)
    services = _services(gql)
    portals = HubSpotPortals(settings, services.db, services.keys)
    portal = await portals.for_tenant(tid(owner))
    # HubSpot stops accepting every access token it issues (but still refreshes).
    hubspot_fake.expire_access_tokens()
    original_issue = hubspot_fake._issue

    def issue_dead(portal_id: int, *, refresh_token: str | None) -> dict[str, Any]:
        body = original_issue(portal_id, refresh_token=refresh_token)
        hubspot_fake.tokens[body["access_token"]].expires = 0
        return body

    hubspot_fake._issue = issue_dead  # type: ignore[method-assign]
    try:
        await portal.call(lambda hs: hs.crm.contacts.basic_api.get_page(limit=10))
    except ConnectionUnavailable:
        pass
    else:
        raise AssertionError("a refused token must stop the call")
    [row] = await connections(gql)
    assert row.status == ConnectionStatus.NEEDS_REAUTH
    assert len(await outbox_rows(gql, "notifications.owner_alert")) == 1
    assert hubspot_fake.refreshes == 1
