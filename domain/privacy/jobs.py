"""Retention's background work: the hourly ``privacy.retention`` job writes one outbox row per tenant that
has expired rows; its handler purges that tenant in bounded batches (``domain.privacy.retention``).

Per tenant through the outbox, so one tenant's purge is retried on its own, runs on whichever worker is
free, and never needs the maintenance role for the deleting itself (only to find the tenants).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from bizzly.outbox import OutboxRow, add_outbox
from bizzly.tasks import JobContext, TaskContext, outbox_handler, periodic
from domain.privacy.retention import purge_tenant, tenants_to_purge

RETENTION_JOB = "privacy.retention"
RETENTION_TOPIC = "privacy.retention"
RETENTION_EVERY = timedelta(hours=1)

log = logging.getLogger("bizzly.retention")


@periodic(RETENTION_JOB, every=RETENTION_EVERY)
async def schedule_retention(ctx: JobContext) -> None:
    for tenant_id in await tenants_to_purge(ctx.session, settings=ctx.settings):
        await add_outbox(
            ctx.session,
            tenant_id=tenant_id,
            topic=RETENTION_TOPIC,
            payload={"tick": ctx.tick.isoformat()},
            # One purge per tenant per tick, however often the tick is fired.
            dedupe_key=f"retention:{ctx.tick.isoformat()}",
        )


@outbox_handler(RETENTION_TOPIC)
async def run_retention(ctx: TaskContext, row: OutboxRow, data: dict[str, Any]) -> None:
    # The purge commits batch by batch in sessions of its own; the row's transaction only marks it done.
    report = await purge_tenant(ctx.db, settings=ctx.settings, tenant_id=ctx.tenant_id)
    log.info(
        "retention purged %d messages, %d webhooks, %d auth events, %d assistant rows",
        report.messages,
        report.inbox_events,
        report.auth_events,
        report.assistant_rows,
    )
