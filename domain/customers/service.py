"""Customer accounts: staff create, edit, search and page through them; customers register, log in and
edit their own profile on the tenant's website.

Services take keyword-only arguments and never commit: the caller owns the transaction. Every change
writes an audit entry (``actor`` is ``staff:<email>``, ``customer:<id>``, ``whatsapp:<phone>`` or
``system``) and keeps the identity index and CRM links in step (``domain.identity.service.sync_customer``).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

from email_validator import EmailNotValidError, validate_email
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bizzly import clock
from bizzly.crypto import KeyRing
from bizzly.db.paging import Page, PageRequest
from bizzly.db.tenancy import session_tenant
from bizzly.errors import Conflict, DomainError, ErrorCode, Invalid, NotFound
from bizzly.ids import new_id
from bizzly.patch import UNSET  # re-exported: callers pass it for "unchanged"
from bizzly.settings import Settings
from domain.customers.models import Customer, PhoneProof
from domain.customers.repository import Customers
from domain.identity import service as identity
from domain.identity.phones import InvalidPhone, Phone, parse_optional_phone, parse_phone
from domain.leads import hooks as lead_hooks
from domain.privacy.audit import record
from tenants import passwords
from tenants.credentials import Outcome, check_password, issue_reset_link, use_reset_link
from tenants.mail import queue_email
from tenants.models import ActionKind, SubjectKind, Tenant
from tenants.repository import TenantDirectory
from tenants.service import IssuedTokens, revoke_sessions, start_session
from tenants.tokens import AccessTokens
from tenants.validation import Problems, required_text

EMAIL_MAX = 320
NAME_MAX = 200
SEARCH_MAX = 200


def customer_actor(customer_id: uuid.UUID) -> str:
    return f"customer:{customer_id}"


def record_by_customer(session: AsyncSession, *, customer_id: uuid.UUID, action: str) -> None:
    """Audit what a customer did to their own account (the same customer is actor and subject)."""
    record(
        session,
        actor=customer_actor(customer_id),
        action=action,
        subject_type="Customer",
        subject_id=customer_id,
    )


# --- input rules ----------------------------------------------------------------------------------------


def check_name(value: str | None, *, field: str = "name") -> str:
    return required_text(value, field=field, label="a name", max_length=NAME_MAX)


def check_email(value: str | None, *, field: str = "email") -> tuple[str, str]:
    """(the address as shown, its lower-cased key). Uniqueness per tenant is on the key."""
    candidate = (value or "").strip()
    if not candidate:
        raise DomainError(ErrorCode.REQUIRED, "Enter an email address.", field=field)
    if len(candidate) > EMAIL_MAX:
        raise Invalid(f"Use at most {EMAIL_MAX} characters for the email address.", field=field)
    try:
        checked = validate_email(candidate, check_deliverability=False)
    except EmailNotValidError as exc:
        raise Invalid(f"This email address is not valid: {exc}", field=field) from exc
    return checked.normalized, checked.normalized.lower()


def _phone(value: str | None, tenant: Tenant) -> Phone | None:
    return parse_optional_phone(value, tenant.default_region, field="phone")


def _check_tenant(session: AsyncSession, tenant: Tenant) -> None:
    if session_tenant(session.sync_session) != tenant.id:
        raise RuntimeError("the session is bound to another tenant than the one passed")


def _email_conflict(field: str = "email") -> Conflict:
    return Conflict("A customer with this email address already exists.", field=field)


async def _flush_new(session: AsyncSession) -> None:
    """Flush, turning a lost race on the unique email into the same user error as the pre-check."""
    try:
        await session.flush()
    except IntegrityError as exc:
        raise _email_conflict() from exc


# --- staff ----------------------------------------------------------------------------------------------


async def get_customer(session: AsyncSession, *, customer_id: uuid.UUID) -> Customer:
    customer = await Customers(session).get(customer_id)
    if customer is None:
        raise NotFound("No customer with this id.", field="id")
    return customer


async def create_customer(
    session: AsyncSession,
    *,
    tenant: Tenant,
    actor: str | None,
    name: str,
    email: str,
    phone: str | None = None,
    password_hash: str | None = None,
    action: str = "customer.created",
    phone_proof: PhoneProof | None = None,
) -> Customer:
    """A new account. Every input problem is reported at once; nothing is written on any of them.
    ``actor=None`` means the new customer themself (registration). ``phone_proof``: the phone is proven
    (staff entering it vouch for it); without it the phone is unproven until its owner proves it."""
    _check_tenant(session, tenant)
    problems = Problems()
    clean_name = problems.check(lambda: check_name(name))
    emails = problems.check(lambda: check_email(email))
    clean_phone = problems.check(lambda: _phone(phone, tenant))
    problems.raise_if_any()
    assert clean_name is not None
    assert emails is not None
    repo = Customers(session)
    if await repo.email_taken(emails[1]):
        raise _email_conflict()
    customer = Customer(
        tenant_id=tenant.id,
        id=new_id(),
        name=clean_name,
        email=emails[0],
        email_key=emails[1],
        phone_raw=clean_phone.raw if clean_phone else None,
        phone_e164=clean_phone.e164 if clean_phone else None,
        whatsapp_opted_out=False,
        password_hash=password_hash,
    )
    _set_phone_proof(customer, phone_proof)
    repo.add(customer)
    await _flush_new(session)
    await identity.sync_customer(session, customer)
    await lead_hooks.customer_changed(session, customer, created=True)
    record(
        session,
        actor=actor if actor is not None else customer_actor(customer.id),
        action=action,
        subject_type="Customer",
        subject_id=customer.id,
    )
    await session.flush()
    return customer


async def update_customer(
    session: AsyncSession,
    *,
    tenant: Tenant,
    actor: str,
    customer_id: uuid.UUID,
    name: str | None = UNSET,
    email: str | None = UNSET,
    phone: str | None = UNSET,
    action: str = "customer.updated",
    phone_proof: PhoneProof | None = None,
) -> Customer:
    """Change some fields: an omitted one (``UNSET``) is unchanged, ``phone=None`` clears the phone;
    name and email cannot be cleared. A changed phone is proven by ``phone_proof``, else unproven."""
    _check_tenant(session, tenant)
    customer = await get_customer(session, customer_id=customer_id)
    problems = Problems()
    clean_name = problems.check(lambda: check_name(name)) if name is not UNSET else None
    emails = problems.check(lambda: check_email(email)) if email is not UNSET else None
    clean_phone = problems.check(lambda: _phone(phone, tenant)) if phone is not UNSET else None
    problems.raise_if_any()
    changed: list[str] = []
    if emails is not None and emails[0] != customer.email:
        if emails[1] != customer.email_key and await Customers(session).email_taken(
            emails[1], except_id=customer.id
        ):
            raise _email_conflict()
        customer.email, customer.email_key = emails
        changed.append("email")
    if clean_name is not None and clean_name != customer.name:
        customer.name = clean_name
        changed.append("name")
    if phone is not UNSET:
        raw = clean_phone.raw if clean_phone else None
        e164 = clean_phone.e164 if clean_phone else None
        if (raw, e164) != (customer.phone_raw, customer.phone_e164):
            if e164 != customer.phone_e164:
                _set_phone_proof(customer, phone_proof)
            customer.phone_raw, customer.phone_e164 = raw, e164
            changed.append("phone")
    if not changed:
        return customer
    await _flush_new(session)
    await identity.sync_customer(session, customer)
    await lead_hooks.customer_changed(session, customer)
    record(
        session,
        actor=actor,
        action=action,
        subject_type="Customer",
        subject_id=customer.id,
        detail=",".join(changed),
    )
    await session.flush()
    return customer


def _set_phone_proof(customer: Customer, proof: PhoneProof | None) -> None:
    customer.phone_proven_at = clock.now() if proof is not None else None
    customer.phone_proven_by = proof.value if proof is not None else None


def _phone_query(text: str, tenant: Tenant) -> str | None:
    """The E.164 form of a search that looks like a phone (digits and phone punctuation only)."""
    if not re.fullmatch(r"[+\d\s().\-]+", text) or sum(ch.isdigit() for ch in text) < 6:
        return None
    try:
        return parse_phone(text, tenant.default_region).e164
    except InvalidPhone:
        return None


async def search_customers(
    session: AsyncSession, *, tenant: Tenant, search: str | None, page: PageRequest
) -> Page[Customer]:
    """Newest first. ``search`` matches name or email (substring, case-blind) or, when it reads as a
    phone in any common format, the normalised phone."""
    _check_tenant(session, tenant)
    text = (search or "").strip()
    if len(text) > SEARCH_MAX:
        raise Invalid(f"Search with at most {SEARCH_MAX} characters.", field="search")
    if not text:
        return await Customers(session).page(page)
    return await Customers(session).page(page, text=text, e164=_phone_query(text, tenant))


async def delete_customer(session: AsyncSession, *, customer_id: uuid.UUID, actor: str) -> None:
    """Remove an account: its phone leaves the index, its CRM contacts are unlinked, its log-ins end.

    (Erasure of everything else a customer owns is the privacy context's job; it calls this last.)
    """
    customer = await get_customer(session, customer_id=customer_id)
    await identity.forget_customer(session, customer.id)
    await revoke_sessions(
        session,
        kind=SubjectKind.CUSTOMER,
        subject_id=customer.id,
        tenant_id=customer.tenant_id,
        reason="customer-deleted",
    )
    await Customers(session).remove(customer)
    record(session, actor=actor, action="customer.deleted", subject_type="Customer", subject_id=customer.id)
    await session.flush()


async def set_whatsapp_opt_out(
    session: AsyncSession, *, customer_id: uuid.UUID, opted_out: bool, actor: str
) -> Customer:
    """The customer asked (or stopped asking) not to be messaged on WhatsApp."""
    customer = await get_customer(session, customer_id=customer_id)
    if customer.whatsapp_opted_out != opted_out:
        customer.whatsapp_opted_out = opted_out
        record(
            session,
            actor=actor,
            action="customer.whatsapp_opted_out" if opted_out else "customer.whatsapp_opted_in",
            subject_type="Customer",
            subject_id=customer.id,
        )
        await session.flush()
    return customer


async def record_meta_user_id(
    session: AsyncSession, *, customer_id: uuid.UUID, meta_user_id: str, actor: str
) -> Customer:
    """Remember Meta's business-scoped user id of a verified WhatsApp customer (a username may hide the
    phone), so the next conversation finds the account without one."""
    value = meta_user_id.strip()
    if not value or len(value) > 128:
        raise Invalid("A Meta user id has 1 to 128 characters.", field="metaUserId")
    customer = await get_customer(session, customer_id=customer_id)
    if customer.meta_user_id != value:
        customer.meta_user_id = value
        record(
            session,
            actor=actor,
            action="customer.meta_user_id_recorded",
            subject_type="Customer",
            subject_id=customer.id,
        )
        await session.flush()
    return customer


async def customer_by_meta_user_id(session: AsyncSession, *, meta_user_id: str) -> Customer | None:
    return await Customers(session).by_meta_user_id(meta_user_id.strip())


async def customers_by_ids(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Customer]:
    """One query for many ids (the API's DataLoader calls this); unknown ids are absent."""
    return await Customers(session).by_ids(ids)


async def current_tenant(session: AsyncSession) -> Tenant:
    """The tenant the session is bound to (services need its region and name)."""
    tenant_id = session_tenant(session.sync_session)
    tenant = await TenantDirectory(session).get(tenant_id) if tenant_id else None
    if tenant is None:
        raise NotFound("This business no longer exists.")
    return tenant


async def customer_exists(session: AsyncSession, customer_id: uuid.UUID) -> bool:
    """Used when a customer's access token is presented: a deleted account's tokens stop working."""
    return await Customers(session).get(customer_id) is not None


# --- the customer themself -------------------------------------------------------------------------------


async def update_my_profile(
    session: AsyncSession,
    *,
    tenant: Tenant,
    customer_id: uuid.UUID,
    name: str | None = UNSET,
    phone: str | None = UNSET,
) -> Customer:
    """A customer edits their own name and phone (``phone=None`` clears it)."""
    return await update_customer(
        session,
        tenant=tenant,
        actor=customer_actor(customer_id),
        customer_id=customer_id,
        name=name,
        phone=phone,
        action="customer.profile_updated",
    )


# --- website accounts: register, log in, password reset ----------------------------------------------------

_LOGIN_DIGEST = "customer-login-failure"


@dataclass(frozen=True)
class CustomerAuth:
    customer: Customer
    tokens: IssuedTokens


async def register_customer(
    session: AsyncSession,
    *,
    tenant: Tenant,
    tokens: AccessTokens,
    settings: Settings,
    name: str,
    email: str,
    password: str,
    phone: str | None = None,
) -> CustomerAuth:
    """A customer creates their account on the tenant's website and is logged in.

    An email that already has an account is refused (``CONFLICT``), even one staff created without a
    password: its owner proves the address with a password reset instead, so nobody can claim someone
    else's bookings by registering their email."""
    _check_tenant(session, tenant)
    problems = Problems()
    problems.check(lambda: check_name(name))
    emails = problems.check(lambda: check_email(email))
    problems.check(lambda: _phone(phone, tenant))
    problems.check(lambda: passwords.check_strength(password))
    problems.raise_if_any()
    assert emails is not None
    if await Customers(session).email_taken(emails[1]):
        raise Conflict(
            "An account with this email already exists. Log in, or reset your password to set one.",
            field="email",
        )
    customer = await create_customer(
        session,
        tenant=tenant,
        actor=None,  # the new customer themself
        name=name,
        email=email,
        phone=phone,
        password_hash=await passwords.hash_password(password),
        action="customer.registered",
    )
    issued = start_session(
        session,
        tokens=tokens,
        settings=settings,
        tenant_id=tenant.id,
        kind=SubjectKind.CUSTOMER,
        subject_id=customer.id,
    )
    return CustomerAuth(customer=customer, tokens=issued)


async def customer_log_in(
    session: AsyncSession,
    *,
    tenant: Tenant,
    tokens: AccessTokens,
    settings: Settings,
    keys: KeyRing,
    email: str,
    password: str,
    client_ip: str,
) -> Outcome[CustomerAuth]:
    """Log a customer in to one tenant's website. Failures are counted per (tenant, email) and per client
    address in a sliding window (the same limits as staff); the refusal is *returned* so the caller
    commits the count. A wrong email and a wrong password get the same answer."""
    _check_tenant(session, tenant)
    checked = await check_password(
        session,
        settings=settings,
        keys=keys,
        purpose=_LOGIN_DIGEST,
        scope=f"customer:{tenant.id}",
        email_key=email.strip().lower(),
        password=password,
        client_ip=client_ip,
        find=Customers(session).by_email_key,
    )
    if checked.value is None:
        return Outcome(error=checked.error, delay=checked.delay)
    customer = checked.value
    issued = start_session(
        session,
        tokens=tokens,
        settings=settings,
        tenant_id=tenant.id,
        kind=SubjectKind.CUSTOMER,
        subject_id=customer.id,
    )
    record_by_customer(session, customer_id=customer.id, action="customer.logged_in")
    return Outcome(value=CustomerAuth(customer=customer, tokens=issued), delay=checked.delay)


def _reset_link(settings: Settings, tenant: Tenant, token: str) -> str:
    # The tenant's website is not known to the backend: the link points at Bizzly's public address under
    # the tenant's slug, which the website (or a redirect) serves.
    return f"{settings.public_url.rstrip('/')}/t/{tenant.slug}/reset-password?{urlencode({'token': token})}"


async def request_password_reset(
    session: AsyncSession, *, keys: KeyRing, settings: Settings, email: str
) -> None:
    """Mail a reset link to the customer with this email on the session's tenant, when there is one.

    Nothing tells the caller whether the account exists. A new link retires the older ones; at most
    ``RESET_EMAILS_PER_HOUR`` are sent an hour (the staff flow's rules: ``tenants.credentials``). An account
    created by staff without a password can set its first password this way."""
    tenant_id = session_tenant(session.sync_session)
    if tenant_id is None:
        raise RuntimeError("request_password_reset needs a tenant-bound session")
    _, email_key = check_email(email)
    customer = await Customers(session).by_email_key(email_key)
    tenant = await TenantDirectory(session).get(tenant_id)
    if customer is None or tenant is None:
        return
    token = await issue_reset_link(
        session,
        settings=settings,
        kind=ActionKind.CUSTOMER_PASSWORD_RESET,
        tenant_id=tenant.id,
        subject_id=customer.id,
    )
    if token is None:  # past the hourly cap: nothing is sent, the answer is the same
        return
    minutes = settings.password_reset_ttl_minutes
    subject = f"Reset your password for {tenant.name}"
    text = (
        f"Hello {customer.name},\n\n"
        f"Someone asked to reset the password of your account with {tenant.name}. "
        f"Choose a new one here:\n\n{_reset_link(settings, tenant, token)}\n\n"
        f"This link works once and expires in {minutes} minutes. If it was not you, ignore this email: "
        f"your password stays as it is.\n"
    )
    await queue_email(session, keys=keys, to=customer.email, subject=subject, text=text)
    record(
        session,
        actor="system",
        action="customer.password_reset_requested",
        subject_type="Customer",
        subject_id=customer.id,
    )


async def reset_password(
    session: AsyncSession,
    *,
    token: str,
    password: str,
    keys: KeyRing | None = None,
    settings: Settings | None = None,
) -> None:
    """Set a customer's new password from a reset link (a session of the link's tenant) and end every
    log-in the customer has. (``keys`` and ``settings`` are accepted for symmetry with the request.)"""
    tenant_id = session_tenant(session.sync_session)
    row = await use_reset_link(
        session, kind=ActionKind.CUSTOMER_PASSWORD_RESET, token=token, password=password
    )
    customer = await Customers(session).get(row.subject_id) if row.tenant_id == tenant_id else None
    if customer is None:
        raise Invalid("This link is not valid. Ask for a new one.", field="token")
    customer.password_hash = await passwords.hash_password(password)
    await revoke_sessions(
        session,
        kind=SubjectKind.CUSTOMER,
        subject_id=customer.id,
        tenant_id=customer.tenant_id,
        reason="password-reset",
    )
    record_by_customer(session, customer_id=customer.id, action="customer.password_reset")
    await session.flush()
