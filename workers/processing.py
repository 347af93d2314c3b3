"""Running one outbox row: what the ``process_outbox`` actor does, idempotently, keyed by the row id.

A row runs only if the relay dispatched it and nothing finished it since, and it is marked done in the same
transaction as the handler's own writes (exactly once); a worker killed mid-run leaves the row dispatched
with its effects rolled back, and the relay dispatches it again once the lease expires.

- PostgreSQL: the row is locked ``FOR UPDATE`` for the whole run, the handler runs in a savepoint. A
  duplicate message (or a re-dispatch while a slow run still holds the lock) waits, finds the row done and
  does nothing -- not even a provider call; the relay's ``SKIP LOCKED`` never touches a running row.
- SQLite has one writer for the whole database, so no lock is held while a handler waits on a provider: the
  row is checked in a read, the handler's transaction takes the write lock at its first statement (so a
  handler that calls the provider before it writes holds it briefly), and the row is checked again and
  marked done under that lock. Two runs of one row at once (a re-dispatch after the lease while the first
  still runs) may both call the provider; only the first to commit keeps its writes.

A topic registered with ``prepare=`` (a slow provider call, e.g. a tenant's language model) first runs its
preparer outside any transaction, with the row only read; the row is then locked (or re-checked) as above
and the handler applies the preparer's result, so the slow call never holds a lock or a connection.

On failure the handler's effects are rolled back and the row goes back to pending with exponential backoff
and jitter (``RetryLater`` sets the time and does not count the attempt), or dead (``PermanentFailure``, an
unknown topic, a payload no key opens, or ``BIZZLY_OUTBOX_MAX_ATTEMPTS`` used up).
"""

from __future__ import annotations

import logging
import random
import traceback
import uuid
from dataclasses import dataclass
from datetime import UTC, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bizzly import clock
from bizzly.crypto import DecryptionError
from bizzly.logs import log_context
from bizzly.metrics import OUTBOX_PROCESSED
from bizzly.outbox import OutboxRow, OutboxStatus, PermanentFailure, RetryLater
from bizzly.tasks import OutboxHandler, TaskContext, WorkContext, get_outbox_handler, get_outbox_preparer
from workers import chaos
from workers import handlers as _builtin_handlers  # noqa: F401 - registers email.send, inbox.process
from workers.resources import Resources

log = logging.getLogger("bizzly.workers")

BACKOFF_BASE = timedelta(seconds=10)
BACKOFF_CAP = timedelta(hours=1)
ERROR_MAX_CHARS = 500
_MASK = "•••"


def backoff(attempts: int, *, rng: random.Random | None = None) -> timedelta:
    """Delay before attempt ``attempts + 1``: doubling from BACKOFF_BASE up to BACKOFF_CAP, with "equal
    jitter" (between half and all of it) so rows that failed together do not retry together."""
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * (1 << min(max(attempts - 1, 0), 30)))
    jitter = rng.random() if rng is not None else random.random()
    return ceiling * (0.5 + jitter / 2)


def _secrets_in(data: Any) -> list[str]:
    if isinstance(data, dict):
        return [s for v in data.values() for s in _secrets_in(v)]
    if isinstance(data, list):
        return [s for v in data for s in _secrets_in(v)]
    if isinstance(data, bool) or not isinstance(data, str | int):
        return []
    return [str(data)] if len(str(data)) >= 4 else []


def redact(text: str, data: dict[str, Any] | None) -> str:
    """The payload's values (addresses, codes, links) taken out of an error text before it is stored."""
    for value in sorted(_secrets_in(data or {}), key=len, reverse=True):
        text = text.replace(value, _MASK)
    return text


def describe(exc: BaseException, data: dict[str, Any] | None) -> str:
    return redact(f"{type(exc).__name__}: {exc}", data)[:ERROR_MAX_CHARS]


async def _finish(session: AsyncSession, row_id: uuid.UUID, **values: Any) -> None:
    await session.execute(update(OutboxRow).where(OutboxRow.id == row_id).values(**values))


async def _load(session: AsyncSession, row_id: uuid.UUID, *, lock: bool) -> OutboxRow | None:
    stmt = select(OutboxRow).where(OutboxRow.id == row_id).execution_options(populate_existing=True)
    return await session.scalar(stmt.with_for_update() if lock else stmt)


