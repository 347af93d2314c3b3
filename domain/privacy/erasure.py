"""Erasure: a customer's personal data removed from every table of the tenant, on staff request
(``eraseCustomerData``); and a WhatsApp user's message history, on their own "delete my messages".

What goes: message bodies (the messages), the webhooks and outbox payloads that mention the person, the
phones of auth events and WhatsApp actors in the audit log, the assistant's states, sessions, codes and
opt-outs for the person's WhatsApp ids, the conversations' link and phone, the account's name, email,
phone, password and identity-index entries, the personal fields of the CRM contacts that are the same
person, their leads, and the addresses of their notifications. What stays: the bookings (anonymised, for
the business's books), the notifications and auth events as records, and a tombstone (digests only) so a
CRM sync does not bring the person back. The audit log records the erasure with counts, never the data.

Services never commit: the caller's transaction makes the erasure all or nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bizzly import clock
from bizzly.crypto import KeyRing
from bizzly.errors import Conflict, NotFound
from bizzly.ids import new_id
from domain.identity.models import OwnerKind
from domain.privacy.audit import record
from domain.privacy.erasure_repository import ErasureStore
from domain.privacy.models import CustomerErasure
from domain.privacy.tombstones import add_tombstone, normalize_email
from tenants.models import SubjectKind
from tenants.service import revoke_sessions

ERASED_NAME = "Erased customer"
ERASED_EMAIL_DOMAIN = "erased.invalid"


@dataclass(frozen=True)
class ErasureResult:
    customer_id: uuid.UUID
    messages: int
    conversations: int
    leads: int
    crm_contacts: int
    inbox_events: int
    outbox_rows: int

    def summary(self) -> str:
        """For the audit log: counts only."""
        return (
            f"messages={self.messages} conversations={self.conversations} leads={self.leads} "
            f"crm_contacts={self.crm_contacts} webhooks={self.inbox_events} outbox={self.outbox_rows}"
        )


def whatsapp_id(phone_e164: str) -> str:
    """WhatsApp's id of a phone: the E.164 digits without ``+`` (the conversations' ``user_key``)."""
    return phone_e164.lstrip("+")


def _wa_ids(user_keys: Collection[str]) -> set[str]:
    """What a webhook names the person by: the digits, or Meta's user id after ``bsuid:``."""
    return {k.removeprefix("bsuid:") for k in user_keys if k}


async def erase_message_history(session: AsyncSession, *, user_keys: Collection[str]) -> int:
    """Delete every message of these channel users' conversations, and empty the stored webhooks that
    carried them. The one way message history is erased (the assistant's "delete my messages" and
    ``erase_customer`` both use it). Returns how many messages went."""
    store = ErasureStore(session)
    conversations = await store.conversations(customer_id=None, user_keys=user_keys, phones=())
    ids = [c.id for c in conversations]
    wamids = await store.message_wamids(ids)
    erased = await store.delete_messages(ids)
    await store.scrub_inbox({*_wa_ids(user_keys), *wamids})
    return erased


