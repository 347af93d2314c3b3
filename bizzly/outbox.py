"""The outbox writer and the inbox table: effects and webhooks that must not be lost.

An effect is written as an outbox row in the same transaction as the change that causes it; the relay in
``workers`` dispatches rows to Dramatiq and the actor marks them done. Webhooks are stored once in the inbox
(unique per tenant, source and external id) and processed from there: ``record_inbox`` also writes an
``inbox.process`` outbox row in the same transaction, whose handler (in ``workers``) dispatches the event
to the handler registered for its source (``bizzly.tasks.inbox_handler``).

Handlers signal how a failure should be retried by raising ``RetryLater`` or ``PermanentFailure``; they live
here so that every layer can raise them without importing ``workers``.
"""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Index,
    Integer,
    String,
    Text,
    TextClause,
    UniqueConstraint,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from bizzly import clock
from bizzly.crypto import KeyRing
from bizzly.db.base import Base, TenantScoped
from bizzly.db.tenancy import session_tenant
from bizzly.ids import new_id

INBOX_TOPIC = "inbox.process"


class RetryLater(Exception):
    """Raised by a handler to run the row again at ``at`` without using up an attempt (vendor rate
    limits: HTTP 429, Meta 130429/131056, HubSpot's ten-second window).

    ``topic_prefix`` (e.g. ``"hubspot."``) pushes every other pending row of the same tenant whose topic
    starts with it to ``at`` as well: the limit is the tenant's with that provider, and other tenants are
    not slowed."""

    def __init__(
        self, at: datetime, reason: str = "rate limited", *, topic_prefix: str | None = None
    ) -> None:
        super().__init__(reason)
        self.at = at
        self.reason = reason
        self.topic_prefix = topic_prefix


