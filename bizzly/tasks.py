"""What background work exists: outbox topic handlers, inbox source handlers and periodic jobs.

The layer that owns the work registers it here (the kernel, so ``domain`` and ``integrations`` can do so
without importing ``workers``); ``workers`` runs it. A module that registers work is listed in
``bizzly.wiring`` so that every process (web, worker, scheduler) imports it.

Outbox handler -- runs once per outbox row, in a tenant-bound session whose transaction also marks the row
done (so the handler's own rows are written exactly once; calls to providers are at least once)::

    @outbox_handler("whatsapp.send")
    async def send(ctx: TaskContext, row: OutboxRow, data: dict[str, Any]) -> None: ...

A handler that must wait on a slow provider (a tenant's language model) registers ``prepare=`` too: it runs
first, outside any database transaction and with no session (reads go through ``ctx.db``), and what it
returns is the handler's ``ctx.prepared``; the row is then checked again and the handler applies the result
in the row's transaction. A preparer never raises: it returns whatever the handler needs to decide::

    @outbox_handler("assistant.model_turn", prepare=ask_the_model)
    async def apply(ctx: TaskContext, row: OutboxRow, data: dict[str, Any]) -> None: ...  # ctx.prepared

Raise ``RetryLater(at, reason, topic_prefix="hubspot.")`` to run again later without using an attempt
(rate limits; ``topic_prefix`` holds the tenant's other pending rows for that provider too),
``PermanentFailure(reason)`` when retrying cannot help; any other exception is retried with exponential
backoff until ``BIZZLY_OUTBOX_MAX_ATTEMPTS``. On any of them the handler's own writes are rolled back.
Handlers never commit: the worker owns the transaction.

Inbox handler -- runs once per stored webhook event of its source (``record_inbox``)::

    @inbox_handler("meta")
    async def on_meta(ctx: TaskContext, event: InboxEvent) -> None: ...

Periodic job -- fired once per tick (``every``) by one scheduler, in a maintenance session whose transaction
also records the tick; keep it short and fan work out as outbox rows (``add_outbox(..., tenant_id=)``)::

    @periodic("notifications.reminders", every=timedelta(minutes=5))
    async def reminders(ctx: JobContext) -> None: ...
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from bizzly.crypto import KeyRing
from bizzly.db.engine import Database
from bizzly.outbox import InboxEvent, OutboxRow, PermanentFailure, RetryLater
from bizzly.ports import Mailer
from bizzly.settings import Settings

__all__ = [
    "InboxHandler",
    "Job",
    "JobContext",
    "OutboxHandler",
    "OutboxPreparer",
    "PermanentFailure",
    "RetryLater",
    "TaskContext",
    "WorkContext",
    "inbox_handler",
    "outbox_handler",
    "periodic",
]

T = TypeVar("T")


@dataclass(kw_only=True)
class WorkContext:
    """What a preparer gets (no session: it runs outside any transaction) and the base of TaskContext."""

    tenant_id: uuid.UUID
    row_id: uuid.UUID
    # 1 on the first run; rate-limit retries (RetryLater) do not count.
    attempt: int
    settings: Settings
    keys: KeyRing
    db: Database
    mailer: Mailer
    # Per event loop: clients a handler wants to reuse across rows (closed with the loop if they have
    # ``aclose``). Use ``shared``.
    state: dict[str, Any] = field(default_factory=dict)

    def shared(self, key: str, factory: Callable[[], T]) -> T:
        """One object per worker event loop (an HTTP client, say), made on first use."""
        if key not in self.state:
            self.state[key] = factory()
        value: T = self.state[key]
        return value


@dataclass(kw_only=True)
class TaskContext(WorkContext):
    """What a handler gets: the open tenant session and the long-lived objects of its event loop."""

    session: AsyncSession
    # What the topic's preparer returned (None without one).
    prepared: Any = None


@dataclass
class JobContext:
    """What a periodic job gets: a maintenance session in the transaction that records the tick."""

    session: AsyncSession
    tick: datetime
    settings: Settings
    keys: KeyRing
    db: Database
    _after_commit: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    def after_commit(self, callback: Callable[[], Awaitable[None]]) -> None:
        """Run ``callback`` once the tick's transaction has committed (skipped if it rolls back)."""
        self._after_commit.append(callback)


OutboxHandler = Callable[[TaskContext, OutboxRow, dict[str, Any]], Awaitable[None]]
OutboxPreparer = Callable[[WorkContext, dict[str, Any]], Awaitable[Any]]
InboxHandler = Callable[[TaskContext, InboxEvent], Awaitable[None]]
JobFunction = Callable[[JobContext], Awaitable[None]]


@dataclass(frozen=True)
class Job:
    name: str
    every: timedelta
    run: JobFunction


_outbox: dict[str, OutboxHandler] = {}
_preparers: dict[str, OutboxPreparer] = {}
_inbox: dict[str, InboxHandler] = {}
_jobs: dict[str, Job] = {}


def _register(registry: dict[str, Any], kind: str, key: str, value: Any, same: Callable[[Any], bool]) -> None:
    existing = registry.get(key)
    if existing is not None and not same(existing):
        raise ValueError(f"{kind} {key!r} is already registered")
    registry[key] = value


def _same_function(a: Any, b: Any) -> bool:
    # A module imported twice (tests, reloads) re-registers an equal function: that is no conflict.
    return bool(a is b or (a.__module__, a.__qualname__) == (b.__module__, b.__qualname__))


def outbox_handler(
    topic: str, *, prepare: OutboxPreparer | None = None
) -> Callable[[OutboxHandler], OutboxHandler]:
    def register(fn: OutboxHandler) -> OutboxHandler:
        _register(_outbox, "outbox topic", topic, fn, lambda old: _same_function(old, fn))
        if prepare is not None:
            _preparers[topic] = prepare
        return fn

    return register


def inbox_handler(source: str) -> Callable[[InboxHandler], InboxHandler]:
    def register(fn: InboxHandler) -> InboxHandler:
        _register(_inbox, "inbox source", source, fn, lambda old: _same_function(old, fn))
        return fn

    return register


def periodic(name: str, *, every: timedelta) -> Callable[[JobFunction], JobFunction]:
    if every <= timedelta(0):
        raise ValueError("a periodic job needs a positive interval")

    def register(fn: JobFunction) -> JobFunction:
        job = Job(name=name, every=every, run=fn)
        _register(_jobs, "periodic job", name, job, lambda old: _same_function(old.run, fn))
        return fn

    return register


def get_outbox_handler(topic: str) -> OutboxHandler | None:
    return _outbox.get(topic)


def get_outbox_preparer(topic: str) -> OutboxPreparer | None:
    return _preparers.get(topic)


def get_inbox_handler(source: str) -> InboxHandler | None:
    return _inbox.get(source)


def periodic_jobs() -> list[Job]:
    return sorted(_jobs.values(), key=lambda j: j.name)


def unregister(*, topic: str | None = None, source: str | None = None, job: str | None = None) -> None:
    """Remove a registration (tests register throw-away handlers)."""
    if topic is not None:
        _outbox.pop(topic, None)
        _preparers.pop(topic, None)
    if source is not None:
        _inbox.pop(source, None)
    if job is not None:
        _jobs.pop(job, None)
