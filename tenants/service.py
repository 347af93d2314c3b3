"""The accounts rules: sign-up, log-in (with throttling), refresh-token rotation, log-out, staff members and
their roles, invitations, password resets and tenant settings.

Services take keyword-only arguments and never commit: the caller owns the transaction. The few refusals
that must still leave a trace (a failed log-in is counted; a replayed refresh token revokes its family) are
*returned* as ``Outcome.error`` rather than raised, so the caller commits that trace and then reports them.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial
from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bizzly import clock
from bizzly.crypto import KeyRing, random_token, token_hash
from bizzly.db.paging import Page, PageRequest
from bizzly.errors import Conflict, DomainError, ErrorCode, Forbidden, Invalid, NotFound
from bizzly.ids import new_id
from bizzly.settings import Settings
from tenants import mail, passwords, validation
from tenants.credentials import (
    BAD_CREDENTIALS,
    Outcome,
    check_password,
    consume_action_token,
    issue_action_token,
    issue_reset_link,
    use_reset_link,
)
from tenants.models import (
    ActionKind,
    AuthSession,
    Membership,
    RefreshToken,
    StaffInvitation,
    StaffRole,
    SubjectKind,
    Tenant,
    User,
)
from tenants.permissions import can_manage_member
from tenants.principal import Principal
from tenants.repository import (
    ActionTokens,
    AuthSessions,
    Invitations,
    Memberships,
    TenantDirectory,
    Users,
    memberships_of_user,
)
from tenants.tokens import AccessClaims, AccessTokens
from tenants.validation import Problems

T = TypeVar("T")

_LOGIN_DIGEST = "login-failure"
MAX_CLOSED_DATES = 1000


@dataclass(frozen=True)
class IssuedTokens:
    access_token: str
    refresh_token: str
    session_id: uuid.UUID
    tenant_id: uuid.UUID
    subject_id: uuid.UUID
    kind: SubjectKind


@dataclass(frozen=True)
class SignedUp:
    tenant: Tenant
    user: User
    membership: Membership
    tokens: IssuedTokens


@dataclass(frozen=True)
class LoggedIn:
    tenant: Tenant
    user: User
    tokens: IssuedTokens


@dataclass(frozen=True)
class ActionTarget:
    """What an emailed link is for (read before the tenant is known, to pick the session and the flow)."""

    kind: ActionKind
    tenant_id: uuid.UUID | None
    subject_id: uuid.UUID


class _Keep:
    """Marks a setting the caller did not send (left unchanged)."""

    def __repr__(self) -> str:
        return "KEEP"


KEEP = _Keep()


@dataclass(frozen=True)
class SettingsChanges:
    """Tenant settings to change; a field left at KEEP is unchanged, ``closed_dates=None`` clears them."""

    name: str | None | _Keep = KEEP
    timezone: str | None | _Keep = KEEP
    default_region: str | None | _Keep = KEEP
    cancellation_cutoff_hours: int | None | _Keep = KEEP
    minimum_notice_minutes: int | None | _Keep = KEEP
    slot_step_minutes: int | None | _Keep = KEEP
    closed_dates: list[date] | None | _Keep = KEEP


# --- sessions and refresh tokens ---------------------------------------------------------------------


def _refresh_row(settings: Settings, session_id: uuid.UUID) -> tuple[str, RefreshToken]:
    token = random_token()
    row = RefreshToken(
        id=new_id(),
        session_id=session_id,
        token_hash=token_hash(token),
        expires_at=clock.now() + timedelta(days=settings.refresh_token_ttl_days),
    )
    return token, row


def _access_token(tokens: AccessTokens, auth: AuthSession) -> str:
    return tokens.issue(
        AccessClaims(
            kind=SubjectKind(auth.subject_kind),
            subject_id=auth.subject_id,
            tenant_id=auth.tenant_id,
            session_id=auth.id,
        )
    )


def start_session(
    session: AsyncSession,
    *,
    tokens: AccessTokens,
    settings: Settings,
    tenant_id: uuid.UUID,
    kind: SubjectKind,
    subject_id: uuid.UUID,
) -> IssuedTokens:
    """Open a log-in session (a refresh-token family) for a staff user or a customer of one tenant."""
    auth = AuthSession(
        id=new_id(),
        tenant_id=tenant_id,
        subject_kind=kind.value,
        subject_id=subject_id,
        created_at=clock.now(),
    )
    refresh, row = _refresh_row(settings, auth.id)
    AuthSessions(session).add(auth, row)
    return IssuedTokens(
        access_token=_access_token(tokens, auth),
        refresh_token=refresh,
        session_id=auth.id,
        tenant_id=tenant_id,
        subject_id=subject_id,
        kind=kind,
    )


def _refused(reason: str, code: ErrorCode = ErrorCode.UNAUTHENTICATED) -> DomainError:
    return DomainError(code, f"This refresh token {reason}. Log in again.", field="refreshToken")


async def rotate_refresh_token(
    session: AsyncSession, *, tokens: AccessTokens, settings: Settings, refresh_token: str
) -> Outcome[IssuedTokens]:
    """Trade a refresh token for a new pair. A token used twice revokes its whole family (it was stolen
    or replayed), which the caller must commit before reporting the refusal."""
    repo = AuthSessions(session)
    now = clock.now()
    row = await repo.refresh_by_hash(token_hash(refresh_token))
    if row is None:
        return Outcome(error=_refused("is not valid"))
    auth = await repo.get(row.session_id)
    if auth is None or auth.revoked_at is not None:
        return Outcome(error=_refused("has been revoked"))
    if row.used_at is not None or not await repo.mark_refresh_used(row.id, now):
        await repo.revoke(auth.id, at=now, reason="refresh-reuse")
        return Outcome(error=_refused("was already used, so this log-in has been ended for safety"))
    if row.expires_at <= now:
        await repo.revoke(auth.id, at=now, reason="expired")
        return Outcome(error=_refused("has expired", ErrorCode.EXPIRED))
    refresh, new_row = _refresh_row(settings, auth.id)
    repo.add_refresh(new_row)
    return Outcome(
        value=IssuedTokens(
            access_token=_access_token(tokens, auth),
            refresh_token=refresh,
            session_id=auth.id,
            tenant_id=auth.tenant_id,
            subject_id=auth.subject_id,
            kind=SubjectKind(auth.subject_kind),
        )
    )


async def log_out(session: AsyncSession, *, refresh_token: str) -> AuthSession | None:
    """End the log-in the refresh token belongs to (staff or customer); its access tokens stop working
    at once. An unknown token changes nothing (the caller is logged out either way)."""
    repo = AuthSessions(session)
    row = await repo.refresh_by_hash(token_hash(refresh_token))
    if row is None:
        return None
    auth = await repo.get(row.session_id)
    if auth is None:
        return None
    await repo.revoke(auth.id, at=clock.now(), reason="logout")
    return auth


async def revoke_sessions(
    session: AsyncSession,
    *,
    kind: SubjectKind,
    subject_id: uuid.UUID,
    tenant_id: uuid.UUID | None,
    reason: str,
) -> None:
    """End every log-in of one staff user or customer (in one tenant, or everywhere when None)."""
    await AuthSessions(session).revoke_subject(
        kind=kind.value, subject_id=subject_id, tenant_id=tenant_id, at=clock.now(), reason=reason
    )


# --- emailed single-use links --------------------------------------------------------------------------


async def action_token_target(session: AsyncSession, *, token: str) -> ActionTarget | None:
    """What a link token is for, None for a token we never issued (read only). A used or expired token
    still names its target: ``consume_action_token`` then says why it cannot be used."""
    row = await ActionTokens(session).by_hash(token_hash(token))
    if row is None:
        return None
    try:
        kind = ActionKind(row.kind)
    except ValueError:
        return None
    return ActionTarget(kind=kind, tenant_id=row.tenant_id, subject_id=row.subject_id)


# --- sign-up and log-in -----------------------------------------------------------------------------------


async def _free_slug(directory: TenantDirectory, base: str) -> str | None:
    """``base`` or ``base-2``, ``base-3``... (for a slug derived from the business name)."""
    for n in range(1, 50):
        suffix = "" if n == 1 else f"-{n}"
        candidate = base[: validation.SLUG_MAX - len(suffix)].rstrip("-") + suffix
        try:
            candidate = validation.slug(candidate)
        except DomainError:
            continue
        if not await directory.slug_taken(candidate):
            return candidate
    return None


async def sign_up(
    session: AsyncSession,
    *,
    tokens: AccessTokens,
    settings: Settings,
    business_name: str,
    slug: str | None,
    timezone: str,
    default_region: str,
    name: str,
    email: str,
    password: str,
) -> SignedUp:
    """Create a tenant, its owner and the owner's first log-in (maintenance session: no tenant exists yet).

    The email must be new: sign-up creates an account; an existing user is added to another business by
    that business's owner instead."""
    problems = Problems()
    business = problems.check(
        lambda: validation.required_text(business_name, field="businessName", label="your business's name")
    )
    person = problems.check(lambda: validation.required_text(name, field="name", label="your name"))
    address = problems.check(lambda: validation.email(email))
    problems.check(lambda: passwords.check_strength(password))
    zone = problems.check(lambda: validation.timezone(timezone))
    region = problems.check(lambda: validation.region(default_region))
    chosen = problems.check(lambda: validation.slug(slug)) if slug is not None and slug.strip() else None
    problems.raise_if_any()
    assert business is not None
    assert person is not None
    assert address is not None
    assert zone is not None
    assert region is not None

    directory = TenantDirectory(session)
    users = Users(session)
    if await users.by_email(address) is not None:
        raise Conflict(
            "An account with this email already exists. Log in (or reset your password) instead.",
            field="email",
        )
    if chosen is not None:
        if await directory.slug_taken(chosen):
            raise Conflict(f"The web address {chosen!r} is taken. Choose another one.", field="slug")
        final_slug = chosen
    else:
        derived = validation.slug_from_name(business)
        found = await _free_slug(directory, derived) if len(derived) >= validation.SLUG_MIN else None
        if found is None:
            raise DomainError(
                ErrorCode.REQUIRED, "Choose a web address (slug) for your business.", field="slug"
            )
        final_slug = found

    tenant = Tenant(
        id=new_id(),
        name=business,
        slug=final_slug,
        timezone=zone,
        default_region=region,
        cancellation_cutoff_hours=24,
        minimum_notice_minutes=0,
        slot_step_minutes=15,
        closed_dates=[],
    )
    user = User(
        id=new_id(), email=address, name=person, password_hash=await passwords.hash_password(password)
    )
    # The maintenance session is bound to no tenant, so the membership names its tenant itself.
    membership = Membership(id=new_id(), tenant_id=tenant.id, user_id=user.id, role=StaffRole.OWNER.value)
    try:
        directory.add(tenant)
        users.add(user)
        # Memberships have no ORM relationship to order them by: the rows they point at go first.
        await session.flush()
        Memberships(session).add(membership)
        issued = start_session(
            session,
            tokens=tokens,
            settings=settings,
            tenant_id=tenant.id,
            kind=SubjectKind.STAFF,
            subject_id=user.id,
        )
        await session.flush()
    except IntegrityError as exc:
        # Another sign-up took the email or the address between our check and our insert.
        raise Conflict("This email or web address was just taken. Try again.") from exc
    return SignedUp(tenant=tenant, user=user, membership=membership, tokens=issued)


