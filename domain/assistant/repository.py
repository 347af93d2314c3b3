"""SQL for the assistant's tables, built on a tenant-bound session (every statement is tenant-scoped)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bizzly.db.paging import Page, PageRequest, keyset_page
from bizzly.db.tenancy import session_tenant
from domain.assistant.models import (
    AssistantModelConfig,
    AssistantSession,
    AuthEvent,
    ConversationState,
    VerificationCode,
    WhatsAppOptOut,
)


class AssistantStore:
    def __init__(self, session: AsyncSession) -> None:
        tenant = session_tenant(session.sync_session)
        if tenant is None:
            raise RuntimeError("the assistant needs a tenant-bound session")
        self.session = session
        self.tenant_id = tenant

    # --- the tenant's model ---------------------------------------------------------------------------

    async def model_config(self) -> AssistantModelConfig | None:
        stmt = select(AssistantModelConfig).where(AssistantModelConfig.tenant_id == self.tenant_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    def add_model_config(self, row: AssistantModelConfig) -> None:
        self.session.add(row)

    async def remove_model_config(self) -> None:
        await self.session.execute(
            delete(AssistantModelConfig).where(AssistantModelConfig.tenant_id == self.tenant_id)
        )

    # --- conversation state ---------------------------------------------------------------------------

    async def state_row(self, user_key: str) -> ConversationState | None:
        """Locked (PostgreSQL) for the rest of the transaction: one person's messages are handled one at a
        time, so counters and issuance limits are not raced by two deliveries at once."""
        stmt = (
            select(ConversationState)
            .where(ConversationState.tenant_id == self.tenant_id, ConversationState.user_key == user_key)
            .with_for_update()
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def save_state(
        self, user_key: str, state: dict[str, Any], *, expires_at: datetime, now: datetime
    ) -> None:
        row = await self.state_row(user_key)
        body = json.dumps(state, separators=(",", ":"), sort_keys=True)
        if row is None:
            self.session.add(
                ConversationState(
                    tenant_id=self.tenant_id,
                    user_key=user_key,
                    state=body,
                    expires_at=expires_at,
                    updated_at=now,
                )
            )
        elif row.state != body or row.expires_at != expires_at:
            row.state = body
            row.expires_at = expires_at
            row.updated_at = now
        await self.session.flush()

    async def clear_state(self, user_key: str) -> None:
        await self.session.execute(
            delete(ConversationState).where(
                ConversationState.tenant_id == self.tenant_id, ConversationState.user_key == user_key
            )
        )

    # --- codes ----------------------------------------------------------------------------------------

    def add_code(self, code: VerificationCode) -> None:
        code.tenant_id = self.tenant_id
        self.session.add(code)

    async def live_code(self, user_key: str) -> VerificationCode | None:
        """The newest code not used and not dead (it may have expired), locked for the attempt."""
        stmt = (
            select(VerificationCode)
            .where(
                VerificationCode.tenant_id == self.tenant_id,
                VerificationCode.user_key == user_key,
                VerificationCode.used_at.is_(None),
                VerificationCode.dead_at.is_(None),
            )
            .order_by(VerificationCode.created_at.desc(), VerificationCode.id.desc())
            .limit(1)
            .with_for_update()
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def kill_codes(self, user_key: str, *, at: datetime) -> None:
        await self.session.execute(
            update(VerificationCode)
            .where(
                VerificationCode.tenant_id == self.tenant_id,
                VerificationCode.user_key == user_key,
                VerificationCode.used_at.is_(None),
                VerificationCode.dead_at.is_(None),
            )
            .values(dead_at=at)
            .execution_options(synchronize_session="fetch")
        )

    async def codes_since(
        self, since: datetime, *, user_key: str | None = None
    ) -> tuple[int, datetime | None]:
        """How many codes were issued since ``since`` (for one user, or the whole tenant), and the oldest."""
        stmt = select(func.count(), func.min(VerificationCode.created_at)).where(
            VerificationCode.tenant_id == self.tenant_id, VerificationCode.created_at > since
        )
        if user_key is not None:
            stmt = stmt.where(VerificationCode.user_key == user_key)
        count, oldest = (await self.session.execute(stmt)).one()
        return int(count), oldest

    # --- sessions -------------------------------------------------------------------------------------

    def add_session(self, row: AssistantSession) -> None:
        row.tenant_id = self.tenant_id
        self.session.add(row)

    async def latest_session(self, user_key: str) -> AssistantSession | None:
        stmt = (
            select(AssistantSession)
            .where(AssistantSession.tenant_id == self.tenant_id, AssistantSession.user_key == user_key)
            .order_by(AssistantSession.started_at.desc(), AssistantSession.id.desc())
            .limit(1)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    # --- auth events ----------------------------------------------------------------------------------

    def add_event(self, event: AuthEvent) -> None:
        event.tenant_id = self.tenant_id
        self.session.add(event)

    async def events_page(self, page: PageRequest) -> Page[AuthEvent]:
        base = select(AuthEvent).where(AuthEvent.tenant_id == self.tenant_id)
        return await keyset_page(
            self.session,
            base,
            order=[(AuthEvent.created_at, True), (AuthEvent.id, True)],
            page=page,
            with_total=True,
        )

    async def events_by_ids(self, ids: Sequence[uuid.UUID]) -> list[AuthEvent]:
        if not ids:
            return []
        stmt = select(AuthEvent).where(AuthEvent.tenant_id == self.tenant_id, AuthEvent.id.in_(list(ids)))
        return list((await self.session.execute(stmt)).scalars())

    # --- opt-out --------------------------------------------------------------------------------------

    async def opt_out_row(self, user_key: str) -> WhatsAppOptOut | None:
        stmt = select(WhatsAppOptOut).where(
            WhatsAppOptOut.tenant_id == self.tenant_id, WhatsAppOptOut.user_key == user_key
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    def add_opt_out(self, row: WhatsAppOptOut) -> None:
        row.tenant_id = self.tenant_id
        self.session.add(row)

    async def remove_opt_out(self, user_key: str) -> None:
        await self.session.execute(
            delete(WhatsAppOptOut).where(
                WhatsAppOptOut.tenant_id == self.tenant_id, WhatsAppOptOut.user_key == user_key
            )
        )

    # --- retention ------------------------------------------------------------------------------------

    async def purge(self, *, now: datetime, marker_ttl: timedelta, code_ttl: timedelta) -> int:
        """Delete expired states, codes past their life, and sessions (with their expired markers) that
        ended or expired more than ``marker_ttl`` ago. Returns how many rows went."""
        statements = [
            delete(ConversationState).where(
                ConversationState.tenant_id == self.tenant_id, ConversationState.expires_at <= now
            ),
            # Codes are kept for the issuance window after they expire (they count towards the limit).
            delete(VerificationCode).where(
                VerificationCode.tenant_id == self.tenant_id, VerificationCode.expires_at <= now - code_ttl
            ),
            delete(AssistantSession).where(
                AssistantSession.tenant_id == self.tenant_id,
                func.coalesce(AssistantSession.ended_at, AssistantSession.expires_at) <= now - marker_ttl,
                AssistantSession.expires_at <= now - marker_ttl,
            ),
        ]
        total = 0
        for stmt in statements:
            result = await self.session.execute(stmt.execution_options(synchronize_session=False))
            total += int(getattr(result, "rowcount", 0) or 0)
        return total
