"""Resolving a phone to the people behind it, and keeping the lookup index and CRM links current.

The lookup index (``phone_index``) is written here and only here: customer services call
:func:`sync_customer` after every change to a customer, and the CRM sync calls :func:`upsert_crm_contact`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

from sqlalchemy.ext.asyncio import AsyncSession

from bizzly.db.tenancy import session_tenant
from bizzly.errors import Invalid, NotFound
from bizzly.ids import new_id
from bizzly.patch import UNSET  # re-exported: callers pass it for "unchanged"
from domain.customers.models import Customer
from domain.customers.repository import Customers
from domain.identity.models import (
    EMAIL_MAX,
    EXTERNAL_ID_MAX,
    NAME_MAX,
    PHONE_RAW_MAX,
    CrmContact,
    LinkSource,
    OwnerKind,
    SyncStatus,
)
from domain.identity.phones import Phone, parse_phone, parse_whatsapp_id
from domain.identity.repository import CrmContacts, PhoneIndex
from domain.privacy.audit import record
from tenants.models import Tenant


class ReachedVia(StrEnum):
    OWN_PHONE = "OWN_PHONE"  # the account's own profile phone (set by the customer or staff)
    CRM_CONTACT = "CRM_CONTACT"  # only a CRM contact linked to the account has this phone


class ResolvedAccount(NamedTuple):
    customer: Customer
    reached_via: ReachedVia


@dataclass(frozen=True)
class ResolvedContact:
    contact: CrmContact
    customer: Customer | None  # the linked website account, if any


@dataclass(frozen=True)
class Resolution:
    normalized: str
    accounts: list[ResolvedAccount]  # own-phone accounts first
    crm_contacts: list[ResolvedContact]


def _check_tenant(session: AsyncSession, tenant: Tenant) -> None:
    if session_tenant(session.sync_session) != tenant.id:
        raise RuntimeError("the session is bound to another tenant than the one passed")


async def resolve_phone(
    session: AsyncSession, *, tenant: Tenant, raw: str, whatsapp: bool = False
) -> Resolution:
    """Every website account and CRM contact of ``tenant`` that ``raw`` reaches.

    ``raw`` is any format the tenant's region can parse; ``whatsapp=True`` reads it as WhatsApp's ``wa_id``
    (always international). An unparseable phone raises ``InvalidPhone`` (field ``phone``).
    """
    _check_tenant(session, tenant)
    phone = parse_whatsapp_id(raw) if whatsapp else parse_phone(raw, tenant.default_region)
    return await resolve_e164(session, e164=phone.e164)


async def resolve_e164(session: AsyncSession, *, e164: str) -> Resolution:
    """Like :func:`resolve_phone` for an already normalised number: three indexed reads at most."""
    owners = await PhoneIndex(session).owners(e164)
    own_ids = [owner for kind, owner in owners if kind is OwnerKind.CUSTOMER]
    contact_ids = [owner for kind, owner in owners if kind is OwnerKind.CRM_CONTACT]
    # The index is kept in step by the services; the rows are checked again so a stale entry is harmless.
    contacts = [
        c for c in await CrmContacts(session).by_ids(contact_ids) if not c.archived and e164 in c.phones()
    ]
    linked_ids = [c.customer_id for c in contacts if c.customer_id is not None]
    customers = await Customers(session).by_ids([*own_ids, *linked_ids])

    own = sorted(
        (c for c in (customers.get(i) for i in set(own_ids)) if c is not None and c.phone_e164 == e164),
        key=lambda c: c.id,
    )
    seen = {c.id for c in own}
    accounts = [ResolvedAccount(c, ReachedVia.OWN_PHONE) for c in own]
    for contact in sorted(contacts, key=lambda c: c.id):
        linked = customers.get(contact.customer_id) if contact.customer_id else None
        if linked is not None and linked.id not in seen:
            seen.add(linked.id)
            accounts.append(ResolvedAccount(linked, ReachedVia.CRM_CONTACT))
    resolved_contacts = [
        ResolvedContact(c, customers.get(c.customer_id) if c.customer_id else None)
        for c in sorted(contacts, key=lambda c: c.id)
    ]
    return Resolution(normalized=e164, accounts=accounts, crm_contacts=resolved_contacts)


# --- customers ------------------------------------------------------------------------------------------


async def sync_customer(session: AsyncSession, customer: Customer) -> None:
    """After a customer is created or changed: index its phone and (re)link CRM contacts by email.

    Contacts linked by email to an old address are released; unlinked contacts with the current address are
    linked. Manual links are left alone. The customer must already be flushed.
    """
    await PhoneIndex(session).set_phones(
        OwnerKind.CUSTOMER, customer.id, {customer.phone_e164} if customer.phone_e164 else set()
    )
    contacts = CrmContacts(session)
    for contact in await contacts.linked_to(customer.id):
        if contact.link_source == LinkSource.EMAIL.value and contact.email_key != customer.email_key:
            contact.customer_id = None
            contact.link_source = None
    for contact in await contacts.unlinked_with_email(customer.email_key):
        contact.customer_id = customer.id
        contact.link_source = LinkSource.EMAIL.value


async def forget_customer(session: AsyncSession, customer_id: uuid.UUID) -> None:
    """Before a customer is deleted: drop its phone from the index and unlink its CRM contacts.

    (A database ``ON DELETE SET NULL`` would null the contact's ``tenant_id`` too, so this is done here.)
    """
    await PhoneIndex(session).remove_owner(OwnerKind.CUSTOMER, customer_id)
    for contact in await CrmContacts(session).linked_to(customer_id):
        contact.customer_id = None
        contact.link_source = None
    await session.flush()


# --- CRM contacts ---------------------------------------------------------------------------------------


def _crm_phone(raw: str | None, region: str | None) -> tuple[str | None, str | None]:
    """A CRM's phone property: kept raw; normalised when it parses (a CRM holds what people typed)."""
    if raw is None or not raw.strip():
        return None, None
    text = raw.strip()[:PHONE_RAW_MAX]
    try:
        phone: Phone = parse_phone(text, region)
    except Invalid:
        return text, None
    return text, phone.e164


def _email_key(email: str | None) -> str | None:
    return email.strip().lower() if email and email.strip() else None


async def upsert_crm_contact(
    session: AsyncSession,
    *,
    tenant: Tenant,
    external_id: str,
    email: str | None = UNSET,
    first_name: str | None = UNSET,
    last_name: str | None = UNSET,
    phone: str | None = UNSET,
    mobile_phone: str | None = UNSET,
    whatsapp_phone: str | None = UNSET,
    archived: bool = UNSET,
    sync_status: SyncStatus = UNSET,
    actor: str | None = None,
) -> CrmContact:
    """Create or update the contact with this CRM id. Omitted fields are unchanged (``None`` clears).

    Phones are normalised with the tenant's region; one that does not parse is kept raw and left out of
    the index (CRM data is not refused). The contact is linked to the account with the same email unless it
    was linked by hand; an archived contact leaves the lookup index. ``actor`` adds an audit entry.
    """
    _check_tenant(session, tenant)
    external_id = external_id.strip()
    if not external_id or len(external_id) > EXTERNAL_ID_MAX:
        raise Invalid("A CRM contact needs its CRM id (at most 64 characters).", field="externalId")
    contacts = CrmContacts(session)
    contact = await contacts.by_external_id(external_id)
    created = contact is None
    if contact is None:
        contact = CrmContact(
            tenant_id=tenant.id,
            id=new_id(),
            external_id=external_id,
            sync_status=SyncStatus.PENDING.value,
            archived=False,
        )
        contacts.add(contact)
    region = tenant.default_region
    if email is not UNSET:
        contact.email = email.strip()[:EMAIL_MAX] if email and email.strip() else None
        contact.email_key = _email_key(contact.email)
    if first_name is not UNSET:
        contact.first_name = (first_name or "").strip()[:NAME_MAX] or None
    if last_name is not UNSET:
        contact.last_name = (last_name or "").strip()[:NAME_MAX] or None
    if phone is not UNSET:
        contact.phone_raw, contact.phone_e164 = _crm_phone(phone, region)
    if mobile_phone is not UNSET:
        contact.mobile_raw, contact.mobile_e164 = _crm_phone(mobile_phone, region)
    if whatsapp_phone is not UNSET:
        contact.whatsapp_raw, contact.whatsapp_e164 = _crm_phone(whatsapp_phone, region)
    if archived is not UNSET:
        contact.archived = bool(archived)
    if sync_status is not UNSET:
        contact.sync_status = SyncStatus(sync_status).value

    if contact.link_source != LinkSource.MANUAL.value:
        match = await Customers(session).by_email_key(contact.email_key) if contact.email_key else None
        if contact.archived:
            match = None
        contact.customer_id = match.id if match else None
        contact.link_source = LinkSource.EMAIL.value if match else None
    await session.flush()
    index = PhoneIndex(session)
    await index.set_phones(OwnerKind.CRM_CONTACT, contact.id, set() if contact.archived else contact.phones())
    if actor is not None:
        record(
            session,
            actor=actor,
            action="crm_contact.created" if created else "crm_contact.updated",
            subject_type="CrmContact",
            subject_id=contact.id,
        )
    return contact


async def link_crm_contact(
    session: AsyncSession, *, contact_id: uuid.UUID, customer_id: uuid.UUID | None, actor: str
) -> CrmContact:
    """Link a contact to an account by hand, or unlink it with ``None``. Either way the choice is kept:
    automatic linking by email no longer touches this contact."""
    contact = await CrmContacts(session).get(contact_id)
    if contact is None:
        raise NotFound("No CRM contact with this id.", field="contactId")
    if customer_id is not None:
        customer = await Customers(session).get(customer_id)
        if customer is None:
            raise NotFound("No customer with this id.", field="customerId")
        contact.customer_id = customer.id
        contact.link_source = LinkSource.MANUAL.value
    else:
        contact.customer_id = None
        contact.link_source = LinkSource.MANUAL.value
    record(
        session,
        actor=actor,
        action="crm_contact.linked" if customer_id else "crm_contact.unlinked",
        subject_type="CrmContact",
        subject_id=contact.id,
    )
    await session.flush()
    return contact


async def crm_contacts_with_customers(
    session: AsyncSession, ids: list[uuid.UUID]
) -> dict[uuid.UUID, tuple[CrmContact, Customer | None]]:
    """Contacts by id with their linked accounts (two queries for any number of ids)."""
    contacts = await CrmContacts(session).by_ids(ids)
    customers = await Customers(session).by_ids([c.customer_id for c in contacts if c.customer_id])
    return {c.id: (c, customers.get(c.customer_id) if c.customer_id else None) for c in contacts}