async def log_in(
    session: AsyncSession,
    *,
    tokens: AccessTokens,
    settings: Settings,
    keys: KeyRing,
    email: str,
    password: str,
    tenant_slug: str | None,
    client_ip: str,
) -> Outcome[LoggedIn]:
    """Staff log-in across memberships (maintenance session), through the one password flow of
    ``tenants.credentials`` (throttled per account and client, per client, and slowed per account).
    Whether the email or the password is wrong, the answer is the same."""
    try:
        address = validation.email(email)
    except DomainError:
        address = email.strip().lower()  # no such account; still counted and answered the same way
    checked = await check_password(
        session,
        settings=settings,
        keys=keys,
        purpose=_LOGIN_DIGEST,
        scope="email",
        email_key=address,
        password=password,
        client_ip=client_ip,
        find=Users(session).by_email,
    )
    if checked.value is None:
        return Outcome(error=checked.error, delay=checked.delay)
    user = checked.value

    tenants = await memberships_of_user(session, user.id)
    wanted = tenant_slug.strip().lower() if tenant_slug and tenant_slug.strip() else None
    if wanted is not None:
        tenants = [(m, t) for m, t in tenants if t.slug == wanted]
    if not tenants:
        return Outcome(error=DomainError(ErrorCode.INVALID_CREDENTIALS, BAD_CREDENTIALS), delay=checked.delay)
    if len(tenants) > 1:
        return Outcome(
            error=DomainError(
                ErrorCode.TENANT_REQUIRED,
                "You belong to several businesses: name the one to log in to.",
                field="tenantSlug",
            ),
            delay=checked.delay,
        )
    _, tenant = tenants[0]
    issued = start_session(
        session,
        tokens=tokens,
        settings=settings,
        tenant_id=tenant.id,
        kind=SubjectKind.STAFF,
        subject_id=user.id,
    )
    return Outcome(value=LoggedIn(tenant=tenant, user=user, tokens=issued), delay=checked.delay)


