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

import json
import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Index, Integer, String, Text, UniqueConstraint, insert
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


async def record_inbox(
    session: AsyncSession, *, source: str, external_id: str, payload: str
) -> uuid.UUID | None:
    """Store a webhook event once, with its ``inbox.process`` outbox row in the same transaction.

    Returns the new row's id, or None for a duplicate delivery (which queues nothing)."""
    tenant = session_tenant(session.sync_session)
    if tenant is None:
        raise RuntimeError("record_inbox needs a tenant-bound session")
    values = {
        "tenant_id": tenant,
        "id": new_id(),
        "source": source,
        "external_id": external_id,
        "payload": payload,
        "received_at": clock.now(),
    }
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    stmt: Any
    if dialect == "postgresql":
        stmt = postgresql.insert(InboxEvent).values(values).on_conflict_do_nothing()
    elif dialect == "sqlite":
        stmt = sqlite.insert(InboxEvent).values(values).on_conflict_do_nothing()
    else:  # pragma: no cover - only the two supported dialects
        stmt = insert(InboxEvent).values(values)
    result = await session.execute(stmt.returning(InboxEvent.id))
    inserted = result.scalar_one_or_none()
    if not isinstance(inserted, uuid.UUID):
        return None
    await add_outbox(
        session, topic=INBOX_TOPIC, payload={"inbox_id": str(inserted)}, dedupe_key=f"inbox:{inserted}"
    )
    return inserted
