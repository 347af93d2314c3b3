"""Run the outbox in a test, in the test's own event loop: claim every due row and process it, exactly as
the relay and the ``process_outbox`` actor do, but without a broker (deterministic, no background tasks).

    mailer = RecordingMailer()
    statuses = await drain_outbox(settings, mailer=mailer)
    assert mailer.sent[0].to == "ada@example.com"
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from bizzly.db.engine import MaintenanceUse
from bizzly.ports import EmailMessage, Mailer
from bizzly.settings import Settings
from bizzly.wiring import build_mailer, import_handlers
from workers.processing import process_row
from workers.relay import claim_due
from workers.resources import Resources


@dataclass
class RecordingMailer:
    sent: list[EmailMessage] = field(default_factory=list)

    async def send(self, message: EmailMessage) -> None:
        self.sent.append(message)


async def drain_outbox(
    settings: Settings, *, mailer: Mailer | None = None, max_rounds: int = 1000
) -> dict[uuid.UUID, str | None]:
    """Process due rows until none is left (rows a handler pushed into the future stay pending). A round
    takes each tenant's fair share of its due rows (``BIZZLY_WORKER_TENANT_SHARE``), so a tenant with many
    rows needs many rounds: ``max_rounds`` only stops a handler that queues work forever.
    Returns each processed row's final status. Without ``mailer``, the settings' mailer is used."""
    import_handlers()
    res = Resources.build(settings, mailer or build_mailer(settings))
    statuses: dict[uuid.UUID, str | None] = {}
    try:
        for _ in range(max_rounds):
            async with res.db.maintenance_session(MaintenanceUse.TESTS) as session, session.begin():
                batch = await claim_due(session, settings)
            if not batch:
                break
            for d in batch:
                statuses[d.row_id] = await process_row(res, d.tenant_id, d.row_id)
    finally:
        await res.aclose()
    return statuses
