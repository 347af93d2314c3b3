"""The Dramatiq broker named by ``BIZZLY_BROKER_URL``.

``memory://`` is the embedded default (a StubBroker consumed by a Worker inside ``bizzly serve``);
``redis://`` / ``rediss://`` and ``amqp://`` / ``amqps://`` are the production brokers, consumed by
``bizzly worker`` processes. Every queue and Redis key carries ``BIZZLY_BROKER_NAMESPACE``.

Our actors are declared by ``workers.runtime.install`` on the broker built here, never at import time:
Dramatiq would otherwise bind them to a default broker it invents (a RabbitMQ one on 127.0.0.1).
"""

from __future__ import annotations

import logging
from typing import Any

import dramatiq
from dramatiq.asyncio import get_event_loop_thread
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import AsyncIO, Middleware

from bizzly.settings import Settings
from workers import resources

log = logging.getLogger("bizzly.workers")


class BrokerUrlError(ValueError):
    """``BIZZLY_BROKER_URL`` names no broker we support."""


def is_embedded(settings: Settings) -> bool:
    return settings.broker_url.startswith("memory:")


def outbox_queue(settings: Settings) -> str:
    return f"{settings.broker_namespace}.outbox"


class LoopResources(Middleware):
    """Disposes the worker loop's resources (engines, clients) before AsyncIO stops that loop."""

    def after_worker_shutdown(self, broker: Any, worker: Any) -> None:
        thread = get_event_loop_thread()
        if thread is not None and thread.loop.is_running():
            thread.run_coroutine(resources.close_running_loop())


def build_broker(settings: Settings) -> dramatiq.Broker:
    url = settings.broker_url
    scheme = url.split(":", 1)[0].lower()
    broker: dramatiq.Broker
    if scheme == "memory":
        broker = StubBroker()
    elif scheme in {"redis", "rediss"}:
        from dramatiq.brokers.redis import RedisBroker

        broker = RedisBroker(url=url, namespace=settings.broker_namespace)  # type: ignore[no-untyped-call]
    elif scheme in {"amqp", "amqps"}:
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        # Publisher confirms: a message the relay counts as sent is on RabbitMQ's disk.
        broker = RabbitmqBroker(url=url, confirm_delivery=True)
    else:
        raise BrokerUrlError(f"BIZZLY_BROKER_URL: unsupported scheme {scheme!r} (memory, redis, amqp)")
    # Order matters: middleware shuts down in reverse, so LoopResources closes before the loop stops.
    broker.add_middleware(AsyncIO())
    broker.add_middleware(LoopResources())
    dramatiq.set_broker(broker)
    return broker