# --- staff members -----------------------------------------------------------------------------------------


def _staff_role(caller: Principal) -> StaffRole:
    if not caller.is_staff or caller.role is None or caller.tenant_id is None:
        raise Forbidden("Only the business's staff can do this.")
    return caller.role


async def add_staff_member(
    session: AsyncSession,
    *,
    keys: KeyRing,
    settings: Settings,
    caller: Principal,
    email: str,
    name: str,
    role: StaffRole,
) -> StaffInvitation:
    """Invite a person to the caller's business: a pending invitation and an emailed link, nothing else.
    No account is created or reserved and the person's own log-in is unchanged until they accept
    (``accept_invitation``). Inviting the same address again replaces the pending invitation."""
    actor = _staff_role(caller)
    assert caller.tenant_id is not None
    if not can_manage_member(actor, role):
        raise Forbidden(f"Your role ({actor.value}) can only add STAFF members.", field="role")
    problems = Problems()
    address = problems.check(lambda: validation.email(email))
    person = problems.check(lambda: validation.required_text(name, field="name", label="the person's name"))
    problems.raise_if_any()
    assert address is not None
    assert person is not None
    tenant = await TenantDirectory(session).get(caller.tenant_id)
    if tenant is None:
        raise NotFound("This business no longer exists.")

    user = await Users(session).by_email(address)
    if user is not None and await Memberships(session).of_user(user.id) is not None:
        raise Conflict("This person is already a member of your team.", field="email")
    invitations = Invitations(session)
    now = clock.now()
    hours = settings.invitation_ttl_hours
    for older in await invitations.pending_for(address):
        # Invited again (another role, or the mail was lost): only the newest invitation counts.
        older.expires_at = min(older.expires_at, now)
        await ActionTokens(session).retire(kind=ActionKind.INVITATION.value, subject_id=older.id, at=now)
    invitation = StaffInvitation(
        id=new_id(),
        email=address,
        name=person,
        role=role.value,
        invited_by=caller.subject_id,
        expires_at=now + timedelta(hours=hours),
    )
    invitations.add(invitation)
    token = issue_action_token(
        session,
        kind=ActionKind.INVITATION,
        tenant_id=tenant.id,
        subject_id=invitation.id,
        ttl=timedelta(hours=hours),
    )
    link = mail.dashboard_link(settings, "accept-invitation", token=token)
    subject, text = mail.invitation_text(
        name=person, business=tenant.name, link=link, hours=hours, has_account=user is not None
    )
    await mail.queue_email(session, keys=keys, to=address, subject=subject, text=text)
    await session.flush()
    return invitation


