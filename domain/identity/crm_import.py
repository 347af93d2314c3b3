"""Importing CRM contacts in pages (the HubSpot sync): the same rules as ``service.upsert_crm_contact`` --
phones normalised with the tenant's region into the one lookup index, linked by email to the website
account unless linked by hand, archived contacts out of the index -- in a few statements per page.

A CRM holds whatever people typed, and one contact a row cannot hold must not fail its whole page:
:func:`storable_crm_contact` cleans a contact or refuses it (``Invalid`` naming the field), so the caller
leaves it out, counts it and goes on with the rest.

Also the two CRM events that change identity: a deletion (the contact is archived) and a merge (one
contact survives, and a hand-made link moves to it).
"""

from __future__ import annotations

import dataclasses
import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bizzly.errors import Invalid
from bizzly.ids import new_id
from domain.catalog.text import storable_text
from domain.identity.models import (
    EMAIL_MAX,
    EXTERNAL_ID_MAX,
    NAME_MAX,
    CrmContact,
    LinkSource,
    OwnerKind,
    SyncStatus,
)
from domain.identity.repository import CrmContacts, PhoneIndex
from domain.identity.service import _check_tenant, _crm_phone, _email_key
from tenants.models import Tenant

# Parsing a phone is the costliest step of an import; a page asks for each number more than once (the
# erasure check, then the import), and the function is pure.
crm_phone = functools.lru_cache(maxsize=8192)(_crm_phone)


@dataclass(frozen=True)
class CrmContactData:
    """A contact as the CRM holds it (``None`` = empty in the CRM)."""

    external_id: str
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    mobile_phone: str | None = None
    whatsapp_phone: str | None = None
    archived: bool = False


@dataclass
class ImportCounts:
    created: int = 0
    updated: int = 0
    linked: int = 0  # contacts that got a website account by email in this import
    archived: int = 0
    merged: int = 0


def _text(value: str | None, field: str) -> str | None:
    """Trimmed, ``None`` when blank; ``Invalid`` on ``field`` when it holds what no text column stores."""
    text = (value or "").strip()
    if not storable_text(text):
        raise Invalid("This text contains a character that cannot be stored.", field=field)
    return text or None


def storable_crm_contact(data: CrmContactData) -> CrmContactData:
    """``data`` as a contact row holds it, or ``Invalid`` naming the field that cannot be stored.

    Cleaned: text trimmed, blank values as ``None``, names cut to their column (a name is for display).
    Refused: an empty CRM id or one longer than its column, an email longer than its column (cut, it would
    be another address, and could link the contact to the wrong account), and any value holding a NUL
    character or an unpaired surrogate. A phone that does not parse is not refused: it is kept raw (cut to
    its column) and left out of the lookup index, as ``upsert_crm_contact`` does. The messages hold no value.
    """
    external_id = _text(data.external_id, "externalId")
    if external_id is None or len(external_id) > EXTERNAL_ID_MAX:
        raise Invalid(f"A CRM id must have 1 to {EXTERNAL_ID_MAX} characters.", field="externalId")
    email = _text(data.email, "email")
    if email is not None and len(email) > EMAIL_MAX:
        raise Invalid(f"An email address has at most {EMAIL_MAX} characters.", field="email")
    first_name = _text(data.first_name, "firstName")
    last_name = _text(data.last_name, "lastName")
    return dataclasses.replace(
        data,
        external_id=external_id,
        email=email,
        first_name=first_name[:NAME_MAX] if first_name else None,
        last_name=last_name[:NAME_MAX] if last_name else None,
        phone=_text(data.phone, "phone"),
        mobile_phone=_text(data.mobile_phone, "mobilePhone"),
        whatsapp_phone=_text(data.whatsapp_phone, "whatsappPhone"),
    )


def _apply(contact: CrmContact, data: CrmContactData, region: str | None) -> None:
    """``data`` as :func:`storable_crm_contact` returns it."""
    contact.email = data.email
    contact.email_key = _email_key(contact.email)
    contact.first_name = data.first_name
    contact.last_name = data.last_name
    contact.phone_raw, contact.phone_e164 = crm_phone(data.phone, region)
    contact.mobile_raw, contact.mobile_e164 = crm_phone(data.mobile_phone, region)
    contact.whatsapp_raw, contact.whatsapp_e164 = crm_phone(data.whatsapp_phone, region)
    contact.archived = data.archived
    contact.sync_status = SyncStatus.SYNCED.value


