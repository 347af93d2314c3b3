"""The scheduler: fires each periodic job (``bizzly.tasks.periodic``) once per tick, however many run.

Two guards, both in the database (maintenance session, ``MaintenanceUse.SCHEDULER``):
- a lease (``scheduler_leases``): only its holder fires jobs; another scheduler takes over when the holder
  stops renewing it (after ``LEASE_TICKS`` wake-ups);
- one row per (job, tick) in ``scheduler_ticks``, where tick = the start of the job's current interval
  (``floor(now / every)``), inserted with ``ON CONFLICT DO NOTHING`` in the transaction that runs the job:
  only the scheduler whose insert wins fires, and a job that fails rolls its tick back so it is retried.
  This is what keeps a tick single even while a lease changes hands.
Missed ticks (no scheduler running) are not replayed: a job fires for the current tick only.

Built in: ``outbox.sweep`` re-dispatches due rows and rows whose lease expired, so nothing waits for a relay
loop that is not running.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bizzly import clock
from bizzly.crypto import KeyRing
from bizzly.db.engine import Database, MaintenanceUse
from bizzly.metrics import SCHEDULER_TICKS
from bizzly.settings import Settings
from bizzly.tasks import Job, JobContext, periodic_jobs
from workers import jobs as _builtin_jobs  # noqa: F401 - registers the housekeeping jobs
from workers.models import SchedulerLease, SchedulerTick
from workers.relay import Send, claim_due, release, send_all

log = logging.getLogger("bizzly.workers")

LEASE_NAME = "scheduler"
LEASE_TICKS = 3
SWEEP_JOB = "outbox.sweep"
SWEEP_EVERY = timedelta(seconds=30)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def tick_of(now: datetime, every: timedelta) -> datetime:
    """The start of the interval ``now`` falls in: the same value in every process."""
    return EPOCH + ((now - EPOCH) // every) * every


def _insert(session: AsyncSession, model: Any) -> Any:
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    return (postgresql if dialect == "postgresql" else sqlite).insert(model)


def default_holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Scheduler:
    def __init__(
        self,
        *,
        db: Database,
        settings: Settings,
        keys: KeyRing,
        send: Send | None,
        holder: str | None = None,
        jobs: Sequence[Job] | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.keys = keys
        self.send = send
        self.holder = holder or default_holder()
        builtin = [Job(name=SWEEP_JOB, every=SWEEP_EVERY, run=self._sweep)] if send is not None else []
        self.jobs = list(jobs) if jobs is not None else [*builtin, *periodic_jobs()]

    @property
    def lease_ttl(self) -> timedelta:
        return timedelta(seconds=self.settings.scheduler_tick_seconds * LEASE_TICKS)

    async def acquire_lease(self) -> bool:
        """Take the lease if it is free or expired, or renew it if ours. True while we hold it."""
        now = clock.now()
        expires = now + self.lease_ttl
        async with self.db.maintenance_session(MaintenanceUse.SCHEDULER) as session, session.begin():
            stmt = _insert(session, SchedulerLease).values(
                name=LEASE_NAME, holder=self.holder, expires_at=expires
            )
            stmt = stmt.on_conflict_do_update(
                index_elements=[SchedulerLease.name],
                set_={"holder": self.holder, "expires_at": expires},
                where=or_(SchedulerLease.expires_at < now, SchedulerLease.holder == self.holder),
            ).returning(SchedulerLease.holder)
            won = (await session.execute(stmt)).scalar_one_or_none()
        return won == self.holder

    async def release_lease(self) -> None:
        """Give the lease up at shutdown, so another scheduler need not wait for it to expire."""
        async with self.db.maintenance_session(MaintenanceUse.SCHEDULER) as session, session.begin():
            lease = await session.get(SchedulerLease, LEASE_NAME, with_for_update=True)
            if lease is not None and lease.holder == self.holder:
                lease.expires_at = clock.now()

    async def fire_due(self) -> list[str]:
        """Fire every job whose current tick has not fired yet; returns the names fired here."""
        fired: list[str] = []
        for job in self.jobs:
            try:
                if await self._fire(job):
                    fired.append(job.name)
            except Exception:  # one failing job must not stop the others; its tick is retried
                log.exception("periodic job %s failed", job.name)
        return fired

    async def _fire(self, job: Job) -> bool:
        now = clock.now()
        tick = tick_of(now, job.every)
        async with self.db.maintenance_session(MaintenanceUse.SCHEDULER) as session, session.begin():
            stmt = (
                _insert(session, SchedulerTick)
                .values(job=job.name, tick=tick, fired_at=now, holder=self.holder)
                .on_conflict_do_nothing()
                .returning(SchedulerTick.job)
            )
            if (await session.execute(stmt)).scalar_one_or_none() is None:
                return False
            ctx = JobContext(session=session, tick=tick, settings=self.settings, keys=self.keys, db=self.db)
            await job.run(ctx)
        SCHEDULER_TICKS.labels(job=job.name).inc()
        for callback in ctx._after_commit:
            await callback()
        return True

    async def _sweep(self, ctx: JobContext) -> None:
        assert self.send is not None
        send = self.send
        batch = await claim_due(ctx.session, self.settings)

        async def dispatch() -> None:
            await release(self.db, send_all(batch, send))

        ctx.after_commit(dispatch)

    def _next_wake(self) -> float:
        """Seconds until the next tick of any job, at most the scheduler tick (which renews the lease)."""
        now = clock.now()
        wait = self.settings.scheduler_tick_seconds
        for job in self.jobs:
            until = (tick_of(now, job.every) + job.every - now).total_seconds()
            wait = min(wait, until)
        return max(wait, 0.01)

    async def run(self, stop: asyncio.Event) -> None:
        """Hold the lease and fire jobs until ``stop`` is set."""
        leader = False
        try:
            while not stop.is_set():
                try:
                    now_leader = await self.acquire_lease()
                    if now_leader != leader:
                        log.info("scheduler %s %s the lease", self.holder, "holds" if now_leader else "lost")
                    leader = now_leader
                    if leader:
                        await self.fire_due()
                except Exception:  # a database hiccup must not end the loop
                    log.exception("scheduler pass failed")
                try:
                    await asyncio.wait_for(stop.wait(), timeout=self._next_wake())
                except TimeoutError:
                    pass
        finally:
            if leader:
                try:
                    await self.release_lease()
                except Exception:  # the lease expires by itself anyway
                    log.warning("could not release the scheduler lease", exc_info=True)
