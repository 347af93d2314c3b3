"""The embedded default (``memory://``): relay, scheduler and a Dramatiq worker inside ``bizzly serve``.

The relay and the scheduler run as tasks on the server's event loop with the server's database; the worker
consumes the in-memory StubBroker on Dramatiq's own AsyncIO loop thread (with its own database engine).
Nothing lives only in memory: on shutdown the relay and scheduler stop first, the worker finishes the rows
it is running, and rows whose messages were still queued go back to pending, so a restart runs them at
once (rather than after the lease).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import uuid
from typing import Any

from dramatiq import Worker
from dramatiq.middleware import Middleware

from bizzly.crypto import KeyRing
from bizzly.db.engine import Database
from bizzly.settings import Settings
from workers import resources
from workers.relay import Dispatch, release, run_relay
from workers.runtime import Runtime, install
from workers.scheduler import Scheduler

log = logging.getLogger("bizzly.workers")

# Milliseconds an idle worker thread waits for a message: bounds how long shutdown takes.
WORKER_TIMEOUT_MS = 200


class InFlight(Middleware):
    """The messages sent to the in-memory broker and not yet run (queued, or prefetched by the worker):
    they die with the process, so shutdown puts their rows back to pending."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._messages: set[tuple[str, str]] = set()

    def after_enqueue(self, broker: Any, message: Any, delay: Any) -> None:
        with self._lock:
            self._messages.add((str(message.args[0]), str(message.args[1])))

    def _finished(self, message: Any) -> None:
        with self._lock:
            self._messages.discard((str(message.args[0]), str(message.args[1])))

    def after_process_message(
        self, broker: Any, message: Any, *, result: Any = None, exception: Any = None
    ) -> None:
        self._finished(message)

    def after_skip_message(self, broker: Any, message: Any) -> None:
        self._finished(message)

    def unstarted(self) -> list[Dispatch]:
        with self._lock:
            return [Dispatch(uuid.UUID(t), uuid.UUID(r)) for t, r in sorted(self._messages)]


class EmbeddedWorkers:
    def __init__(
        self,
        settings: Settings,
        *,
        db: Database,
        keys: KeyRing,
        mailer_factory: resources.MailerFactory,
        worker_threads: int = 2,
    ) -> None:
        self.settings = settings
        self.db = db
        self.keys = keys
        self.mailer_factory = mailer_factory
        self.worker_threads = worker_threads
        # Set once shutdown began and the worker threads take no new message (a long handler may watch it).
        self.stopping = threading.Event()
        self._stopped = False
        self.runtime: Runtime | None = None
        self._worker: Worker | None = None
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._in_flight = InFlight()

    async def start(self) -> None:
        runtime = self.runtime = install(self.settings, mailer_factory=self.mailer_factory)
        runtime.broker.add_middleware(self._in_flight)
        self._worker = Worker(
            runtime.broker, worker_threads=self.worker_threads, worker_timeout=WORKER_TIMEOUT_MS
        )
        self._worker.start()
        scheduler = Scheduler(db=self.db, settings=self.settings, keys=self.keys, send=runtime.send)
        self._tasks = [
            asyncio.create_task(
                run_relay(self.db, self.settings, runtime.send, self._stop), name="outbox-relay"
            ),
            asyncio.create_task(scheduler.run(self._stop), name="scheduler"),
        ]
        log.info("embedded workers started (relay, scheduler, %d worker threads)", self.worker_threads)

    async def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._stop.set()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._worker is not None and self.runtime is not None:
            for thread in self._worker.workers:
                thread.stop()  # finish the current message, take no new one
            self.stopping.set()
            await asyncio.to_thread(self._worker.stop)
            await release(self.db, self._in_flight.unstarted())
        self.stopping.set()
        log.info("embedded workers stopped")
