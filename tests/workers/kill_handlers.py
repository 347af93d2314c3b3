"""Test-only outbox topics for worker processes started by the tests (imported by ``worker_main``).

``test.kill`` writes its database effect, then -- when ``BIZZLY_TEST_BLOCK=1`` -- stops at the named point
"after the effect, before the commit" and waits to be killed. Every start leaves a mark file in
``BIZZLY_TEST_MARKS``, so a test counts how often the handler ran as well as how often its effect landed.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path
from typing import Any

from bizzly.outbox import OutboxRow
from bizzly.tasks import TaskContext, outbox_handler
from domain.privacy.audit import record

KILL_TOPIC = "test.kill"


@outbox_handler(KILL_TOPIC)
async def run(ctx: TaskContext, row: OutboxRow, data: dict[str, Any]) -> None:
    marks = Path(os.environ["BIZZLY_TEST_MARKS"])
    (marks / f"start-{os.getpid()}-{uuid.uuid4().hex[:6]}").touch()
    record(ctx.session, actor="system", action=KILL_TOPIC, subject_type="Outbox", subject_id=row.id)
    await ctx.session.flush()
    if os.environ.get("BIZZLY_TEST_BLOCK") == "1":
        (marks / "blocked").touch()
        await asyncio.Event().wait()  # the named point: the test kills the process here
