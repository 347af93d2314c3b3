"""The HubSpot → Bizzly sync's own table: one row per run, holding its checkpoint and its counts."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bizzly import clock
from bizzly.db.base import Base, TenantScoped


class RunKind(StrEnum):
    FULL = "full"  # every contact, by the list endpoint (no 10,000 cap)
    INCREMENTAL = "incremental"  # contacts modified in [window_from, window_to), by search


class RunState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class Phase(StrEnum):
    LIVE = "live"  # contacts that exist
    ARCHIVED = "archived"  # deleted (archived) and merged-away contacts


class HubSpotSyncRun(TenantScoped, Base):
    """One sync run of a portal. Each page is imported in the same transaction that moves ``checkpoint``
    and queues the next page, so a worker killed mid-page re-runs that page only (see ``sync``)."""

    __tablename__ = "hubspot_sync_runs"
    __table_args__ = (
        Index("ix_hubspot_sync_runs_tenant_connection", "tenant_id", "connection_id", "created_at"),
    )

    connection_id: Mapped[uuid.UUID] = mapped_column()
    portal_id: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))
    trigger: Mapped[str] = mapped_column(String(16))  # "schedule" | "manual"
    state: Mapped[str] = mapped_column(String(16), default=RunState.QUEUED.value)
    phase: Mapped[str] = mapped_column(String(16), default=Phase.LIVE.value)
    # Incremental window in HubSpot's lastmodifieddate (ms epoch); a full run's window_to is its start, so
    # the next incremental run begins where the full one began (changes made during it are not lost).
    window_from_ms: Mapped[int | None] = mapped_column(BigInteger)
    window_to_ms: Mapped[int] = mapped_column(BigInteger)
    # Where the next page starts: the list's ``after`` cursor, or the last hs_object_id of a search.
    checkpoint: Mapped[str | None] = mapped_column(String(64))
    pages: Mapped[int] = mapped_column(Integer, default=0)
    read: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    linked: Mapped[int] = mapped_column(Integer, default=0)
    archived: Mapped[int] = mapped_column(Integer, default=0)
    merged: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)  # erased people (tombstoned): never imported
    failed: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