MAX_PENDING_SHOWN = 100


async def pending_invitations(session: AsyncSession) -> list[StaffInvitation]:
    """The session's tenant's invitations still waiting for an answer (a short list: at most 100)."""
    return await Invitations(session).pending(clock.now(), limit=MAX_PENDING_SHOWN)


async def withdraw_invitation(session: AsyncSession, *, caller: Principal, email: str) -> StaffInvitation:
    """Withdraw the pending invitation to ``email``: its link stops working. Admins withdraw STAFF ones."""
    actor = _staff_role(caller)
    address = validation.email(email)
    now = clock.now()
    found = [i for i in await Invitations(session).pending_for(address) if i.expires_at > now]
    if not found:
        raise NotFound("No pending invitation to this email.", field="email")
    for invitation in found:
        if not can_manage_member(actor, StaffRole(invitation.role)):
            raise Forbidden(f"Your role ({actor.value}) can only withdraw STAFF invitations.", field="email")
    for invitation in found:
        invitation.expires_at = now
        await ActionTokens(session).retire(kind=ActionKind.INVITATION.value, subject_id=invitation.id, at=now)
    await session.flush()
    return found[-1]


async def invitation_of_link(session: AsyncSession, *, token: str) -> StaffInvitation:
    """The pending invitation an invitation link is for (read only; a session of the link's tenant)."""
    row = await ActionTokens(session).by_hash(token_hash(token))
    invitation = None
    if row is not None and row.kind == ActionKind.INVITATION.value and row.used_at is None:
        invitation = await Invitations(session).get(row.subject_id)
    if row is None or invitation is None or invitation.accepted_at is not None:
        raise Invalid(
            "This invitation link is not valid or was already used. Ask for a new one.", field="token"
        )
    if row.expires_at <= clock.now() or invitation.expires_at <= clock.now():
        raise DomainError(ErrorCode.EXPIRED, "This invitation has expired. Ask for a new one.", field="token")
    return invitation


