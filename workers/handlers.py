"""Built-in outbox handlers: ``email.send`` and ``inbox.process``.

Other handlers register themselves with ``bizzly.tasks.outbox_handler`` / ``inbox_handler`` in the module
that owns the work (listed in ``bizzly.wiring``).

Inbox: ``record_inbox`` stores a webhook event and, in the same transaction, an ``inbox.process`` outbox row
carrying only the event's id. Its handler below loads the event, runs the handler registered for the event's
source, and stamps ``processed_at`` -- all in the outbox row's transaction, so an event is processed once
with the outbox's retries, backoff and dead-lettering.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from bizzly import clock
from bizzly.outbox import INBOX_TOPIC, InboxEvent, OutboxRow, PermanentFailure
from bizzly.ports import EmailMessage
from bizzly.tasks import TaskContext, get_inbox_handler, outbox_handler

EMAIL_TOPIC = "email.send"


@outbox_handler(EMAIL_TOPIC)
async def send_email(ctx: TaskContext, row: OutboxRow, data: dict[str, Any]) -> None:
    """Payload ``{"to", "subject", "text"}`` (encrypted with the key ring when it carries a link or code)."""
    fields = {}
    for name in ("to", "subject", "text"):
        value = data.get(name)
        if not isinstance(value, str) or (name != "text" and not value):
            raise PermanentFailure(f"email.send payload lacks a usable {name!r}")
        fields[name] = value
    await ctx.mailer.send(EmailMessage(**fields))


@outbox_handler(INBOX_TOPIC)
async def process_inbox(ctx: TaskContext, row: OutboxRow, data: dict[str, Any]) -> None:
    try:
        inbox_id = uuid.UUID(str(data["inbox_id"]))
    except (KeyError, ValueError) as exc:
        raise PermanentFailure("inbox.process payload lacks a valid inbox_id") from exc
    event = await ctx.session.scalar(select(InboxEvent).where(InboxEvent.id == inbox_id).with_for_update())
    if event is None:
        raise PermanentFailure(f"inbox event {inbox_id} does not exist")
    if event.processed_at is not None:
        return
    handler = get_inbox_handler(event.source)
    if handler is None:
        raise PermanentFailure(f"no inbox handler is registered for source {event.source!r}")
    await handler(ctx, event)
    event.processed_at = clock.now()
    event.last_error = None