class PermanentFailure(Exception):
    """Raised by a handler when retrying cannot help (bad payload, revoked connection): the row is dead.
    ``reason`` is stored as the row's last error, so it must not contain secrets or personal data."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class OutboxStatus(StrEnum):
    PENDING = "pending"
    DISPATCHED = "dispatched"
    DONE = "done"
    DEAD = "dead"


class OutboxRow(TenantScoped, Base):
    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "available_at"),
        UniqueConstraint("tenant_id", "dedupe_key"),
    )

    topic: Mapped[str] = mapped_column(String(80))
    # Plain JSON, or (when ``encrypted``) a key-ring ciphertext of it: codes and personal data in flight.
    payload: Mapped[str] = mapped_column(Text)
    encrypted: Mapped[bool] = mapped_column(default=False)
    dedupe_key: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    available_at: Mapped[datetime] = mapped_column(default=clock.now)
    dispatched_at: Mapped[datetime | None]
    done_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)

    def data(self, keys: KeyRing) -> dict[str, Any]:
        raw = keys.decrypt(self.payload) if self.encrypted else self.payload
        value = json.loads(raw)
        assert isinstance(value, dict)
        return value


class InboxEvent(TenantScoped, Base):
    __tablename__ = "inbox"
    __table_args__ = (UniqueConstraint("tenant_id", "source", "external_id"),)

    source: Mapped[str] = mapped_column(String(40))
    external_id: Mapped[str] = mapped_column(String(255))
    payload: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(default=clock.now)
    processed_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


async def add_outbox(
    session: AsyncSession,
    *,
    topic: str,
    payload: dict[str, Any],
    keys: KeyRing | None = None,
    available_at: datetime | None = None,
    dedupe_key: str | None = None,
    tenant_id: uuid.UUID | None = None,
) -> OutboxRow:
    """Write one effect in the caller's transaction. Pass ``keys`` to encrypt the payload at rest.

    ``tenant_id`` is needed only on a maintenance session (bound to no tenant, e.g. a periodic job fanning
    out work); a tenant session stamps its own tenant."""
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True)
    row = OutboxRow(
        id=new_id(),
        topic=topic,
        payload=keys.encrypt(body) if keys else body,
        encrypted=keys is not None,
        dedupe_key=dedupe_key,
        available_at=available_at or clock.now(),
    )
    if tenant_id is not None:
        row.tenant_id = tenant_id
    session.add(row)
    return row


async def add_outbox_once(
    session: AsyncSession,
    *,
    topic: str,
    payload: dict[str, Any],
    dedupe_key: str,
    tenant_id: uuid.UUID | None = None,
) -> bool:
    """``add_outbox`` for a row that may exist already (same tenant and ``dedupe_key``): nothing is written
    then, and the transaction goes on. Returns whether the row was written. Plain JSON payloads only."""
    tenant = tenant_id or session_tenant(session.sync_session)
    if tenant is None:
        raise RuntimeError("add_outbox_once needs a tenant (a tenant session, or tenant_id=)")
    now = clock.now()
    values = {
        "tenant_id": tenant,
        "id": new_id(),
        "topic": topic,
        "payload": json.dumps(payload, separators=(",", ":"), sort_keys=True),
        "encrypted": False,
        "dedupe_key": dedupe_key,
        "status": OutboxStatus.PENDING,
        "attempts": 0,
        "available_at": now,
        "created_at": now,
    }
    insert_ = postgresql.insert if _dialect(session) == "postgresql" else sqlite.insert
    stmt = insert_(OutboxRow).values(values).on_conflict_do_nothing().returning(OutboxRow.id)
    return (await session.execute(stmt)).scalar_one_or_none() is not None


async def wake_earliest_parked(session: AsyncSession, *, topic: str) -> None:
    """The tenant's longest-parked pending row of ``topic`` (one set to run later by ``RetryLater``) is due
    now: one row, for one freed resource (a model slot)."""
    tenant_id = session_tenant(session.sync_session)
    now = clock.now()
    parked = (
        select(OutboxRow.id)
        .where(
            OutboxRow.tenant_id == tenant_id,
            OutboxRow.topic == topic,
            OutboxRow.status == OutboxStatus.PENDING,
            OutboxRow.available_at > now,
        )
        .order_by(OutboxRow.available_at)
        .limit(1)
        .scalar_subquery()
    )
    await session.execute(
        update(OutboxRow)
        .where(OutboxRow.tenant_id == tenant_id, OutboxRow.id == parked)
        .values(available_at=now)
        .execution_options(synchronize_session=False)
    )


def _dialect(session: AsyncSession) -> str:
    return session.bind.dialect.name if session.bind is not None else "sqlite"


async def record_inbox(
    session: AsyncSession, *, source: str, external_id: str, payload: str
) -> uuid.UUID | None:
    """Store a webhook event once, with its ``inbox.process`` outbox row in the same transaction.

    Returns the new row's id, or None for a duplicate delivery (which queues nothing)."""
    stored = await record_inbox_batch(session, source=source, events=[(external_id, payload)])
    return stored[0] if stored else None


async def record_inbox_batch(
    session: AsyncSession, *, source: str, events: Sequence[tuple[str, str]]
) -> list[uuid.UUID]:
    """Store webhook events ``(external_id, payload)`` once each, with their ``inbox.process`` outbox rows,
    in the caller's transaction; returns the ids of the new inbox rows (duplicates queue nothing).

    The webhook's hot path, so Core statements (no ORM unit of work): on PostgreSQL one statement, whose
    first part inserts the inbox rows and whose second inserts an outbox row for each row the first
    stored; on SQLite (no data-modifying ``WITH``) an insert of each kind."""
    tenant = session_tenant(session.sync_session)
    if tenant is None:
        raise RuntimeError("record_inbox needs a tenant-bound session")
    if not events:
        return []
    now = clock.now()
    # Outbox ids are made here, beside their inbox ids, so the rows come out time-ordered like the events.
    ids = [(new_id(), new_id()) for _ in events]
    inbox_rows = [
        {
            "tenant_id": tenant,
            "id": inbox_id,
            "source": source,
            "external_id": external_id,
            "payload": payload,
            "received_at": now,
        }
        for (inbox_id, _), (external_id, payload) in zip(ids, events, strict=True)
    ]
    if _dialect(session) == "postgresql":
        return await _record_inbox_pg(session, tenant, inbox_rows, ids, now)
    stmt = sqlite.insert(InboxEvent).values(inbox_rows).on_conflict_do_nothing()
    inserted = set((await session.execute(stmt.returning(InboxEvent.id))).scalars())
    stored = [inbox_id for inbox_id, _ in ids if inbox_id in inserted]
    outbox_of = dict(ids)
    if stored:
        await session.execute(
            insert(OutboxRow).values([_inbox_outbox_row(tenant, i, outbox_of[i], now) for i in stored])
        )
    return stored


