"""The one password log-in and the one password-reset flow, for staff users and website customers alike.

Who the account is differs (a staff ``User`` across businesses, a ``Customer`` of one business), so the
caller passes how to find it; the rules are here once: the throttle (``tenants/throttle.py``), the same
answer for a wrong email and a wrong password, rehashing an old hash, and for resets the hourly cap, one
live link at a time, and a strong new password.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Generic, Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from bizzly import clock
from bizzly.crypto import KeyRing, random_token, token_hash
from bizzly.errors import DomainError, ErrorCode, Invalid
from bizzly.ids import new_id
from bizzly.settings import Settings
from tenants import passwords
from tenants.models import ActionKind, ActionToken
from tenants.repository import ActionTokens
from tenants.throttle import LoginThrottle

T = TypeVar("T")

BAD_CREDENTIALS = "The email or password is not right."
# Reset emails one account may receive in an hour (further requests answer the same and send nothing):
# anyone can ask for a reset of any address, and the cap keeps that from flooding the person's inbox.
RESET_EMAILS_PER_HOUR = 3


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """A result, or a refusal whose side effects (failure count, revocation) the caller must commit.
    ``delay``: seconds the caller waits, after committing, before it answers (an account under attack is
    slowed down this way; waiting outside the transaction holds no database connection)."""

    value: T | None = None
    error: DomainError | None = None
    delay: float = 0.0


class HasPassword(Protocol):
    password_hash: str | None


A = TypeVar("A", bound=HasPassword)


async def check_password(
    session: AsyncSession,
    *,
    settings: Settings,
    keys: KeyRing,
    purpose: str,
    scope: str,
    email_key: str,
    password: str,
    client_ip: str,
    find: Callable[[str], Awaitable[A | None]],
) -> Outcome[A]:
    """The account with this email and password, throttled; the refusal is *returned* so the caller
    commits the failure count, then waits ``Outcome.delay``. ``find`` looks the account up by its
    normalised email."""
    throttle = LoginThrottle(
        session,
        settings=settings,
        keys=keys,
        purpose=purpose,
        scope=scope,
        email=email_key,
        client_ip=client_ip,
    )
    verdict = await throttle.verdict()
    if verdict.refusal is not None:
        return Outcome(error=verdict.refusal)
    # The account guessed at from many addresses is slowed down (``delay``), no one is locked out.
    account = await find(email_key) if email_key else None
    if account is None or not await passwords.verify_password(account.password_hash, password):
        await throttle.failed()
        error = DomainError(ErrorCode.INVALID_CREDENTIALS, BAD_CREDENTIALS)
        return Outcome(error=error, delay=verdict.delay)
    await throttle.succeeded()
    if account.password_hash and passwords.needs_rehash(account.password_hash):
        account.password_hash = await passwords.hash_password(password)
    return Outcome(value=account, delay=verdict.delay)


# --- emailed single-use links --------------------------------------------------------------------------


def issue_action_token(
    session: AsyncSession,
    *,
    kind: ActionKind,
    tenant_id: uuid.UUID | None,
    subject_id: uuid.UUID,
    ttl: timedelta,
) -> str:
    """A single-use link token; only its hash is stored. Returns the plaintext to put in the email."""
    token = random_token()
    ActionTokens(session).add(
        ActionToken(
            id=new_id(),
            kind=kind.value,
            token_hash=token_hash(token),
            tenant_id=tenant_id,
            subject_id=subject_id,
            expires_at=clock.now() + ttl,
        )
    )
    return token


async def issue_reset_link(
    session: AsyncSession,
    *,
    settings: Settings,
    kind: ActionKind,
    tenant_id: uuid.UUID,
    subject_id: uuid.UUID,
) -> str | None:
    """A new reset token for an account (older links stop working), or None past the hourly cap (the
    caller then sends nothing and answers as usual)."""
    now = clock.now()
    links = ActionTokens(session)
    sent = await links.issued_since(kind=kind.value, subject_id=subject_id, since=now - timedelta(hours=1))
    if sent >= RESET_EMAILS_PER_HOUR:
        return None
    await links.retire(kind=kind.value, subject_id=subject_id, at=now)
    return issue_action_token(
        session,
        kind=kind,
        tenant_id=tenant_id,
        subject_id=subject_id,
        ttl=timedelta(minutes=settings.password_reset_ttl_minutes),
    )


async def use_reset_link(
    session: AsyncSession, *, kind: ActionKind, token: str, password: str
) -> ActionToken:
    """Check the new password, then use the link once; the caller sets the hash on the account it names."""
    passwords.check_strength(password)
    return await consume_action_token(session, token=token, kind=kind)


async def consume_action_token(session: AsyncSession, *, token: str, kind: ActionKind) -> ActionToken:
    """Use a link token once; unknown, used, expired or of another kind is refused on field ``token``."""
    repo = ActionTokens(session)
    row = await repo.by_hash(token_hash(token))
    if row is None or row.kind != kind.value or row.used_at is not None:
        raise Invalid("This link is not valid or was already used. Ask for a new one.", field="token")
    now = clock.now()
    if row.expires_at <= now:
        raise DomainError(ErrorCode.EXPIRED, "This link has expired. Ask for a new one.", field="token")
    if not await repo.mark_used(row.id, now):
        raise Invalid("This link was already used. Ask for a new one.", field="token")
    return row