async def erase_customer(
    session: AsyncSession, *, keys: KeyRing, customer_id: uuid.UUID, actor: str
) -> ErasureResult:
    """Erase one customer of the session's tenant. ``NotFound`` for an unknown id (or another tenant's),
    ``Conflict`` when already erased; either way nothing is changed."""
    store = ErasureStore(session)
    # The account's row lock first: a concurrent erasure of the same customer waits here, then is told
    # it was erased (a Conflict) instead of failing on the erasure record's unique key.
    customer = await store.customer(customer_id)
    if customer is None:
        raise NotFound("No such customer.", field="customerId")
    if await store.erasure(customer_id) is not None:
        raise Conflict("This customer's data has already been erased.", field="customerId")

    email_key = normalize_email(customer.email) if customer.email else None
    phones: set[str] = {customer.phone_e164} if customer.phone_e164 else set()
    contacts = await store.crm_contacts(customer_id=customer.id, email_key=email_key, phones=phones)
    leads = await store.leads(customer_id=customer.id, email_key=email_key, phones=phones)
    push = await store.customer_push(customer.id)

    emails = {e for e in (customer.email, *(c.email for c in contacts), *(lead.email for lead in leads)) if e}
    crm_ids = {c.external_id for c in contacts}
    crm_ids |= {lead.hubspot_contact_id for lead in leads if lead.hubspot_contact_id}
    if push is not None and push.hubspot_contact_id:
        crm_ids.add(push.hubspot_contact_id)
    for contact in contacts:
        phones |= contact.phones()

    user_keys = {whatsapp_id(p) for p in phones}
    if customer.meta_user_id:
        user_keys.add(f"bsuid:{customer.meta_user_id}")
    conversations = await store.conversations(customer_id=customer.id, user_keys=user_keys, phones=phones)
    for conversation in conversations:
        user_keys.add(conversation.user_key)
        if conversation.phone_e164:
            phones.add(conversation.phone_e164)
            user_keys.add(whatsapp_id(conversation.phone_e164))
    conversation_ids = [c.id for c in conversations]
    message_ids = await store.message_ids(conversation_ids)
    booking_ids = await store.booking_ids(customer.id)
    notification_ids = await store.anonymise_notifications(customer_id=customer.id, booking_ids=booking_ids)

    # Payloads name the person by value or refer to them by id: both are searched for.
    needles = {
        *emails,
        *phones,
        *_wa_ids(user_keys),
        *crm_ids,
        str(customer.id),
        *(str(i) for i in conversation_ids),
        *(str(i) for i in message_ids),
        *(str(i) for i in notification_ids),
        *(str(lead.id) for lead in leads),
    }
    if customer.meta_user_id:
        needles.add(customer.meta_user_id)
    outbox_rows = await store.scrub_outbox(needles, keys=keys)
    messages = await erase_message_history(session, user_keys=user_keys)
    messages += await store.delete_messages(conversation_ids)  # linked by account, not by WhatsApp id
    inbox_events = await store.scrub_inbox(needles)

    await store.delete_assistant_rows(customer_id=customer.id, user_keys=user_keys)
    await store.anonymise_auth_events(customer_id=customer.id, user_keys=user_keys, phones=phones)
    await store.anonymise_audit_actors({f"whatsapp:{v}" for v in (*phones, *user_keys, *_wa_ids(user_keys))})
    for conversation in conversations:
        # The conversation stays (its count, its time) but no longer names or reaches the person: a new
        # message from the phone starts a new conversation.
        conversation.user_key = f"erased:{conversation.id}"
        conversation.phone_e164 = None
        conversation.meta_user_id = None
        conversation.display_name = None
        conversation.customer_id = None
        conversation.verified = False

    for contact in contacts:
        contact.email = None
        contact.email_key = None
        contact.first_name = None
        contact.last_name = None
        contact.phone_raw = contact.phone_e164 = None
        contact.mobile_raw = contact.mobile_e164 = None
        contact.whatsapp_raw = contact.whatsapp_e164 = None
        contact.customer_id = None
        contact.link_source = None
        contact.archived = True
    await store.forget_index(OwnerKind.CRM_CONTACT, [c.id for c in contacts])
    await store.forget_index(OwnerKind.CUSTOMER, [customer.id])
    lead_count = await store.delete_leads([lead.id for lead in leads])
    await store.delete_customer_push(customer.id)
    await store.anonymise_bookings(customer.id)

    await add_tombstone(
        session,
        keys=keys,
        tenant_id=store.tenant_id,
        emails=emails,
        phones=phones,
        crm_external_ids=crm_ids,
    )
    await revoke_sessions(
        session,
        kind=SubjectKind.CUSTOMER,
        subject_id=customer.id,
        tenant_id=store.tenant_id,
        reason="customer-erased",
    )
    placeholder = f"erased-{customer.id.hex}@{ERASED_EMAIL_DOMAIN}"
    customer.name = ERASED_NAME
    customer.email = placeholder
    customer.email_key = placeholder
    customer.phone_raw = None
    customer.phone_e164 = None
    customer.phone_proven_at = customer.phone_proven_by = None
    customer.meta_user_id = None
    customer.password_hash = None
    customer.whatsapp_opted_out = True  # nothing business-initiated goes anywhere for this account
    store.add_erasure(CustomerErasure(id=new_id(), customer_id=customer.id, erased_at=clock.now()))

    result = ErasureResult(
        customer_id=customer.id,
        messages=messages,
        conversations=len(conversations),
        leads=lead_count,
        crm_contacts=len(contacts),
        inbox_events=inbox_events,
        outbox_rows=outbox_rows,
    )
    record(
        session,
        actor=actor,
        action="customer.erased",
        subject_type="Customer",
        subject_id=customer.id,
        detail=result.summary(),
    )
    await session.flush()
    return result
