"""Notification work: deliver decided notifications, turn owner alerts into emails, scan for reminders.

- ``notifications.deliver`` sends one decided notification (``domain.notifications.service.deliver``);
  when its retries are used up the notification is marked ``FAILED`` so staff see it.
- ``notifications.owner_alert`` (``OWNER_ALERT_TOPIC``, written by HubSpot's token code, leads, ...)
  decides the owner's email.
- The periodic ``notifications.reminders`` job (every ``SCAN_EVERY``, one scheduler per tick) writes one
  scan row per tenant with upcoming bookings; the scan runs in that tenant's session and decides the
  reminders due before the next tick. A reminder is decided once per booking and start time (unique key),
  however many scans see it.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from bizzly import clock
from bizzly.errors import Invalid
from bizzly.outbox import OutboxRow, PermanentFailure, add_outbox
from bizzly.tasks import JobContext, TaskContext, outbox_handler, periodic
from domain.notifications import OWNER_ALERT_TOPIC
from domain.notifications import service as notifications

REMINDER_JOB = "notifications.reminders"
SCAN_EVERY = timedelta(minutes=5)


def _uuid(data: dict[str, Any], key: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(data[key]))
    except (KeyError, ValueError) as exc:
        raise PermanentFailure(f"payload lacks a valid {key}") from exc


@outbox_handler(notifications.DELIVER_TOPIC)
async def deliver(ctx: TaskContext, row: OutboxRow, data: dict[str, Any]) -> None:
    notification_id = _uuid(data, "notification_id")
    if ctx.attempt < ctx.settings.outbox_max_attempts:
        await notifications.deliver(
            ctx.session, keys=ctx.keys, mailer=ctx.mailer, notification_id=notification_id
        )
        return  # a failure is retried with backoff
    # The last attempt: if it fails too, the row ends here and the notification says it failed.
    try:
        async with ctx.session.begin_nested():
            await notifications.deliver(
                ctx.session, keys=ctx.keys, mailer=ctx.mailer, notification_id=notification_id
            )
    except Exception as exc:  # noqa: BLE001 - recorded on the notification
        await notifications.mark_failed(
            ctx.session, notification_id=notification_id, error=f"could not send: {type(exc).__name__}"
        )


@outbox_handler(OWNER_ALERT_TOPIC)
async def owner_alert(ctx: TaskContext, row: OutboxRow, data: dict[str, Any]) -> None:
    try:
        await notifications.owner_alert(ctx.session, data=data, alert_id=row.id)
    except Invalid as exc:
        raise PermanentFailure(exc.message) from exc


@outbox_handler(notifications.REMINDER_SCAN_TOPIC)
async def scan_reminders(ctx: TaskContext, row: OutboxRow, data: dict[str, Any]) -> None:
    await notifications.decide_reminders(ctx.session, now=clock.now(), lead=SCAN_EVERY)


@periodic(REMINDER_JOB, every=SCAN_EVERY)
async def reminders(ctx: JobContext) -> None:
    for tenant_id in await notifications.tenants_to_remind(ctx.session, now=clock.now(), lead=SCAN_EVERY):
        await add_outbox(
            ctx.session,
            tenant_id=tenant_id,
            topic=notifications.REMINDER_SCAN_TOPIC,
            payload={"tick": ctx.tick.isoformat()},
            dedupe_key=f"reminders:{ctx.tick.isoformat()}",
        )
