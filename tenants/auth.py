"""Turning a bearer token into a principal, checking that its log-in session and membership still exist."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bizzly.db.engine import Database
from tenants.models import AuthSession, Membership, StaffRole, SubjectKind
from tenants.principal import Principal
from tenants.tokens import AccessTokens, TokenError

# Checks that a customer account still exists. The customers context lives above this layer, so the
# composition (graphql_api.context) passes its function in.
CustomerCheck = Callable[[AsyncSession, uuid.UUID], Awaitable[bool]]


async def resolve_principal(
    db: Database, tokens: AccessTokens, token: str, *, customer_exists: CustomerCheck | None = None
) -> Principal:
    claims = tokens.verify(token)
    async with db.tenant_session(claims.tenant_id, write=False) as session:
        auth = await session.get(AuthSession, claims.session_id)
        if (
            auth is None
            or auth.revoked_at is not None
            or auth.subject_id != claims.subject_id
            or auth.subject_kind != claims.kind.value
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
        elif customer_exists is not None and not await customer_exists(session, claims.subject_id):
            raise TokenError("revoked")
    return Principal(
        kind=claims.kind,
        subject_id=claims.subject_id,
        tenant_id=claims.tenant_id,
        role=role,
        session_id=claims.session_id,
    )