async def accept_invitation(
    session: AsyncSession,
    *,
    tokens: AccessTokens,
    settings: Settings,
    keys: KeyRing,
    token: str,
    password: str,
    client_ip: str,
) -> Outcome[IssuedTokens]:
    """Join the business that sent the link and log in to it (a session bound to that tenant).

    Someone who already has a Bizzly account confirms with its password (checked and throttled like a
    log-in: the refusal is returned so the caller commits the count); someone new chooses one, which
    creates their account now. The membership is made with the invited role; the link works once."""
    invitation = await invitation_of_link(session, token=token)
    users = Users(session)
    user = await users.by_email(invitation.email)
    if user is not None:
        checked = await check_password(
            session,
            settings=settings,
            keys=keys,
            purpose=_LOGIN_DIGEST,
            scope="email",
            email_key=invitation.email,
            password=password,
            client_ip=client_ip,
            find=users.by_email,
        )
        if checked.error is not None:
            return Outcome(error=checked.error, delay=checked.delay)
        if await Memberships(session).of_user(user.id) is not None:
            raise Conflict("You are already a member of this team. Log in instead.", field="token")
    else:
        passwords.check_strength(password)
        user = User(
            id=new_id(),
            email=invitation.email,
            name=invitation.name,
            password_hash=await passwords.hash_password(password),
        )
        users.add(user)
    await consume_action_token(session, token=token, kind=ActionKind.INVITATION)
    invitation.accepted_at = clock.now()
    try:
        await session.flush()  # the membership points at the user: insert it first
        Memberships(session).add(
            Membership(id=new_id(), tenant_id=invitation.tenant_id, user_id=user.id, role=invitation.role)
        )
        await session.flush()
    except IntegrityError as exc:
        # The address signed up, or the invitation was accepted, between our checks and our insert.
        raise Conflict("This invitation was just used. Log in, or ask for a new one.", field="token") from exc
    return Outcome(
        value=start_session(
            session,
            tokens=tokens,
            settings=settings,
            tenant_id=invitation.tenant_id,
            kind=SubjectKind.STAFF,
            subject_id=user.id,
        )
    )


