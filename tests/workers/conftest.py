"""Fixtures of the workers suite: a tenant, throw-away outbox topics, and rows read back across tenants."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from bizzly.db.engine import Database, MaintenanceUse
from bizzly.outbox import OutboxRow, add_outbox
from bizzly.settings import Settings
from bizzly.tasks import OutboxHandler, outbox_handler, unregister
from domain.privacy.audit import AuditEntry
from tenants.models import Tenant


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Database]:
    database = Database(settings)
    yield database
    await database.dispose()


async def make_tenant(db: Database, slug: str) -> uuid.UUID:
    async with db.maintenance_session(MaintenanceUse.TESTS) as s, s.begin():
        tenant = Tenant(name=slug.title(), slug=slug, timezone="Europe/Berlin", default_region="DE")
        s.add(tenant)
    return tenant.id


@pytest.fixture
async def tenant(db: Database) -> uuid.UUID:
    return await make_tenant(db, f"shop-{uuid.uuid4().hex[:8]}")


async def add_row(
    db: Database, tenant_id: uuid.UUID, topic: str, payload: dict[str, Any], **kw: Any
) -> uuid.UUID:
    async with db.tenant_session(tenant_id) as s, s.begin():
        row = await add_outbox(s, topic=topic, payload=payload, **kw)
    return row.id


async def get_row(db: Database, row_id: uuid.UUID) -> OutboxRow:
    async with db.maintenance_session(MaintenanceUse.TESTS, write=False) as s:
        row = await s.scalar(select(OutboxRow).where(OutboxRow.id == row_id))
    assert row is not None
    return row


async def count_effects(db: Database, action: str) -> int:
    async with db.maintenance_session(MaintenanceUse.TESTS, write=False) as s:
        return int(await s.scalar(select(func.count()).where(AuditEntry.action == action)) or 0)


async def wait_until(check: Callable[[], Awaitable[bool]], what: str, *, within: float = 30.0) -> None:
    """Poll ``check`` -- a database state another thread or process commits -- until it holds."""
    deadline = time.monotonic() + within
    while True:
        if await check():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {within}s in vain for {what}")
        await asyncio.sleep(0.05)


async def row_status_is(db: Database, row_id: uuid.UUID, status: str) -> bool:
    return (await get_row(db, row_id)).status == status


@pytest.fixture
def register() -> Iterator[Callable[[str, OutboxHandler], None]]:
    """Register a test-only outbox handler under a topic; it is removed after the test."""
    topics: list[str] = []

    def add(topic: str, fn: OutboxHandler) -> None:
        outbox_handler(topic)(fn)
        topics.append(topic)

    yield add
    for topic in topics:
        unregister(topic=topic)
