"""``bizzly worker`` and ``bizzly scheduler``: the processes of a production deployment (redis:// or amqp://).

A worker process consumes the outbox queue with a Dramatiq Worker (its threads share one AsyncIO loop, so
``threads`` rows run at once) and runs the relay loop on its main thread; scale out by running more of them
(relays in several processes never claim the same row). The scheduler process holds the lease and fires
periodic jobs; run two for availability. Both stop cleanly on SIGTERM or SIGINT.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from dramatiq import Worker

from bizzly.crypto import KeyRing
from bizzly.db.engine import Database
from bizzly.settings import Settings
from workers import resources
from workers.broker import is_embedded
from workers.relay import run_relay
from workers.runtime import Runtime, install
from workers.scheduler import Scheduler

log = logging.getLogger("bizzly.workers")


class EmbeddedBrokerError(RuntimeError):
    """A separate worker or scheduler process cannot share the in-memory broker of ``bizzly serve``."""


def _require_real_broker(settings: Settings, command: str) -> None:
    if is_embedded(settings):
        raise EmbeddedBrokerError(
            f"`bizzly {command}` needs a shared broker: set BIZZLY_BROKER_URL to redis:// or amqp:// "
            "(with the default memory:// broker, `bizzly serve` runs the workers and the scheduler itself)"
        )


def _quiet_broker_clients() -> None:
    # pika logs every connection step at INFO; keep its warnings only.
    logging.getLogger("pika").setLevel(logging.WARNING)


def _stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)


def run_worker(settings: Settings, *, threads: int, mailer_factory: resources.MailerFactory) -> None:
    _require_real_broker(settings, "worker")
    _quiet_broker_clients()
    runtime = install(settings, mailer_factory=mailer_factory)
    worker = Worker(runtime.broker, worker_threads=threads)
    worker.start()
    log.info("worker consuming %s with %d threads", runtime.queue_name, threads)
    try:
        asyncio.run(_relay(settings, runtime))
    finally:
        worker.stop()


async def _relay(settings: Settings, runtime: Runtime) -> None:
    stop = asyncio.Event()
    _stop_on_signals(stop)
    db = Database(settings)
    try:
        await run_relay(db, settings, runtime.send, stop)
    finally:
        await db.dispose()


def run_scheduler(settings: Settings, *, mailer_factory: resources.MailerFactory) -> None:
    _require_real_broker(settings, "scheduler")
    _quiet_broker_clients()
    runtime = install(settings, mailer_factory=mailer_factory)
    asyncio.run(_schedule(settings, runtime))


async def _schedule(settings: Settings, runtime: Runtime) -> None:
    stop = asyncio.Event()
    _stop_on_signals(stop)
    db = Database(settings)
    try:
        scheduler = Scheduler(db=db, settings=settings, keys=KeyRing(settings.key_ring()), send=runtime.send)
        log.info("scheduler %s started", scheduler.holder)
        await scheduler.run(stop)
    finally:
        await db.dispose()