def _relink(contact: CrmContact, accounts: dict[str, uuid.UUID]) -> bool:
    """Link by email (hand-made links untouched); True when the contact got a new account."""
    if contact.link_source == LinkSource.MANUAL.value:
        return False
    before = contact.customer_id
    match = None if contact.archived or not contact.email_key else accounts.get(contact.email_key)
    contact.customer_id = match
    contact.link_source = LinkSource.EMAIL.value if match else None
    return match is not None and match != before


async def import_crm_contacts(
    session: AsyncSession, *, tenant: Tenant, contacts: Sequence[CrmContactData]
) -> ImportCounts:
    """Create or update these contacts (by CRM id; the last of a repeated id wins). An archived contact we
    never had is not created. A few statements for the whole batch, whatever its size.

    Leave out the contacts :func:`storable_crm_contact` refuses: one among ``contacts`` raises its
    ``Invalid`` here, before anything is written."""
    _check_tenant(session, tenant)
    counts = ImportCounts()
    wanted = {c.external_id: c for c in map(storable_crm_contact, contacts)}
    repo = CrmContacts(session)
    existing = await repo.by_external_ids(list(wanted))
    accounts = await repo.customer_ids_by_email_keys(
        {k for k in (_email_key(c.email) for c in wanted.values()) if k}
    )
    fresh: list[CrmContact] = []
    touched: list[CrmContact] = []
    for external_id, data in wanted.items():
        contact = existing.get(external_id)
        if contact is None:
            if data.archived:
                continue
            contact = CrmContact(tenant_id=tenant.id, id=new_id(), external_id=external_id)
            fresh.append(contact)
            counts.created += 1
        else:
            if data.archived and not contact.archived:
                counts.archived += 1
            elif not data.archived:
                counts.updated += 1
        _apply(contact, data, tenant.default_region)
        counts.linked += _relink(contact, accounts)
        touched.append(contact)
    repo.add_all(fresh)
    await session.flush()
    await PhoneIndex(session).replace_many(
        OwnerKind.CRM_CONTACT, {c.id: set() if c.archived else c.phones() for c in touched}
    )
    return counts


async def archive_crm_contacts(session: AsyncSession, *, tenant: Tenant, external_ids: Sequence[str]) -> int:
    """The CRM deleted these contacts: archived, out of the lookup index, email links released (a
    hand-made link is kept, as ``upsert_crm_contact`` does). Returns how many were live."""
    _check_tenant(session, tenant)
    found = await CrmContacts(session).by_external_ids([e.strip() for e in external_ids])
    count = 0
    for contact in found.values():
        count += not contact.archived
        contact.archived = True
        _relink(contact, {})
    await session.flush()
    await PhoneIndex(session).replace_many(OwnerKind.CRM_CONTACT, {c.id: set() for c in found.values()})
    return count


async def merge_crm_contacts(
    session: AsyncSession, *, tenant: Tenant, survivor_id: str, merged_ids: Sequence[str]
) -> int:
    """The CRM merged ``merged_ids`` into ``survivor_id``: one contact is kept, under the survivor's id.

    A hand-made link of a merged contact moves to the survivor when the survivor has none; if we do not
    have the survivor yet, the first merged contact becomes it (its links with it). The survivor's own
    fields come from the CRM afterwards (the caller re-reads it). Returns how many contacts were removed."""
    _check_tenant(session, tenant)
    survivor_id = survivor_id.strip()
    others = [m.strip() for m in merged_ids if m.strip() and m.strip() != survivor_id]
    repo = CrmContacts(session)
    found = await repo.by_external_ids([survivor_id, *others])
    merged = [found[m] for m in others if m in found]
    if not merged:
        return 0
    survivor = found.get(survivor_id)
    if survivor is None:
        survivor = merged.pop(0)
        survivor.external_id = survivor_id
    for contact in merged:
        if contact.link_source == LinkSource.MANUAL.value and survivor.link_source != LinkSource.MANUAL.value:
            survivor.customer_id = contact.customer_id
            survivor.link_source = contact.link_source
    index = PhoneIndex(session)
    await index.replace_many(OwnerKind.CRM_CONTACT, {c.id: set() for c in merged})
    await repo.remove(merged)
    await session.flush()
    await index.replace_many(
        OwnerKind.CRM_CONTACT, {survivor.id: set() if survivor.archived else survivor.phones()}
    )
    return len(merged)
