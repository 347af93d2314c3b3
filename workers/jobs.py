"""Built-in periodic housekeeping of the workers' own tables (the outbox sweep lives in the scheduler,
which owns the broker connection)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete

from bizzly import clock
from bizzly.outbox import OutboxRow, OutboxStatus
from bizzly.tasks import JobContext, periodic
from workers.models import SchedulerTick

# Done rows still hold their payload (addresses, texts): keep them only as long as they help debugging.
KEEP_DONE = timedelta(days=7)
KEEP_DEAD = timedelta(days=30)
KEEP_TICKS = timedelta(days=2)


@periodic("outbox.prune", every=timedelta(hours=1))
async def prune_outbox(ctx: JobContext) -> None:
    now = clock.now()
    await ctx.session.execute(
        delete(OutboxRow).where(OutboxRow.status == OutboxStatus.DONE, OutboxRow.done_at < now - KEEP_DONE)
    )
    await ctx.session.execute(
        delete(OutboxRow).where(OutboxRow.status == OutboxStatus.DEAD, OutboxRow.created_at < now - KEEP_DEAD)
    )


@periodic("scheduler.prune", every=timedelta(hours=1))
async def prune_ticks(ctx: JobContext) -> None:
    await ctx.session.execute(delete(SchedulerTick).where(SchedulerTick.tick < clock.now() - KEEP_TICKS))