@dataclass
class _Run:
    """What is known before the handler runs. ``dead`` is set when it cannot run at all."""

    row: OutboxRow
    row_id: uuid.UUID
    topic: str
    attempts: int
    data: dict[str, Any]
    handler: OutboxHandler | None = None
    dead: str | None = None
    # Set by a RetryLater with topic_prefix: the tenant's rows of that provider wait too.
    retry_prefix: str | None = None


def _prepare(res: Resources, row: OutboxRow) -> _Run:
    # Read everything up front: a rolled-back savepoint may expire the row's attributes.
    run = _Run(row=row, row_id=row.id, topic=row.topic, attempts=row.attempts, data={})
    run.handler = get_outbox_handler(run.topic)
    if run.handler is None:
        run.dead = f"no handler is registered for topic {run.topic!r}"
        return run
    try:
        run.data = row.data(res.keys)
    except (DecryptionError, ValueError, AssertionError) as exc:
        run.dead = f"unreadable payload: {type(exc).__name__}"
    return run


def _work_context(res: Resources, tenant_id: uuid.UUID, run: _Run) -> WorkContext:
    return WorkContext(
        tenant_id=tenant_id,
        row_id=run.row_id,
        attempt=run.attempts,
        settings=res.settings,
        keys=res.keys,
        db=res.db,
        mailer=res.mailer,
        state=res.state,
    )


def _context(
    res: Resources, session: AsyncSession, tenant_id: uuid.UUID, run: _Run, prepared: Any = None
) -> TaskContext:
    # A handler's context is its preparer's plus the session (``vars``: the same objects, ``state`` shared).
    return TaskContext(**vars(_work_context(res, tenant_id, run)), session=session, prepared=prepared)


_UNPREPARED = object()


def _needs_preparing(run: _Run, prepared: Any) -> bool:
    return prepared is _UNPREPARED and run.dead is None and get_outbox_preparer(run.topic) is not None


async def _prepare_outside(res: Resources, tenant_id: uuid.UUID, run: _Run) -> Any:
    """The topic's preparer, outside any transaction (it never raises; a bug in one is logged)."""
    preparer = get_outbox_preparer(run.topic)
    if preparer is None or run.dead is not None:
        return None
    ctx = _work_context(res, tenant_id, run)
    try:
        return await preparer(ctx, run.data)
    except Exception:  # the handler then runs with nothing prepared
        log.exception("outbox row %s (%s): its preparer failed", run.row_id, run.topic)
        return None


def _dead(run: _Run, reason: str) -> tuple[str, dict[str, Any]]:
    log.error("outbox row %s (%s) is dead: %s", run.row_id, run.topic, reason)
    return OutboxStatus.DEAD, {"status": OutboxStatus.DEAD, "last_error": reason[:ERROR_MAX_CHARS]}


def _done() -> tuple[str, dict[str, Any]]:
    return OutboxStatus.DONE, {"status": OutboxStatus.DONE, "done_at": clock.now(), "last_error": None}


def _failed(res: Resources, run: _Run, exc: Exception) -> tuple[str, dict[str, Any]]:
    """The row's next state after the handler raised ``exc`` (its own writes are rolled back)."""
    now = clock.now()
    if isinstance(exc, RetryLater):
        # A naive time from a vendor's header is taken as UTC rather than crashing the run.
        at = max(exc.at if exc.at.tzinfo else exc.at.replace(tzinfo=UTC), now)
        run.retry_prefix = exc.topic_prefix
        log.info("outbox row %s (%s) retries at %s: %s", run.row_id, run.topic, at.isoformat(), exc.reason)
        return OutboxStatus.PENDING, {
            "status": OutboxStatus.PENDING,
            "available_at": at,
            "attempts": max(run.attempts - 1, 0),
            "dispatched_at": None,
            "last_error": redact(f"retry later: {exc.reason}", run.data)[:ERROR_MAX_CHARS],
        }
    if isinstance(exc, PermanentFailure):
        return _dead(run, redact(exc.reason, run.data))
    error = describe(exc, run.data)
    log.warning(
        "outbox row %s (%s) failed, attempt %d: %s",
        run.row_id,
        run.topic,
        run.attempts,
        redact("".join(traceback.format_exception(exc)), run.data),
    )
    if run.attempts >= res.settings.outbox_max_attempts:
        return _dead(run, f"gave up after {run.attempts} attempts: {error}")
    return OutboxStatus.PENDING, {
        "status": OutboxStatus.PENDING,
        "available_at": now + backoff(run.attempts),
        "dispatched_at": None,
        "last_error": error,
    }


