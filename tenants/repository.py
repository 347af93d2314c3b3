"""SQL for tenants, users, memberships and the auth records (sessions, refresh and action tokens, failures).

Tenants, users, sessions and tokens are system tables (see ``RLS_EXEMPT`` and docs/design.md section 3);
memberships are tenant data, so ``Memberships`` is built on a tenant-bound session, except the one read
across tenants that log-in needs (``memberships_of_user``, on the maintenance session).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from bizzly.db.paging import Page, PageRequest, keyset_page
from tenants.models import (
    ActionToken,
    AuthSession,
    LoginFailure,
    Membership,
    RefreshToken,
    StaffInvitation,
    StaffRole,
    Tenant,
    User,
)


class TenantDirectory:
    """Reads of the tenants table (a system table: no tenant wall applies to it)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def id_for_slug(self, slug: str) -> uuid.UUID | None:
        stmt = select(Tenant.id).where(Tenant.slug == slug.strip().lower())
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def get(self, tenant_id: uuid.UUID) -> Tenant | None:
        return await self.session.get(Tenant, tenant_id)

    async def by_slug(self, slug: str) -> Tenant | None:
        stmt = select(Tenant).where(Tenant.slug == slug.strip().lower())
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def slug_taken(self, slug: str) -> bool:
        stmt = select(func.count()).select_from(Tenant).where(Tenant.slug == slug)
        return bool((await self.session.execute(stmt)).scalar_one())

    def add(self, tenant: Tenant) -> None:
        self.session.add(tenant)


