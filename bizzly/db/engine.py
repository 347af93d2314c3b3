"""Engines for the app and maintenance roles, and the session factories built on them.

An engine belongs to one event loop; ``Database`` is created per loop (web server, each worker loop).
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool

from bizzly.db.tenancy import SYSTEM_KEY, TENANT_KEY, BizzlySession
from bizzly.settings import Settings

SQLITE_BUSY_TIMEOUT_MS = 15_000


class MaintenanceUse(StrEnum):
    """Every use of the maintenance role (BYPASSRLS), named in one place so it can be audited."""

    LOGIN = "login across memberships"
    SIGNUP = "create a tenant and its owner"
    PASSWORD_RESET = "mail a staff member's reset link under a tenant of theirs"
    WEBHOOK_ROUTING = "route a webhook to its tenant by an external id"
    OUTBOX_RELAY = "dispatch outbox rows of every tenant"
    SCHEDULER = "fire periodic work for every tenant"
    RETENTION = "purge expired data of every tenant"
    HEALTH = "readiness probe"
    DEMO = "seed the demo business"
    TESTS = "test set-up and assertions across tenants"


def _sqlite_pragmas(engine: AsyncEngine, *, foreign_keys: bool) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, record: Any) -> None:
        # Let SQLAlchemy (not the driver) issue BEGIN, so writers can take the lock up front.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        # Off only for migrations: SQLite batch migrations copy tables and would trip the checks.
        cur.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # BEGIN IMMEDIATE for writers avoids the deadlock of two readers upgrading to writers at once.
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


def make_engine(
    url: str, *, pool_size: int = 10, null_pool: bool = False, foreign_keys: bool = True
) -> AsyncEngine:
    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    elif null_pool:
        kwargs["poolclass"] = NullPool
    else:
        kwargs["pool_size"] = pool_size
        kwargs["max_overflow"] = pool_size
        kwargs["pool_pre_ping"] = True
    engine = create_async_engine(url, **kwargs)
    if url.startswith("sqlite"):
        _sqlite_pragmas(engine, foreign_keys=foreign_keys)
    return engine


class Database:
    """The app engine (requests, under RLS) and the maintenance engine (named cross-tenant work)."""

    def __init__(self, settings: Settings, *, null_pool: bool = False) -> None:
        self.settings = settings
        self.app_engine = make_engine(
            settings.database_url, pool_size=settings.database_pool_size, null_pool=null_pool
        )
        if settings.maintenance_database_url == settings.database_url:
            self.maintenance_engine = self.app_engine
        else:
            self.maintenance_engine = make_engine(
                settings.maintenance_database_url, pool_size=2, null_pool=null_pool
            )

    @property
    def dialect(self) -> str:
        return self.app_engine.dialect.name

    def _session(self, engine: AsyncEngine, *, write: bool, info: dict[str, Any]) -> AsyncSession:
        bind = engine.execution_options(sqlite_begin="IMMEDIATE") if write else engine
        return AsyncSession(
            bind=bind,
            sync_session_class=BizzlySession,
            expire_on_commit=False,
            autoflush=True,
            info=info,
        )

    def tenant_session(self, tenant_id: uuid.UUID, *, write: bool = True) -> AsyncSession:
        """A session whose every statement is bound to one tenant (all three walls apply)."""
        return self._session(self.app_engine, write=write, info={TENANT_KEY: tenant_id})

    def public_session(self, *, write: bool = False) -> AsyncSession:
        """A session bound to no tenant: system tables only; touching tenant data raises."""
        return self._session(self.app_engine, write=write, info={})

    def maintenance_session(self, use: MaintenanceUse, *, write: bool = True) -> AsyncSession:
        """Cross-tenant work on the maintenance role; ``use`` names why (see MaintenanceUse)."""
        return self._session(self.maintenance_engine, write=write, info={SYSTEM_KEY: use})

    async def dispose(self) -> None:
        await self.app_engine.dispose()
        if self.maintenance_engine is not self.app_engine:
            await self.maintenance_engine.dispose()
