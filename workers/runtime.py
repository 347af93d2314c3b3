"""Installs the workers kernel in a process: the broker, the per-loop resources and the actor.

``process_outbox(tenant_id, row_id)`` is the one actor: it receives ids only (never personal data) and runs
the row through ``workers.processing``. Retries are the outbox's (``available_at`` and the lease), not
Dramatiq's, so the actor has ``max_retries=0``; its time limit is the lease.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import dramatiq

from bizzly.settings import Settings
from workers import resources
from workers.broker import build_broker, outbox_queue
from workers.processing import process_row
from workers.relay import Dispatch, nudge


async def process_outbox(tenant_id: str, row_id: str) -> None:
    try:
        await process_row(resources.for_running_loop(), uuid.UUID(tenant_id), uuid.UUID(row_id))
    finally:
        # The tenant's share has room again: this process's relay looks for its next row now.
        nudge()


@dataclass
class Runtime:
    settings: Settings
    broker: dramatiq.Broker
    actor: dramatiq.Actor[[str, str], Any]  # bound to ``broker``

    @property
    def queue_name(self) -> str:
        return str(self.actor.queue_name)

    def send(self, dispatch: Dispatch) -> None:
        self.actor.send(str(dispatch.tenant_id), str(dispatch.row_id))


def install(settings: Settings, *, mailer_factory: resources.MailerFactory) -> Runtime:
    """Build the broker from settings, make it Dramatiq's global one and declare our actor on it."""
    broker = build_broker(settings)
    resources.configure(settings, mailer_factory)
    actor = dramatiq.actor(
        broker=broker,
        actor_name="process_outbox",
        queue_name=outbox_queue(settings),
        max_retries=0,
        time_limit=settings.outbox_lease_seconds * 1000,
    )(process_outbox)
    return Runtime(settings=settings, broker=broker, actor=actor)