async def process_row(res: Resources, tenant_id: uuid.UUID, row_id: uuid.UUID) -> str | None:
    """Run the row's handler unless it already ran. Returns the row's status afterwards (None: no row)."""
    with log_context(tenant_id=tenant_id):
        if res.db.dialect == "postgresql":
            return await _process_locked(res, tenant_id, row_id)
        return await _process_single_writer(res, tenant_id, row_id)


def _count(run: _Run, status: str) -> str:
    OUTBOX_PROCESSED.labels(topic=run.topic, outcome=status).inc()
    return status


async def _process_locked(
    res: Resources, tenant_id: uuid.UUID, row_id: uuid.UUID, prepared: Any = _UNPREPARED
) -> str | None:
    async with res.db.tenant_session(tenant_id, write=True) as session, session.begin():
        row = await _load(session, row_id, lock=True)
        if row is None or row.status != OutboxStatus.DISPATCHED:
            # Gone, done, dead, or put back to pending by a newer run: a duplicate or stale message.
            return _status(row, tenant_id, row_id)
        run = _prepare(res, row)
        if not _needs_preparing(run, prepared):
            return await _run_locked(res, session, tenant_id, run, prepared)
    # Prepared with the lock released and the transaction ended, then locked and checked afresh.
    return await _process_locked(res, tenant_id, row_id, await _prepare_outside(res, tenant_id, run))


async def _run_locked(
    res: Resources, session: AsyncSession, tenant_id: uuid.UUID, run: _Run, prepared: Any
) -> str:
    row_id = run.row_id
    prepared = None if prepared is _UNPREPARED else prepared
    if run.dead is not None:
        status, values = _dead(run, run.dead)
    else:
        assert run.handler is not None
        try:
            async with session.begin_nested():
                await run.handler(_context(res, session, tenant_id, run, prepared), run.row, run.data)
        except Exception as exc:  # noqa: BLE001 - any handler failure is recorded and retried, never lost
            status, values = _failed(res, run, exc)
        else:
            status, values = _done()
            chaos.point("after_provider_before_commit", run.topic)  # off unless tests/chaos set it
    await _finish(session, row_id, **values)
    await _push_siblings(session, run, values)
    return _count(run, status)


async def _process_single_writer(res: Resources, tenant_id: uuid.UUID, row_id: uuid.UUID) -> str | None:
    async with res.db.tenant_session(tenant_id, write=False) as reader:
        row = await _load(reader, row_id, lock=False)
    if row is None or row.status != OutboxStatus.DISPATCHED:
        return _status(row, tenant_id, row_id)
    run = _prepare(res, row)
    prepared = await _prepare_outside(res, tenant_id, run)
    async with res.db.tenant_session(tenant_id, write=True) as session:
        if run.dead is not None:
            status, values = _dead(run, run.dead)
        else:
            assert run.handler is not None
            try:
                # No transaction yet: the handler's first statement begins it (and takes the write lock).
                await run.handler(_context(res, session, tenant_id, run, prepared), row, run.data)
            except Exception as exc:  # noqa: BLE001 - any handler failure is recorded and retried, never lost
                await session.rollback()
                status, values = _failed(res, run, exc)
            else:
                status, values = _done()
        current = await session.scalar(select(OutboxRow.status).where(OutboxRow.id == row_id))
        if current != OutboxStatus.DISPATCHED:
            # Another run of this row finished first: its outcome stands, ours is discarded.
            await session.rollback()
            return current
        await _finish(session, row_id, **values)
        await _push_siblings(session, run, values)
        await session.commit()
        return _count(run, status)


async def _push_siblings(session: AsyncSession, run: _Run, values: dict[str, Any]) -> None:
    """RetryLater(topic_prefix=): the tenant's other pending rows for that provider wait as well."""
    prefix = run.retry_prefix
    if not prefix:
        return
    at = values["available_at"]
    await session.execute(
        update(OutboxRow)
        .where(
            OutboxRow.status == OutboxStatus.PENDING,
            OutboxRow.topic.startswith(prefix, autoescape=True),
            OutboxRow.available_at < at,
        )
        .values(available_at=at)
    )


def _status(row: OutboxRow | None, tenant_id: uuid.UUID, row_id: uuid.UUID) -> str | None:
    if row is None:
        log.warning("outbox row %s of tenant %s is gone", row_id, tenant_id)
        return None
    return row.status
