"""Turning a bearer token into a principal, checking that its log-in session and membership still exist."""

from __future__ import annotations

from sqlalchemy import select

from bizzly.db.engine import Database
from tenants.models import AuthSession, Membership, StaffRole, SubjectKind
from tenants.principal import Principal
from tenants.tokens import AccessTokens, TokenError


async def resolve_principal(db: Database, tokens: AccessTokens, token: str) -> Principal:
    claims = tokens.verify(token)
    async with db.tenant_session(claims.tenant_id, write=False) as session:
        auth = await session.get(AuthSession, claims.session_id)
        if (
            auth is None
            or auth.revoked_at is not None
            or auth.subject_id != claims.subject_id
            or auth.tenant_id != claims.tenant_id
        ):
            raise TokenError("revoked")
        role: StaffRole | None = None
        if claims.kind is SubjectKind.STAFF:
            stmt = select(Membership.role).where(Membership.user_id == claims.subject_id)
            found = (await session.execute(stmt)).scalar_one_or_none()
            if found is None:
                raise TokenError("revoked")
            role = StaffRole(found)
    return Principal(
        kind=claims.kind,
        subject_id=claims.subject_id,
        tenant_id=claims.tenant_id,
        role=role,
        session_id=claims.session_id,
    )