class Users:
    """Staff users (a system table: one user may belong to several tenants)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, user_id: uuid.UUID) -> User | None:
        return await self.session.get(User, user_id)

    async def by_email(self, email: str) -> User | None:
        stmt = select(User).where(User.email == email)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def by_ids(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, User]:
        if not ids:
            return {}
        rows = (await self.session.execute(select(User).where(User.id.in_(set(ids))))).scalars()
        return {u.id: u for u in rows}

    def add(self, user: User) -> None:
        self.session.add(user)


class Memberships:
    """Memberships of the session's tenant (the ORM net and RLS keep other tenants out)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, member_id: uuid.UUID) -> Membership | None:
        stmt = select(Membership).where(Membership.id == member_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def of_user(self, user_id: uuid.UUID) -> Membership | None:
        stmt = select(Membership).where(Membership.user_id == user_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def by_ids(self, ids: Sequence[uuid.UUID]) -> list[Membership]:
        if not ids:
            return []
        return list(
            (await self.session.execute(select(Membership).where(Membership.id.in_(set(ids))))).scalars()
        )

    async def of_users(self, user_ids: Sequence[uuid.UUID]) -> list[Membership]:
        if not user_ids:
            return []
        stmt = select(Membership).where(Membership.user_id.in_(set(user_ids)))
        return list((await self.session.execute(stmt)).scalars())

    async def count_role(self, role: StaffRole, *, lock: bool = False) -> int:
        """How many members hold ``role``. ``lock`` holds those rows until the transaction ends, so two
        owners demoting each other at once cannot both see the other one still there (PostgreSQL;
        SQLite's writers are serialised by BEGIN IMMEDIATE already)."""
        stmt = select(Membership.id).where(Membership.role == role.value)
        if lock:
            stmt = stmt.with_for_update()
        return len((await self.session.execute(stmt)).all())

    async def page(self, request: PageRequest) -> Page[Membership]:
        return await keyset_page(
            self.session, select(Membership), order=[(Membership.id, False)], page=request, with_total=True
        )

    def add(self, membership: Membership) -> None:
        self.session.add(membership)

    async def remove(self, membership: Membership) -> None:
        await self.session.delete(membership)


class Invitations:
    """Pending and accepted staff invitations of the session's tenant."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, invitation: StaffInvitation) -> None:
        self.session.add(invitation)

    async def get(self, invitation_id: uuid.UUID) -> StaffInvitation | None:
        stmt = select(StaffInvitation).where(StaffInvitation.id == invitation_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def pending_for(self, email: str) -> list[StaffInvitation]:
        stmt = select(StaffInvitation).where(
            StaffInvitation.email == email, StaffInvitation.accepted_at.is_(None)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def pending(self, now: datetime, *, limit: int) -> list[StaffInvitation]:
        """Invitations not accepted and not expired, oldest first."""
        stmt = (
            select(StaffInvitation)
            .where(StaffInvitation.accepted_at.is_(None), StaffInvitation.expires_at > now)
            .order_by(StaffInvitation.created_at, StaffInvitation.id)
            .limit(limit)
        )
        return list((await self.session.execute(stmt)).scalars())


async def memberships_of_user(session: AsyncSession, user_id: uuid.UUID) -> list[tuple[Membership, Tenant]]:
    """Every tenant a user belongs to, oldest membership first (maintenance session: crosses tenants)."""
    stmt = (
        select(Membership, Tenant)
        .join(Tenant, Tenant.id == Membership.tenant_id)
        .where(Membership.user_id == user_id)
        .order_by(Membership.created_at, Membership.id)
    )
    return [(m, t) for m, t in (await session.execute(stmt)).all()]


class AuthSessions:
    """Log-in sessions (refresh-token families) and their refresh tokens."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, session_id: uuid.UUID) -> AuthSession | None:
        return await self.session.get(AuthSession, session_id)

    def add(self, auth: AuthSession, refresh: RefreshToken) -> None:
        self.session.add(auth)
        self.session.add(refresh)

    def add_refresh(self, refresh: RefreshToken) -> None:
        self.session.add(refresh)

    async def refresh_by_hash(self, digest: str) -> RefreshToken | None:
        stmt = select(RefreshToken).where(RefreshToken.token_hash == digest)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def mark_refresh_used(self, refresh_id: uuid.UUID, at: datetime) -> bool:
        """Use a refresh token once: False when it was already used (a concurrent or replayed use)."""
        stmt = (
            update(RefreshToken)
            .where(RefreshToken.id == refresh_id, RefreshToken.used_at.is_(None))
            .values(used_at=at)
            .execution_options(synchronize_session=False)
        )
        result = await self.session.execute(stmt)
        assert isinstance(result, CursorResult)
        return result.rowcount == 1

    async def revoke(self, session_id: uuid.UUID, *, at: datetime, reason: str) -> None:
        stmt = (
            update(AuthSession)
            .where(AuthSession.id == session_id, AuthSession.revoked_at.is_(None))
            .values(revoked_at=at, revoked_reason=reason)
            .execution_options(synchronize_session=False)
        )
        await self.session.execute(stmt)

    async def revoke_subject(
        self,
        *,
        kind: str,
        subject_id: uuid.UUID,
        at: datetime,
        reason: str,
        tenant_id: uuid.UUID | None = None,
    ) -> None:
        """End every open session of one subject (in one tenant, or everywhere)."""
        stmt = update(AuthSession).where(
            AuthSession.subject_kind == kind,
            AuthSession.subject_id == subject_id,
            AuthSession.revoked_at.is_(None),
        )
        if tenant_id is not None:
            stmt = stmt.where(AuthSession.tenant_id == tenant_id)
        await self.session.execute(
            stmt.values(revoked_at=at, revoked_reason=reason).execution_options(synchronize_session=False)
        )


class ActionTokens:
    """Single-use emailed links (invitations, password resets), stored as hashes."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, token: ActionToken) -> None:
        self.session.add(token)

    async def by_hash(self, digest: str) -> ActionToken | None:
        stmt = select(ActionToken).where(ActionToken.token_hash == digest)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def mark_used(self, token_id: uuid.UUID, at: datetime) -> bool:
        stmt = (
            update(ActionToken)
            .where(ActionToken.id == token_id, ActionToken.used_at.is_(None))
            .values(used_at=at)
            .execution_options(synchronize_session=False)
        )
        result = await self.session.execute(stmt)
        assert isinstance(result, CursorResult)
        return result.rowcount == 1

    async def issued_since(self, *, kind: str, subject_id: uuid.UUID, since: datetime) -> int:
        stmt = select(func.count()).where(
            ActionToken.kind == kind, ActionToken.subject_id == subject_id, ActionToken.created_at > since
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def retire(self, *, kind: str, subject_id: uuid.UUID, at: datetime) -> None:
        """Mark every open token of one kind for one subject used (a newer link replaces older ones)."""
        stmt = (
            update(ActionToken)
            .where(
                ActionToken.kind == kind,
                ActionToken.subject_id == subject_id,
                ActionToken.used_at.is_(None),
            )
            .values(used_at=at)
            .execution_options(synchronize_session=False)
        )
        await self.session.execute(stmt)


class LoginFailures:
    """Failed log-ins per key (a digest of the email, or the client address) for throttling."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def recent(self, keys: Sequence[str], since: datetime) -> tuple[int, datetime | None]:
        """How many failures ``keys`` had since ``since``, and the oldest of them."""
        stmt = select(func.count(), func.min(LoginFailure.at)).where(
            LoginFailure.key.in_(list(keys)), LoginFailure.at > since
        )
        count, oldest = (await self.session.execute(stmt)).one()
        return int(count), oldest

    def add(self, key: str, at: datetime) -> None:
        self.session.add(LoginFailure(key=key, at=at))

    async def forget(self, keys: Sequence[str], *, before: datetime | None = None) -> None:
        """Drop failures of ``keys`` (all of them, or only those older than ``before``)."""
        stmt = delete(LoginFailure).where(LoginFailure.key.in_(list(keys)))
        if before is not None:
            stmt = stmt.where(LoginFailure.at <= before)
        await self.session.execute(stmt.execution_options(synchronize_session=False))
