"""Proving that an account's phone is its owner's (``Customer.phone_proven``): the website's way, the chat's.

A phone anyone typed (``registerCustomer``, ``updateMyProfile``) is unproven: the business starts no WhatsApp
conversation with it and the chat sends that account's codes to its email. It becomes proven when

- its owner verifies in that phone's WhatsApp chat as the account (:func:`proven_in_chat`, called by the
  assistant), or
- the signed-in customer asks for a code (:func:`request_phone_code`), which goes through the business's
  WhatsApp number as its approved AUTHENTICATION template (copy-code button; Meta's rule for one-time codes,
  and the only message allowed outside the 24-hour window), and types it back (:func:`confirm_phone_code`).

Same code rules as the chat (``domain.identity.codes``): 6 digits, 10 minutes, 3 tries, the ``otp_per_*``
send limits (per phone, per account, per tenant, in any rolling hour), only keyed digests stored. The send
goes through the outbox (``whatsapp.send``, payload encrypted, logged redacted). Nothing here commits; a
refused confirmation is *returned* (``Outcome``) so its counted try is committed with the transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bizzly import clock
from bizzly.crypto import KeyRing
from bizzly.errors import DomainError, ErrorCode, Invalid
from bizzly.ids import new_id
from bizzly.settings import Settings
from domain.assistant.texts import wait_text
from domain.connections.models import ConnectionStatus, Provider
from domain.connections.service import config_of, live_connection
from domain.conversations import service as conversations
from domain.customers.models import Customer, PhoneCode, PhoneProof
from domain.customers.repository import Customers, PhoneCodes
from domain.customers.service import customer_actor, record_by_customer
from domain.identity.codes import (
    CODE_TTL,
    MAX_ATTEMPTS,
    RATE_WINDOW,
    looks_like_code,
    matches,
    new_code,
    retry_at,
    seal,
)
from domain.identity.phones import mask_phone
from domain.privacy.audit import record
from tenants.credentials import Outcome

CODE_PURPOSE = "phone-proof-code"
PHONE_PURPOSE = "phone-proof-phone"
CHANNEL = "whatsapp"


@dataclass(frozen=True)
class CodeSent:
    phone_masked: str
    expires_at: datetime


def _material(customer: Customer, phone: str, code: str) -> str:
    # Bound to the tenant, the account and the phone: a code is worthless for any other account or number,
    # and one sent before the phone changed no longer matches.
    return f"{customer.tenant_id}|{customer.id}|{phone}|{code}"


def _prove(customer: Customer, by: PhoneProof, *, session: AsyncSession, actor: str) -> None:
    customer.phone_proven_at = clock.now()
    customer.phone_proven_by = by.value
    record(
        session,
        actor=actor,
        action="customer.phone_proven",
        subject_type="Customer",
        subject_id=customer.id,
        detail=by.value,
    )


async def proven_in_chat(
    session: AsyncSession, *, customer_id: uuid.UUID, phone: str | None, actor: str
) -> None:
    """Someone writing from ``phone`` on WhatsApp just verified as this account: when that is the account's
    own phone, the phone is proven (writing from it shows holding it; the code shows being the account)."""
    customer = await Customers(session).get(customer_id)
    if customer is None or phone is None or customer.phone_e164 != phone or customer.phone_proven:
        return
    _prove(customer, PhoneProof.WHATSAPP, session=session, actor=actor)


def _limited(resume: datetime, now: datetime) -> DomainError:
    return DomainError(
        ErrorCode.LIMIT_REACHED,
        f"Too many codes were sent. Try again in {wait_text(resume, now)} (after {resume:%H:%M} UTC).",
    )


def _already_proven() -> DomainError:
    return DomainError(ErrorCode.CONFLICT, "Your phone number is already confirmed.", field="phone")


async def request_phone_code(
    session: AsyncSession, *, keys: KeyRing, settings: Settings, customer_id: uuid.UUID
) -> CodeSent:
    """Send a fresh code to the signed-in customer's phone (older codes die). Raises ``REQUIRED`` (no
    phone), ``CONFLICT`` (already proven), ``UNAVAILABLE`` (no WhatsApp number or no authentication
    template), ``LIMIT_REACHED`` (a send limit; the message says when)."""
    repo = Customers(session)
    customer = await repo.get(customer_id, lock=True)
    if customer is None:
        raise DomainError(ErrorCode.NOT_FOUND, "This account no longer exists.")
    phone = customer.phone_e164
    if phone is None:
        raise DomainError(ErrorCode.REQUIRED, "Add a phone number to your profile first.", field="phone")
    if customer.phone_proven:
        raise _already_proven()
    connection = await live_connection(session, provider=Provider.WHATSAPP)
    if connection is None or connection.status == ConnectionStatus.NEEDS_REAUTH:
        raise DomainError(
            ErrorCode.UNAVAILABLE, "This business cannot send codes on WhatsApp right now. Try again later."
        )
    template = str(config_of(connection).get("otp_template_name") or "")
    if not template:
        # Meta allows one-time codes only in an approved AUTHENTICATION template (the business names it
        # when it connects WhatsApp).
        raise DomainError(
            ErrorCode.UNAVAILABLE, "This business has not set up WhatsApp verification codes yet."
        )

    now = clock.now()
    codes = PhoneCodes(session)
    phone_digest = seal(keys, PHONE_PURPOSE, f"{customer.tenant_id}|{phone}")
    since = now - RATE_WINDOW
    for count, oldest, limit in (
        (*await codes.since(since, phone_digest=phone_digest), settings.otp_per_phone_per_hour),
        (*await codes.since(since, customer_id=customer.id), settings.otp_per_phone_per_hour),
        (*await codes.since(since), settings.otp_per_tenant_per_hour),
    ):
        resume = retry_at(count, oldest, limit=limit, now=now)
        if resume is not None:
            raise _limited(resume, now)

    await codes.kill(customer.id, at=now)
    # The account's codes older than the send-limit window count for nothing any more.
    await codes.prune(customer.id, before=since - CODE_TTL)
    code = new_code()
    codes.add(
        PhoneCode(
            id=new_id(),
            customer_id=customer.id,
            phone_digest=phone_digest,
            code_hmac=seal(keys, CODE_PURPOSE, _material(customer, phone, code)),
            attempts=0,
            created_at=now,
            expires_at=now + CODE_TTL,
        )
    )
    conversation = await conversations.conversation_for_phone(session, channel=CHANNEL, phone=phone)
    await conversations.queue_reply(
        session,
        keys=keys,
        conversation=conversation,
        reply=conversations.Reply(template=conversations.Template(name=template, code=code)),
    )
    record_by_customer(session, customer_id=customer.id, action="customer.phone_code_sent")
    await session.flush()
    return CodeSent(phone_masked=mask_phone(phone), expires_at=now + CODE_TTL)


async def confirm_phone_code(
    session: AsyncSession, *, keys: KeyRing, customer_id: uuid.UUID, code: str
) -> Outcome[Customer]:
    """Check the code typed on the website; the right one proves the phone. Refusals are returned, with
    the try counted: ``INVALID`` (not six digits; not counted), ``CONFLICT`` (already proven),
    ``NOT_FOUND`` (no code asked for),
    ``EXPIRED``, ``WRONG_CODE`` (tries left in the message), ``TOO_MANY_ATTEMPTS`` (the third wrong one
    ends the code: ask for a new one)."""
    typed = code.strip()
    if not looks_like_code(typed):
        raise Invalid("Enter the 6-digit code from WhatsApp.", field="code")
    typed = typed.replace(" ", "")
    customer = await Customers(session).get(customer_id, lock=True)
    if customer is None:
        raise DomainError(ErrorCode.NOT_FOUND, "This account no longer exists.")
    if customer.phone_proven:
        raise _already_proven()
    now = clock.now()
    latest = await PhoneCodes(session).latest(customer.id)
    if latest is None or latest.used_at is not None:
        return Outcome(error=DomainError(ErrorCode.NOT_FOUND, "Ask for a code first.", field="code"))
    if latest.dead_at is not None and latest.attempts >= MAX_ATTEMPTS:
        return Outcome(error=_too_many())
    if latest.dead_at is not None or latest.expires_at <= now or customer.phone_e164 is None:
        return Outcome(
            error=DomainError(ErrorCode.EXPIRED, "This code has expired. Ask for a new one.", field="code")
        )
    if not matches(keys, CODE_PURPOSE, _material(customer, customer.phone_e164, typed), latest.code_hmac):
        latest.attempts += 1
        await session.flush()
        if latest.attempts >= MAX_ATTEMPTS:
            latest.dead_at = now
            return Outcome(error=_too_many())
        left = MAX_ATTEMPTS - latest.attempts
        tries = "1 try" if left == 1 else f"{left} tries"
        return Outcome(
            error=DomainError(ErrorCode.WRONG_CODE, f"That code is not right. {tries} left.", field="code")
        )
    latest.used_at = now
    _prove(customer, PhoneProof.WEBSITE, session=session, actor=customer_actor(customer.id))
    await session.flush()
    return Outcome(value=customer)


def _too_many() -> DomainError:
    return DomainError(
        ErrorCode.TOO_MANY_ATTEMPTS,
        f"{MAX_ATTEMPTS} wrong codes: this one no longer works. Ask for a new code.",
        field="code",
    )