async def request_password_reset(
    session: AsyncSession, *, keys: KeyRing, settings: Settings, email: str
) -> bool:
    """Mail a staff user a reset link when the account exists (maintenance session: the link and its
    email are filed under one of the user's businesses). Returns whether a mail was queued; callers
    answer the same either way so accounts cannot be discovered."""
    address = validation.email(email)
    user = await Users(session).by_email(address)
    if user is None:
        return False
    tenants = await memberships_of_user(session, user.id)
    if not tenants:
        return False
    _, tenant = tenants[0]
    token = await issue_reset_link(
        session,
        settings=settings,
        kind=ActionKind.STAFF_PASSWORD_RESET,
        tenant_id=tenant.id,
        subject_id=user.id,
    )
    if token is None:
        return False
    minutes = settings.password_reset_ttl_minutes
    link = mail.dashboard_link(settings, "reset-password", token=token)
    subject, text = mail.reset_text(name=user.name, link=link, minutes=minutes)
    await mail.queue_email(session, keys=keys, to=user.email, subject=subject, text=text, tenant_id=tenant.id)
    return True


async def reset_password(session: AsyncSession, *, token: str, password: str) -> User:
    """Set a staff user's new password from a reset link and end every log-in they have anywhere."""
    row = await use_reset_link(session, kind=ActionKind.STAFF_PASSWORD_RESET, token=token, password=password)
    user = await Users(session).get(row.subject_id)
    if user is None:
        raise Invalid("This link is not valid. Ask for a new one.", field="token")
    user.password_hash = await passwords.hash_password(password)
    await revoke_sessions(
        session, kind=SubjectKind.STAFF, subject_id=user.id, tenant_id=None, reason="password-reset"
    )
    return user


async def _managed_member(
    session: AsyncSession, caller: Principal, member_id: uuid.UUID
) -> tuple[StaffRole, Membership]:
    actor = _staff_role(caller)
    member = await Memberships(session).get(member_id)
    if member is None:
        raise NotFound("No team member with this id.", field="memberId")
    if not can_manage_member(actor, StaffRole(member.role)):
        raise Forbidden(f"Your role ({actor.value}) can only manage STAFF members.", field="memberId")
    return actor, member


async def _ensure_another_owner(session: AsyncSession, member: Membership, message: str) -> None:
    if member.role != StaffRole.OWNER.value:
        return
    if await Memberships(session).count_role(StaffRole.OWNER, lock=True) <= 1:
        raise Conflict(message, field="memberId")


@dataclass(frozen=True)
class RoleChange:
    member: Membership
    user: User
    previous: StaffRole


async def change_staff_role(
    session: AsyncSession, *, caller: Principal, member_id: uuid.UUID, role: StaffRole
) -> RoleChange:
    """Owners change anyone's role; admins only STAFF members, and only to STAFF. A business keeps at
    least one owner."""
    actor, member = await _managed_member(session, caller, member_id)
    if not can_manage_member(actor, role):
        raise Forbidden(f"Your role ({actor.value}) can only grant the STAFF role.", field="role")
    previous = StaffRole(member.role)
    if role is not previous:
        if role is not StaffRole.OWNER:
            await _ensure_another_owner(
                session, member, "A business needs an owner: make someone else owner first."
            )
        member.role = role.value
        await session.flush()
    user = await Users(session).get(member.user_id)
    if user is None:  # pragma: no cover - the foreign key keeps the user
        raise NotFound("No team member with this id.", field="memberId")
    return RoleChange(member=member, user=user, previous=previous)


async def remove_staff_member(
    session: AsyncSession, *, caller: Principal, member_id: uuid.UUID
) -> Membership:
    """Take a person off the team and end their log-ins to this business. The last owner stays."""
    _, member = await _managed_member(session, caller, member_id)
    await _ensure_another_owner(
        session, member, "The last owner cannot be removed: make someone else owner first."
    )
    await Memberships(session).remove(member)
    await revoke_sessions(
        session,
        kind=SubjectKind.STAFF,
        subject_id=member.user_id,
        tenant_id=member.tenant_id,
        reason="removed",
    )
    await session.flush()
    return member


async def staff_members(
    session: AsyncSession, *, request: PageRequest
) -> tuple[Page[Membership], dict[uuid.UUID, User]]:
    """One page of the session's tenant's team, with the users behind it (two queries, not one per row)."""
    page = await Memberships(session).page(request)
    users = await Users(session).by_ids([m.user_id for _, m in page.items])
    return page, users


async def get_tenant(session: AsyncSession, tenant_id: uuid.UUID) -> Tenant | None:
    return await TenantDirectory(session).get(tenant_id)


