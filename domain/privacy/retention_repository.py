"""SQL of retention: delete one tenant's expired rows one bounded batch at a time.

Each call deletes at most ``limit`` rows chosen by primary key; the caller commits between calls, so no
purge ever holds one long transaction. On PostgreSQL the batch is chosen ``FOR UPDATE SKIP LOCKED``: two
purges running at once take different rows instead of waiting on (or failing over) each other.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from bizzly.db.tenancy import session_tenant
from bizzly.outbox import InboxEvent
from domain.assistant.models import AssistantSession, AuthEvent, ConversationState, VerificationCode
from domain.conversations.models import Message


async def tenants_with_expired(
    session: AsyncSession,
    *,
    messages_before: datetime,
    events_before: datetime,
    states_before: datetime,
    codes_before: datetime,
    sessions_before: datetime,
) -> list[uuid.UUID]:
    """The tenants with something to purge (a maintenance session: the scheduler fans retention out per
    tenant). Between hourly runs that is an hour's worth of newly expired rows, so these scans stay short."""
    queries = [
        select(Message.tenant_id).where(Message.created_at < messages_before),
        select(InboxEvent.tenant_id).where(InboxEvent.received_at < messages_before),
        select(AuthEvent.tenant_id).where(AuthEvent.created_at < events_before),
        select(ConversationState.tenant_id).where(ConversationState.expires_at <= states_before),
        select(VerificationCode.tenant_id).where(VerificationCode.expires_at <= codes_before),
        select(AssistantSession.tenant_id).where(
            func.coalesce(AssistantSession.ended_at, AssistantSession.expires_at) <= sessions_before,
            AssistantSession.expires_at <= sessions_before,
        ),
    ]
    found: set[uuid.UUID] = set()
    for query in queries:
        found |= set((await session.execute(query.distinct())).scalars())
    return sorted(found)


async def _delete_batch(
    session: AsyncSession,
    model: Any,
    stamp: InstrumentedAttribute[datetime],
    *,
    before: datetime,
    limit: int,
) -> int:
    tenant = session_tenant(session.sync_session)
    if tenant is None:
        raise RuntimeError("retention needs a tenant-bound session")
    pick = (
        select(model.id)
        .where(model.tenant_id == tenant, stamp < before)
        .order_by(stamp, model.id)
        .limit(limit)
    )
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    ids = list((await session.execute(pick)).scalars())
    if not ids:
        return 0
    result = await session.execute(
        delete(model)
        .where(model.tenant_id == tenant, model.id.in_(ids))
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def delete_messages_before(session: AsyncSession, *, before: datetime, limit: int) -> int:
    return await _delete_batch(session, Message, Message.created_at, before=before, limit=limit)


async def delete_inbox_before(session: AsyncSession, *, before: datetime, limit: int) -> int:
    return await _delete_batch(session, InboxEvent, InboxEvent.received_at, before=before, limit=limit)


async def delete_auth_events_before(session: AsyncSession, *, before: datetime, limit: int) -> int:
    return await _delete_batch(session, AuthEvent, AuthEvent.created_at, before=before, limit=limit)
