"""The embedded default (``memory://``): ``bizzly serve`` runs relay, scheduler and worker itself, and a
restart loses nothing -- a job pending (or still queued in memory) at shutdown runs after the restart."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Callable
from typing import Any

from asgi_lifespan import LifespanManager
from dramatiq import Worker

from bizzly import clock
from bizzly.app import create_app
from bizzly.crypto import KeyRing
from bizzly.db.engine import Database, MaintenanceUse
from bizzly.outbox import OutboxRow, OutboxStatus
from bizzly.settings import Settings
from bizzly.tasks import OutboxHandler, TaskContext
from domain.privacy.audit import record
from tests.conftest import make_settings
from tests.support.outbox import RecordingMailer
from tests.workers.conftest import add_row, count_effects, get_row, make_tenant, row_status_is, wait_until
from workers.embedded import EmbeddedWorkers
from workers.relay import claim_due
from workers.runtime import install

Register = Callable[[str, OutboxHandler], None]


def embedded_settings(database_settings: dict[str, str]) -> Settings:
    return make_settings(database_settings, embedded_workers=True, relay_interval_seconds=0.05)


async def test_a_job_pending_at_shutdown_runs_after_a_restart(
    database_settings: dict[str, str], register: Register
) -> None:
    settings = embedded_settings(database_settings)
    db = Database(settings)
    runs: list[uuid.UUID] = []

    async def fails_first(ctx: TaskContext, row: OutboxRow, data: dict[str, Any]) -> None:
        runs.append(row.id)
        if len(runs) == 1:
            raise ConnectionError("vendor down")
        record(ctx.session, actor="system", action="test.embedded", subject_type="Outbox", subject_id=row.id)

    register("test.embedded", fails_first)
    try:
        tenant = await make_tenant(db, "embedded-shop")
        row_id = await add_row(db, tenant, "test.embedded", {})

        async with LifespanManager(create_app(settings)):

            async def failed_once() -> bool:
                row = await get_row(db, row_id)
                return row.status == OutboxStatus.PENDING and row.attempts == 1

            await wait_until(failed_once, "the first run to fail")

        # Shut down with the job pending (its retry is due later); nothing ran it meanwhile.
        row = await get_row(db, row_id)
        assert (row.status, row.attempts, row.last_error) == (
            OutboxStatus.PENDING,
            1,
            "ConnectionError: vendor down",
        )
        clock.advance(row.available_at - clock.now())

        async with LifespanManager(create_app(settings)):
            await wait_until(lambda: row_status_is(db, row_id, OutboxStatus.DONE), "the job to run")

        assert runs == [row_id, row_id]
        assert await count_effects(db, "test.embedded") == 1
    finally:
        await db.dispose()


async def test_messages_still_queued_at_shutdown_run_at_once_after_a_restart(
    database_settings: dict[str, str], register: Register
) -> None:
    """One worker thread is busy with one row when the server stops; the other row's message is still in
    the in-memory queue. It goes back to pending (no attempt used) rather than waiting for its lease."""
    settings = embedded_settings(database_settings)
    db = Database(settings)
    keys = KeyRing(settings.key_ring())
    started = threading.Event()
    current: list[EmbeddedWorkers] = []

    async def first_blocks(ctx: TaskContext, row: OutboxRow, data: dict[str, Any]) -> None:
        if not started.is_set():
            started.set()
            # Held until shutdown begins: the worker finishes what it runs before it stops.
            assert await asyncio.to_thread(current[0].stopping.wait, 30)
        record(ctx.session, actor="system", action="test.queued", subject_type="Outbox", subject_id=row.id)

    register("test.queued", first_blocks)

    def embedded() -> EmbeddedWorkers:
        workers = EmbeddedWorkers(
            settings, db=db, keys=keys, mailer_factory=lambda s: RecordingMailer(), worker_threads=1
        )
        current[:] = [workers]
        return workers

    try:
        tenant = await make_tenant(db, "queued-shop")
        rows = [await add_row(db, tenant, "test.queued", {"n": n}) for n in (1, 2)]
        workers = embedded()
        await workers.start()
        assert await asyncio.to_thread(started.wait, 30)

        async def both_dispatched() -> bool:
            return [(await get_row(db, r)).status for r in rows] == [OutboxStatus.DISPATCHED] * 2

        await wait_until(both_dispatched, "both rows to be sent")
        await workers.stop()

        states = {r: await get_row(db, r) for r in rows}
        done = [r for r, row in states.items() if row.status == OutboxStatus.DONE]
        assert len(done) == 1
        [queued] = [r for r in rows if r not in done]
        assert (states[queued].status, states[queued].attempts) == (OutboxStatus.PENDING, 0)

        # No clock move: it is due at once, not after the lease.
        workers = embedded()
        await workers.start()
        try:
            await wait_until(lambda: row_status_is(db, queued, OutboxStatus.DONE), "the queued row to run")
        finally:
            await workers.stop()
        assert (await get_row(db, queued)).attempts == 1
        assert await count_effects(db, "test.queued") == 2
    finally:
        await current[0].stop()  # a no-op when the test stopped it
        await db.dispose()


async def test_serve_sends_emails_from_the_outbox_by_itself(database_settings: dict[str, str]) -> None:
    settings = embedded_settings(database_settings)
    db = Database(settings)
    try:
        tenant = await make_tenant(db, "mail-shop")
        row_id = await add_row(
            db, tenant, "email.send", {"to": "ada@example.com", "subject": "Hi", "text": "Hello Ada"}
        )
        app = create_app(settings)
        async with LifespanManager(app):
            assert app.state.embedded_workers is not None
            await wait_until(lambda: row_status_is(db, row_id, OutboxStatus.DONE), "the email to go out")
        mailbox = settings.data_dir / "outbox-mail.log"
        assert "To: ada@example.com" in await asyncio.to_thread(mailbox.read_text)
    finally:
        await db.dispose()


async def test_without_embedded_workers_the_server_only_writes_rows(settings: Settings) -> None:
    app = create_app(settings)
    async with LifespanManager(app):
        assert app.state.embedded_workers is None


async def test_a_message_delivered_twice_through_the_broker_runs_once(
    database_settings: dict[str, str], register: Register
) -> None:
    settings = embedded_settings(database_settings)
    db = Database(settings)
    register("test.twice", _effect)
    runtime = install(settings, mailer_factory=lambda s: RecordingMailer())
    worker = Worker(runtime.broker, worker_threads=2, worker_timeout=100)
    worker.start()
    try:
        tenant = await make_tenant(db, "twice-shop")
        row_id = await add_row(db, tenant, "test.twice", {})
        async with db.maintenance_session(MaintenanceUse.TESTS) as s, s.begin():
            [dispatch] = await claim_due(s, settings)
        runtime.send(dispatch)
        runtime.send(dispatch)  # a redelivery
        await asyncio.to_thread(runtime.broker.join, runtime.queue_name)
        await asyncio.to_thread(worker.join)
        assert await count_effects(db, "test.twice") == 1
        row = await get_row(db, row_id)
        assert (row.status, row.attempts) == (OutboxStatus.DONE, 1)
    finally:
        await asyncio.to_thread(worker.stop)
        await db.dispose()


async def _effect(ctx: TaskContext, row: OutboxRow, data: dict[str, Any]) -> None:
    record(ctx.session, actor="system", action=row.topic, subject_type="Outbox", subject_id=row.id)
