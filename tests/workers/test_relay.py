"""The relay: due rows of every tenant are claimed once, sent, and re-sent only after their lease."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import update

from bizzly import clock
from bizzly.db.engine import Database, MaintenanceUse
from bizzly.outbox import OutboxRow, OutboxStatus
from bizzly.settings import Settings
from tests.workers.conftest import add_row, get_row, make_tenant
from workers.relay import Dispatch, claim_due, relay_once


async def test_due_rows_of_every_tenant_are_sent_once_and_again_after_the_lease(
    settings: Settings, db: Database
) -> None:
    a, b = await make_tenant(db, "shop-a"), await make_tenant(db, "shop-b")
    row_a = await add_row(db, a, "test.x", {})
    row_b = await add_row(db, b, "test.x", {})
    later = await add_row(db, a, "test.x", {}, available_at=clock.now() + timedelta(minutes=5))
    sent: list[Dispatch] = []

    assert await relay_once(db, settings, sent.append) == 2
    assert sorted(sent, key=lambda d: str(d.row_id)) == sorted(
        [Dispatch(a, row_a), Dispatch(b, row_b)], key=lambda d: str(d.row_id)
    )
    for row_id in (row_a, row_b):
        row = await get_row(db, row_id)
        assert (row.status, row.attempts) == (OutboxStatus.DISPATCHED, 1)
    assert (await get_row(db, later)).status == OutboxStatus.PENDING

    # Nothing new within the lease; after it, the unfinished rows go out again (and the later one is due).
    assert await relay_once(db, settings, sent.append) == 0
    clock.advance(timedelta(seconds=settings.outbox_lease_seconds + 1))
    assert await relay_once(db, settings, sent.append) == 3
    row = await get_row(db, row_a)
    assert (row.status, row.attempts) == (OutboxStatus.DISPATCHED, 2)
    assert row.last_error == "lease expired: the worker running it was lost"


async def test_rows_that_could_not_be_sent_go_back_to_pending_without_an_attempt(
    settings: Settings, db: Database, tenant: uuid.UUID
) -> None:
    row_id = await add_row(db, tenant, "test.x", {})

    def broker_down(d: Dispatch) -> None:
        raise ConnectionError("broker down")

    assert await relay_once(db, settings, broker_down) == 0
    row = await get_row(db, row_id)
    assert (row.status, row.attempts, row.dispatched_at) == (OutboxStatus.PENDING, 0, None)
    sent: list[Dispatch] = []
    assert await relay_once(db, settings, sent.append) == 1
    assert sent == [Dispatch(tenant, row_id)]


@pytest.mark.postgres_only
async def test_two_relays_never_claim_the_same_row(
    settings: Settings, db: Database, tenant: uuid.UUID
) -> None:
    # One tenant's six rows, all within its share: the test is about two relays, not about fairness.
    settings = settings.model_copy(update={"worker_tenant_share": 10})
    rows = {await add_row(db, tenant, "test.x", {}) for _ in range(6)}
    other = Database(settings)
    try:
        async with db.maintenance_session(MaintenanceUse.OUTBOX_RELAY) as s1, s1.begin():
            first = await claim_due(s1, settings, limit=4)
            # The first claim is not committed yet: the second relay skips its locked rows.
            async with other.maintenance_session(MaintenanceUse.OUTBOX_RELAY) as s2, s2.begin():
                second = await claim_due(s2, settings)
        assert len(first) == 4
        assert len(second) == 2
        assert {d.row_id for d in first} | {d.row_id for d in second} == rows
    finally:
        await other.dispose()


async def test_a_tenant_with_a_flood_gets_its_share_and_the_others_go_ahead(
    settings: Settings, db: Database
) -> None:
    settings = settings.model_copy(update={"worker_tenant_share": 2})
    flood, quiet = await make_tenant(db, "flood-shop"), await make_tenant(db, "quiet-shop")
    flooded = [await add_row(db, flood, "test.x", {}) for _ in range(7)]
    clock.advance(timedelta(seconds=1))
    late = await add_row(db, quiet, "test.x", {})
    sent: list[Dispatch] = []

    assert await relay_once(db, settings, sent.append) == 3
    # The flood's two oldest rows, and the quiet tenant's row although it came after all seven.
    assert sent == [Dispatch(flood, flooded[0]), Dispatch(flood, flooded[1]), Dispatch(quiet, late)]
    assert (await get_row(db, flooded[2])).status == OutboxStatus.PENDING
    # Nothing more while the flood's two run: the rest wait, stored.
    assert await relay_once(db, settings, sent.append) == 0

    # One of the flood's finishes (and the quiet tenant's): the flood's next one in order goes, only one.
    async with db.maintenance_session(MaintenanceUse.TESTS) as s, s.begin():
        await s.execute(
            update(OutboxRow).where(OutboxRow.id.in_([flooded[0], late])).values(status=OutboxStatus.DONE)
        )
    sent.clear()
    assert await relay_once(db, settings, sent.append) == 1
    assert sent == [Dispatch(flood, flooded[2])]

    # A run lost with its worker does not hold the share: after the lease the rows go again, in order.
    clock.advance(timedelta(seconds=settings.outbox_lease_seconds + 1))
    sent.clear()
    assert await relay_once(db, settings, sent.append) == 2
    assert sent == [Dispatch(flood, flooded[1]), Dispatch(flood, flooded[2])]
