"""``syncHubSpotNow``: staff who manage integrations queue a run (never two at once), follow it in
``connections { syncProgress }``, and see its counts; without HubSpot connected it is refused."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bizzly import clock
from bizzly.crypto import KeyRing
from bizzly.settings import Settings
from bizzly.tasks import periodic_jobs
from domain.crm_sync.models import HubSpotSyncRun
from tests.fakes.hubspot import HubSpotFake
from tests.integrations.hubspot.support import connect
from tests.integrations.hubspot.sync_support import fast_settings, progress, run_all
from tests.support.accounts import SignedUp, _services, sign_up, staff_token
from tests.support.customers import count_rows, tenant_session
from tests.support.graphql import GraphQLClient
from tests.support.queries import count_queries
from workers.scheduler import Scheduler

PORTAL = 7171


@pytest.fixture
def settings(database_settings: dict[str, str], hubspot_fake: HubSpotFake) -> Settings:
    return fast_settings(database_settings, hubspot_fake)


@pytest.fixture
async def owner(gql: GraphQLClient) -> SignedUp:
    return await sign_up(gql, slug="now-studio", email="owner@now.example.com")


async def test_sync_now_queues_one_run_whose_progress_and_counts_show_in_connections(
    gql: GraphQLClient, owner: SignedUp, hubspot_fake: HubSpotFake, settings: Settings
) -> None:
    await connect(gql, owner, hubspot_fake, PORTAL)
    for i in range(3):
        hubspot_fake.add_contact(PORTAL, email=f"c{i}@example.com")
    assert await progress(gql, owner.access_token) is None  # no run yet

    first = await gql.op("SyncHubSpotNow", token=owner.access_token)
    again = await gql.op("SyncHubSpotNow", token=owner.access_token)
    assert first.data["syncHubSpotNow"] == {"ok": True, "errors": []}
    assert again.data["syncHubSpotNow"] == {"ok": True, "errors": []}
    assert await count_rows(gql, HubSpotSyncRun) == 1  # the second click returned the queued run
    queued = await progress(gql, owner.access_token)
    assert queued is not None
    assert (queued["state"], queued["kind"], queued["trigger"], queued["read"]) == (
        "queued",
        "full",
        "manual",
        0,
    )

    await run_all(settings)
    done = await progress(gql, owner.access_token)
    assert done is not None
    assert (done["state"], done["read"], done["created"], done["failed"]) == ("done", 3, 3, 0)
    assert done["finishedAt"] is not None

    await gql.op("SyncHubSpotNow", token=owner.access_token)
    nxt = await progress(gql, owner.access_token)
    assert nxt is not None
    assert (nxt["state"], nxt["kind"]) == ("queued", "incremental")


async def test_sync_now_is_refused_without_hubspot_or_the_permission(
    gql: GraphQLClient, owner: SignedUp, hubspot_fake: HubSpotFake
) -> None:
    refused = await gql.op("SyncHubSpotNow", token=owner.access_token)
    assert refused.data["syncHubSpotNow"]["ok"] is False
    # The mutation takes no input: the error names no field.
    assert [(e["field"], e["code"]) for e in refused.data["syncHubSpotNow"]["errors"]] == [
        (None, "UNAVAILABLE")
    ]

    await connect(gql, owner, hubspot_fake, PORTAL)
    staff = await staff_token(gql, owner, "STAFF")
    forbidden = await gql.op("SyncHubSpotNow", token=staff)
    assert forbidden.error_codes == ["FORBIDDEN"]
    assert await count_rows(gql, HubSpotSyncRun) == 0


async def test_progress_of_the_connections_list_costs_one_statement(
    gql: GraphQLClient, owner: SignedUp, hubspot_fake: HubSpotFake, app: Any
) -> None:
    await connect(gql, owner, hubspot_fake, PORTAL)
    await gql.op("SyncHubSpotNow", token=owner.access_token)
    with count_queries(app.state.services.db.app_engine) as log:
        assert await progress(gql, owner.access_token) is not None
    assert sum("hubspot_sync_runs" in s for s in log.statements) == 1


async def test_the_scheduler_queues_an_incremental_run_per_connected_portal_when_due(
    gql: GraphQLClient, owner: SignedUp, hubspot_fake: HubSpotFake, settings: Settings
) -> None:
    await connect(gql, owner, hubspot_fake, PORTAL)
    idle = await sign_up(gql, slug="idle-studio", email="owner@idle.example.com")  # no HubSpot
    hubspot_fake.add_contact(PORTAL, email="first@example.com")
    job = next(j for j in periodic_jobs() if j.name == "hubspot.sync")
    scheduler = Scheduler(
        db=_services(gql).db,
        settings=settings,
        keys=KeyRing(settings.key_ring()),
        send=None,
        holder="test",
        jobs=[job],
    )

    assert await scheduler.fire_due() == ["hubspot.sync"]
    await run_all(settings)
    first = await progress(gql, owner.access_token)
    assert first is not None
    assert (first["state"], first["kind"], first["trigger"], first["created"]) == (
        "done",
        "full",
        "schedule",
        1,
    )

    clock.advance(timedelta(seconds=settings.hubspot_sync_interval_seconds - 60))
    assert await scheduler.fire_due() == ["hubspot.sync"]
    await run_all(settings)
    assert await count_rows(gql, HubSpotSyncRun) == 1  # not due yet
    # (the owner's access token has expired by now: the runs are read from the database)

    clock.advance(timedelta(seconds=120))
    assert await scheduler.fire_due() == ["hubspot.sync"]
    await run_all(settings)
    async with tenant_session(gql, owner) as s:
        runs = list((await s.execute(select(HubSpotSyncRun).order_by(HubSpotSyncRun.created_at))).scalars())
        kinds = [(r.state, r.kind, r.trigger) for r in runs]
    assert kinds == [("done", "full", "schedule"), ("done", "incremental", "schedule")]
    assert idle.tenant_id != owner.tenant_id