async def members_by_ids(
    session: AsyncSession, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, tuple[Membership, User]]:
    """Members of the session's tenant by membership id, with their users (others are left out)."""
    memberships = await Memberships(session).by_ids(ids)
    users = await Users(session).by_ids([m.user_id for m in memberships])
    return {m.id: (m, users[m.user_id]) for m in memberships if m.user_id in users}


async def team_users(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, User]:
    """Users by id, only those on the session's tenant's team (a user id reveals no one else)."""
    members = await Memberships(session).of_users(ids)
    return await Users(session).by_ids([m.user_id for m in members])


async def staff_actor(session: AsyncSession, caller: Principal) -> str:
    """The audit log's name for the caller: ``staff:<email>``, ``customer:<id>`` or ``system``."""
    if caller.is_staff and caller.subject_id is not None:
        user = await Users(session).get(caller.subject_id)
        return f"staff:{user.email}" if user else f"staff:{caller.subject_id}"
    if caller.is_customer and caller.subject_id is not None:
        return f"customer:{caller.subject_id}"
    return "system"


# --- tenant settings ---------------------------------------------------------------------------------------


def _needed(value: T | None, field: str, label: str) -> T:
    """An explicit null for a setting that cannot be empty."""
    if value is None:
        raise DomainError(ErrorCode.REQUIRED, f"{label} cannot be empty.", field=field)
    return value


def _bounded(value: int | None, *, field: str, low: int, high: int, label: str) -> int:
    return validation.int_range(_needed(value, field, label), field=field, low=low, high=high, label=label)


def _step(value: int | None) -> int:
    return validation.slot_step(_needed(value, "slotStepMinutes", "The slot step"))


async def update_tenant_settings(
    session: AsyncSession, *, tenant_id: uuid.UUID, changes: SettingsChanges
) -> tuple[Tenant, list[str]]:
    """Apply the sent settings (all checked before any is changed). Returns the tenant and the names of
    the settings that changed."""
    tenant = await TenantDirectory(session).get(tenant_id)
    if tenant is None:
        raise NotFound("This business no longer exists.")
    problems = Problems()
    updates: dict[str, object] = {}

    if not isinstance(changes.name, _Keep):
        value = changes.name
        updates["name"] = problems.check(
            lambda: validation.required_text(value, field="name", label="your business's name")
        )
    if not isinstance(changes.timezone, _Keep):
        tz = changes.timezone
        updates["timezone"] = problems.check(
            lambda: validation.timezone(_needed(tz, "timezone", "The time zone"))
        )
    if not isinstance(changes.default_region, _Keep):
        rg = changes.default_region
        updates["default_region"] = problems.check(
            lambda: validation.region(_needed(rg, "defaultRegion", "The country"))
        )
    for attr, fname, raw, low, high, label in (
        (
            "cancellation_cutoff_hours",
            "cancellationCutoffHours",
            changes.cancellation_cutoff_hours,
            0,
            720,
            "The cancellation cut-off (hours)",
        ),
        (
            "minimum_notice_minutes",
            "minimumNoticeMinutes",
            changes.minimum_notice_minutes,
            0,
            43200,
            "The minimum notice (minutes)",
        ),
    ):
        if not isinstance(raw, _Keep):
            updates[attr] = problems.check(
                partial(_bounded, raw, field=fname, low=low, high=high, label=label)
            )
    if not isinstance(changes.slot_step_minutes, _Keep):
        updates["slot_step_minutes"] = problems.check(partial(_step, changes.slot_step_minutes))
    if not isinstance(changes.closed_dates, _Keep):
        dates = sorted({d.isoformat() for d in changes.closed_dates or []})
        if len(dates) > MAX_CLOSED_DATES:
            problems.errors.append(
                Invalid(f"List at most {MAX_CLOSED_DATES} closed dates.", field="closedDates")
            )
        updates["closed_dates"] = dates
    problems.raise_if_any()

    changed = [attr for attr, value in updates.items() if getattr(tenant, attr) != value]
    for attr in changed:
        setattr(tenant, attr, updates[attr])
    await session.flush()
    return tenant, changed
