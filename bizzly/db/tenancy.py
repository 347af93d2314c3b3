"""Walls two and three: the ORM safety net and the per-transaction PostgreSQL tenant setting.

Wall one (repositories built with a tenant id) lives in each repository; these listeners catch what a
repository forgets, and row-level security on PostgreSQL catches what the ORM cannot see (raw SQL).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction, with_loader_criteria

from bizzly.db.base import TenantScoped

TENANT_KEY = "tenant_id"
SYSTEM_KEY = "system_use"

# Tables that carry tenant_id but are not under row-level security, each with its reason. The RLS test
# asserts that every other table with tenant_id has RLS enabled and forced.
RLS_EXEMPT: dict[str, str] = {
    "auth_sessions": "refresh-token families are looked up by token hash before the tenant is known",
    "action_tokens": "invitation and reset links are looked up by token hash before the tenant is known",
    "connection_routes": "webhooks are routed to a tenant by a provider's external id before it is known",
}


class TenantRequired(RuntimeError):
    """A tenant-owned table was touched by a session bound to no tenant (a bug, never user input)."""


class CrossTenantWrite(RuntimeError):
    """A row of another tenant was about to be flushed (a bug, never user input)."""


class BizzlySession(Session):
    """The sync session behind every AsyncSession; the listeners below are registered on it."""


def session_tenant(session: Session) -> uuid.UUID | None:
    value = session.info.get(TENANT_KEY)
    return value if isinstance(value, uuid.UUID) else None


def _touches_tenant_tables(state: ORMExecuteState) -> bool:
    return any(issubclass(m.class_, TenantScoped) for m in state.all_mappers)


@event.listens_for(BizzlySession, "do_orm_execute")
def _scope_to_tenant(state: ORMExecuteState) -> None:
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if state.execution_options.get("include_all_tenants"):
        return
    tenant = session_tenant(state.session)
    if tenant is None:
        if state.session.info.get(SYSTEM_KEY) or not _touches_tenant_tables(state):
            return
        raise TenantRequired("a tenant-scoped query ran in a session bound to no tenant")
    state.statement = state.statement.options(
        with_loader_criteria(TenantScoped, lambda cls: cls.tenant_id == tenant, include_aliases=True)
    )


@event.listens_for(BizzlySession, "before_flush")
def _check_new_rows(session: Session, flush_context: Any, instances: Any) -> None:
    tenant = session_tenant(session)
    for obj in list(session.new) + list(session.dirty):
        if not isinstance(obj, TenantScoped):
            continue
        row_tenant = getattr(obj, "tenant_id", None)
        if row_tenant is None and tenant is not None:
            obj.tenant_id = tenant
            continue
        if tenant is None:
            if session.info.get(SYSTEM_KEY):
                continue
            raise TenantRequired(f"{type(obj).__name__} written by a session bound to no tenant")
        if row_tenant != tenant:
            raise CrossTenantWrite(f"{type(obj).__name__} of another tenant in this session")


@event.listens_for(BizzlySession, "after_begin")
def _set_pg_tenant(session: Session, transaction: SessionTransaction, connection: Connection) -> None:
    # Transaction-local (is_local=true): it vanishes at COMMIT/ROLLBACK, so a pooled connection never
    # carries one tenant's setting to the next user.
    if connection.dialect.name != "postgresql":
        return
    tenant = session_tenant(session)
    connection.execute(
        text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant) if tenant else ""}
    )