def _inbox_outbox_row(
    tenant: uuid.UUID, inbox_id: uuid.UUID, outbox_id: uuid.UUID, now: datetime
) -> dict[str, Any]:
    return {
        "tenant_id": tenant,
        "id": outbox_id,
        "topic": INBOX_TOPIC,
        "payload": _inbox_payload(inbox_id),
        "encrypted": False,
        "dedupe_key": f"inbox:{inbox_id}",
        "status": OutboxStatus.PENDING,
        "attempts": 0,
        "available_at": now,
        "created_at": now,
    }


def _inbox_payload(inbox_id: uuid.UUID) -> str:
    # What add_outbox would write for {"inbox_id": ...}.
    return json.dumps({"inbox_id": str(inbox_id)}, separators=(",", ":"), sort_keys=True)


async def _record_inbox_pg(
    session: AsyncSession,
    tenant: uuid.UUID,
    inbox_rows: list[dict[str, Any]],
    ids: list[tuple[uuid.UUID, uuid.UUID]],
    now: datetime,
) -> list[uuid.UUID]:
    # Plain SQL text: its compiled form is cached by its text (one per batch size), where a Core statement
    # carrying a VALUES list of data is compiled anew for every request (a third of the webhook's CPU).
    params: dict[str, Any] = {"tenant": tenant, "source": inbox_rows[0]["source"], "now": now}
    for n, (row, (inbox_id, outbox_id)) in enumerate(zip(inbox_rows, ids, strict=True)):
        params.update(
            {
                f"i{n}": inbox_id,
                f"e{n}": row["external_id"],
                f"p{n}": row["payload"],
                f"o{n}": outbox_id,
                f"op{n}": _inbox_payload(inbox_id),
                f"d{n}": f"inbox:{inbox_id}",
            }
        )
    done = (await session.execute(_inbox_statement(len(ids)), params)).scalars().all()
    inserted = {uuid.UUID(str(key).removeprefix("inbox:")) for key in done}
    return [inbox_id for inbox_id, _ in ids if inbox_id in inserted]


@functools.lru_cache(maxsize=64)
def _inbox_statement(size: int) -> TextClause:
    inbox = ", ".join(f"(:tenant, :i{n}, :source, :e{n}, :p{n}, :now)" for n in range(size))
    wanted = ", ".join(f"(CAST(:i{n} AS uuid), CAST(:o{n} AS uuid), :op{n}, :d{n})" for n in range(size))
    return text(
        f"""WITH stored AS (
            INSERT INTO inbox (tenant_id, id, source, external_id, payload, received_at)
            VALUES {inbox}
            ON CONFLICT DO NOTHING
            RETURNING id
        )
        INSERT INTO outbox (tenant_id, id, topic, payload, encrypted, dedupe_key, status, attempts,
                            available_at, created_at)
        SELECT :tenant, w.outbox_id, '{INBOX_TOPIC}', w.payload, false, w.dedupe_key,
               '{OutboxStatus.PENDING.value}', 0, :now, :now
        FROM (VALUES {wanted}) AS w (inbox_id, outbox_id, payload, dedupe_key)
        JOIN stored ON stored.id = w.inbox_id
        RETURNING dedupe_key"""
    )
