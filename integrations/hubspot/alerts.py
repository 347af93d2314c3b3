"""A stand-in consumer of ``notifications.owner_alert`` until the notifications issue (9) delivers owner
alerts: it logs the alert and lets the row complete, so the outbox holds no dead rows meanwhile. Issue 9
registers the real handler for this topic and removes this module from ``bizzly.wiring``."""

from __future__ import annotations

import logging
from typing import Any

from bizzly.outbox import OutboxRow
from bizzly.tasks import TaskContext, get_outbox_handler, outbox_handler
from integrations.hubspot.tokens import OWNER_ALERT_TOPIC

log = logging.getLogger("bizzly.hubspot")


async def log_owner_alert(ctx: TaskContext, row: OutboxRow, data: dict[str, Any]) -> None:
    log.warning(
        "owner alert for tenant %s: %s %s (delivery pending the notifications issue)",
        ctx.tenant_id,
        data.get("kind"),
        data.get("provider"),
    )


# Only when nothing else handles the topic: the notifications module's handler wins.
if get_outbox_handler(OWNER_ALERT_TOPIC) is None:
    outbox_handler(OWNER_ALERT_TOPIC)(log_owner_alert)
