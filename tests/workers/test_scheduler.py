"""The scheduler: one tick fires once however many schedulers run; the lease; the outbox sweep."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from bizzly import clock
from bizzly.crypto import KeyRing
from bizzly.db.engine import Database, MaintenanceUse
from bizzly.outbox import OutboxRow, OutboxStatus, add_outbox
from bizzly.settings import Settings
from bizzly.tasks import Job, JobContext
from tests.conftest import make_settings
from tests.workers.conftest import add_row, get_row, make_tenant
from workers.models import SchedulerTick
from workers.relay import Dispatch
from workers.scheduler import SWEEP_JOB, Scheduler, tick_of


@pytest.fixture
async def databases(settings: Settings) -> AsyncIterator[tuple[Database, Database]]:
    """Two schedulers, two engines: as two processes would be."""
    one, two = Database(settings), Database(settings)
    yield one, two
    await one.dispose()
    await two.dispose()


def scheduler(db: Database, settings: Settings, jobs: list[Job], name: str) -> Scheduler:
    keys = KeyRing(settings.key_ring())
    return Scheduler(db=db, settings=settings, keys=keys, send=None, holder=name, jobs=jobs)


async def tick_rows(db: Database, job: str) -> list[SchedulerTick]:
    async with db.maintenance_session(MaintenanceUse.TESTS, write=False) as s:
        return list((await s.scalars(select(SchedulerTick).where(SchedulerTick.job == job))).all())


async def test_two_schedulers_firing_the_same_tick_fire_it_once(
    settings: Settings, databases: tuple[Database, Database]
) -> None:
    fired: list[datetime] = []

    async def job(ctx: JobContext) -> None:
        fired.append(ctx.tick)

    jobs = [Job("test.hourly", timedelta(hours=1), job)]
    a = scheduler(databases[0], settings, jobs, "a")
    b = scheduler(databases[1], settings, jobs, "b")
    results = await asyncio.gather(a.fire_due(), b.fire_due())
    assert sorted(results) == [[], ["test.hourly"]]
    assert fired == [tick_of(clock.now(), timedelta(hours=1))]
    [row] = await tick_rows(databases[0], "test.hourly")
    assert row.holder == ("a" if results[0] else "b")
    # The same hour again: nothing; the next hour: once more.
    assert await a.fire_due() == []
    clock.advance(timedelta(hours=1))
    assert await b.fire_due() == ["test.hourly"]
    assert len(fired) == 2


async def test_two_running_schedulers_fire_each_tick_once_across_a_handover(
    database_settings: dict[str, str],
) -> None:
    settings = make_settings(database_settings, scheduler_tick_seconds=0.1)
    calls: list[datetime] = []
    some, enough = asyncio.Event(), asyncio.Event()

    async def job(ctx: JobContext) -> None:
        calls.append(ctx.tick)
        if len(calls) >= 3:
            some.set()
        if len(calls) >= 6:
            enough.set()

    jobs = [Job("test.fast", timedelta(seconds=0.25), job)]
    dbs = [Database(settings), Database(settings)]
    first, second = (scheduler(dbs[i], settings, jobs, name) for i, name in enumerate("ab"))
    stops = [asyncio.Event(), asyncio.Event()]
    tasks = [asyncio.create_task(s.run(stop)) for s, stop in zip((first, second), stops, strict=True)]
    try:
        await asyncio.wait_for(some.wait(), timeout=20)
        # The leader stops (and gives its lease up); the other one carries on.
        leader = 0 if (await tick_rows(dbs[0], "test.fast"))[0].holder == "a" else 1
        stops[leader].set()
        await tasks[leader]
        await asyncio.wait_for(enough.wait(), timeout=20)
    finally:
        for stop in stops:
            stop.set()
        await asyncio.gather(*tasks)
        rows = await tick_rows(dbs[0], "test.fast")
        for db in dbs:
            await db.dispose()
    assert Counter(calls).most_common(1)[0][1] == 1, "a tick fired twice"
    assert sorted(calls) == sorted(r.tick for r in rows)
    assert {r.holder for r in rows} == {"a", "b"}


async def test_only_the_lease_holder_schedules_until_it_lets_go(
    settings: Settings, databases: tuple[Database, Database]
) -> None:
    a = scheduler(databases[0], settings, [], "a")
    b = scheduler(databases[1], settings, [], "b")
    assert await a.acquire_lease()
    assert not await b.acquire_lease()
    assert await a.acquire_lease()  # renewal
    clock.advance(a.lease_ttl + timedelta(seconds=1))  # a stopped renewing: it expired
    assert await b.acquire_lease()
    assert not await a.acquire_lease()
    await b.release_lease()
    clock.advance(timedelta(microseconds=1))
    assert await a.acquire_lease()


async def test_a_failing_job_keeps_its_tick_for_the_next_pass(
    settings: Settings, databases: tuple[Database, Database]
) -> None:
    tenant = await make_tenant(databases[0], "job-shop")
    runs: list[int] = []

    async def flaky(ctx: JobContext) -> None:
        runs.append(1)
        await add_outbox(ctx.session, topic="test.reminder", payload={}, tenant_id=tenant)
        if len(runs) == 1:
            raise RuntimeError("database hiccup")

    a = scheduler(databases[0], settings, [Job("test.flaky", timedelta(hours=1), flaky)], "a")
    assert await a.fire_due() == []
    assert await tick_rows(databases[0], "test.flaky") == []
    assert await a.fire_due() == ["test.flaky"]
    async with databases[0].maintenance_session(MaintenanceUse.TESTS, write=False) as s:
        # The failed pass's outbox row was rolled back with its tick; the second pass's one is there.
        assert await s.scalar(select(func.count()).select_from(OutboxRow)) == 1


async def test_the_sweep_resends_rows_whose_worker_was_lost(settings: Settings, db: Database) -> None:
    tenant = await make_tenant(db, "sweep-shop")
    row_id = await add_row(db, tenant, "test.x", {})
    sent: list[Dispatch] = []
    keys = KeyRing(settings.key_ring())
    s = Scheduler(db=db, settings=settings, keys=keys, send=sent.append, holder="a")
    assert SWEEP_JOB in await s.fire_due()
    assert sent == [Dispatch(tenant, row_id)]
    # Lost by its worker: the next sweep after the lease sends it again.
    clock.advance(timedelta(seconds=settings.outbox_lease_seconds + 1))
    assert SWEEP_JOB in await s.fire_due()
    assert sent == [Dispatch(tenant, row_id)] * 2
    row = await get_row(db, row_id)
    assert (row.status, row.attempts) == (OutboxStatus.DISPATCHED, 2)


async def test_housekeeping_prunes_old_done_rows_and_ticks(settings: Settings, db: Database) -> None:
    tenant = await make_tenant(db, "prune-shop")
    keys = KeyRing(settings.key_ring())
    sched = Scheduler(db=db, settings=settings, keys=keys, send=None, holder="a")
    old = await add_row(db, tenant, "test.x", {})
    async with db.tenant_session(tenant) as s, s.begin():
        row = await s.get(OutboxRow, (tenant, old))
        assert row is not None
        row.status, row.done_at = OutboxStatus.DONE, clock.now()
    assert "scheduler.prune" in await sched.fire_due()
    clock.advance(timedelta(days=8))
    fresh = await add_row(db, tenant, "test.x", {})
    assert {"outbox.prune", "scheduler.prune"} <= set(await sched.fire_due())
    async with db.maintenance_session(MaintenanceUse.TESTS, write=False) as session:
        ids = set((await session.scalars(select(OutboxRow.id))).all())
        ticks = list((await session.scalars(select(SchedulerTick.tick))).all())
    assert ids == {fresh}
    assert ticks
    assert min(ticks) > clock.now() - timedelta(days=1)
