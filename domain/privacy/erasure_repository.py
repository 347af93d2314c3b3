"""SQL of erasure: find everything of one person in one tenant and remove or anonymise it.

Built on a tenant-bound session: every statement names the session's tenant.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection, Iterator
from typing import Any

from sqlalchemy import ColumnElement, delete, false, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bizzly import clock
from bizzly.crypto import DecryptionError, KeyRing
from bizzly.db.tenancy import session_tenant
from bizzly.outbox import InboxEvent, OutboxRow, OutboxStatus
from domain.assistant.models import (
    AssistantSession,
    AuthEvent,
    ConversationState,
    VerificationCode,
    WhatsAppOptOut,
)
from domain.conversations.models import Conversation, Message
from domain.customers.models import Customer, PhoneCode
from domain.identity.models import CrmContact, OwnerKind, PhoneIndexEntry
from domain.leads.models import CustomerPush, Lead
from domain.notifications.models import Notification
from domain.privacy.audit import AuditEntry
from domain.privacy.models import CustomerErasure
from domain.scheduling.models import Booking

# What an erased row's payload becomes: valid JSON that names nobody.
EMPTY_PAYLOAD = "{}"
ERASED_ACTOR = "whatsapp:erased"
ERASED_USER_KEY = "erased"
_BATCH = 500


def _chunks(values: Collection[Any]) -> Iterator[list[Any]]:
    items = list(values)
    for start in range(0, len(items), _BATCH):
        yield items[start : start + _BATCH]


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


class ErasureStore:
    def __init__(self, session: AsyncSession) -> None:
        tenant = session_tenant(session.sync_session)
        if tenant is None:
            raise RuntimeError("erasure needs a tenant-bound session")
        self.session = session
        self.tenant_id = tenant

    # --- the person -----------------------------------------------------------------------------------

    async def customer(self, customer_id: uuid.UUID) -> Customer | None:
        stmt = (
            select(Customer)
            .where(Customer.tenant_id == self.tenant_id, Customer.id == customer_id)
            .with_for_update()
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def erasure(self, customer_id: uuid.UUID) -> CustomerErasure | None:
        stmt = select(CustomerErasure).where(
            CustomerErasure.tenant_id == self.tenant_id, CustomerErasure.customer_id == customer_id
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    def add_erasure(self, row: CustomerErasure) -> None:
        row.tenant_id = self.tenant_id
        self.session.add(row)

    async def crm_contacts(
        self, *, customer_id: uuid.UUID, email_key: str | None, phones: Collection[str]
    ) -> list[CrmContact]:
        """Linked to the account, or carrying its email or one of its phones (the same person in the CRM)."""
        match: list[ColumnElement[bool]] = [CrmContact.customer_id == customer_id]
        if email_key:
            match.append(CrmContact.email_key == email_key)
        if phones:
            ph = list(phones)
            match += [
                CrmContact.phone_e164.in_(ph),
                CrmContact.mobile_e164.in_(ph),
                CrmContact.whatsapp_e164.in_(ph),
            ]
        stmt = select(CrmContact).where(CrmContact.tenant_id == self.tenant_id, or_(*match))
        return list((await self.session.execute(stmt)).scalars())

    async def forget_index(self, owner_kind: OwnerKind, owner_ids: Collection[uuid.UUID]) -> None:
        for chunk in _chunks(owner_ids):
            await self.session.execute(
                delete(PhoneIndexEntry)
                .where(
                    PhoneIndexEntry.tenant_id == self.tenant_id,
                    PhoneIndexEntry.owner_kind == owner_kind.value,
                    PhoneIndexEntry.owner_id.in_(chunk),
                )
                .execution_options(synchronize_session=False)
            )

    async def leads(
        self, *, customer_id: uuid.UUID, email_key: str | None, phones: Collection[str]
    ) -> list[Lead]:
        match: list[ColumnElement[bool]] = [Lead.customer_id == customer_id]
        if email_key:
            match.append(Lead.email_key == email_key)
        if phones:
            match.append(Lead.phone_e164.in_(list(phones)))
        stmt = select(Lead).where(Lead.tenant_id == self.tenant_id, or_(*match))
        return list((await self.session.execute(stmt)).scalars())

    async def delete_leads(self, ids: Collection[uuid.UUID]) -> int:
        total = 0
        for chunk in _chunks(ids):
            result = await self.session.execute(
                delete(Lead)
                .where(Lead.tenant_id == self.tenant_id, Lead.id.in_(chunk))
                .execution_options(synchronize_session=False)
            )
            total += _rowcount(result)
        return total

    async def customer_push(self, customer_id: uuid.UUID) -> CustomerPush | None:
        stmt = select(CustomerPush).where(
            CustomerPush.tenant_id == self.tenant_id, CustomerPush.customer_id == customer_id
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def delete_customer_push(self, customer_id: uuid.UUID) -> None:
        await self.session.execute(
            delete(CustomerPush)
            .where(CustomerPush.tenant_id == self.tenant_id, CustomerPush.customer_id == customer_id)
            .execution_options(synchronize_session=False)
        )

    async def booking_ids(self, customer_id: uuid.UUID) -> list[uuid.UUID]:
        stmt = select(Booking.id).where(
            Booking.tenant_id == self.tenant_id, Booking.customer_id == customer_id
        )
        return list((await self.session.execute(stmt)).scalars())

    async def anonymise_bookings(self, customer_id: uuid.UUID) -> None:
        """Bookings stay for the business's books; the website's analytics id of the visitor goes."""
        await self.session.execute(
            update(Booking)
            .where(Booking.tenant_id == self.tenant_id, Booking.customer_id == customer_id)
            .values(analytics_client_id=None)
            .execution_options(synchronize_session=False)
        )

    async def anonymise_notifications(
        self, *, customer_id: uuid.UUID, booking_ids: Collection[uuid.UUID]
    ) -> list[uuid.UUID]:
        """Notifications stay as delivery records (their unique keys keep a reminder from being decided
        again) without the (masked) address. Returns their ids."""
        match: list[ColumnElement[bool]] = [Notification.customer_id == customer_id]
        if booking_ids:
            match.append(Notification.booking_id.in_(list(booking_ids)))
        stmt = select(Notification.id).where(Notification.tenant_id == self.tenant_id, or_(*match))
        ids = list((await self.session.execute(stmt)).scalars())
        for chunk in _chunks(ids):
            await self.session.execute(
                update(Notification)
                .where(Notification.tenant_id == self.tenant_id, Notification.id.in_(chunk))
                .values(recipient=None)
                .execution_options(synchronize_session=False)
            )
        return ids

    # --- conversations and the assistant -----------------------------------------------------------

    async def conversations(
        self, *, customer_id: uuid.UUID | None, user_keys: Collection[str], phones: Collection[str]
    ) -> list[Conversation]:
        match: list[ColumnElement[bool]] = []
        if customer_id is not None:
            match.append(Conversation.customer_id == customer_id)
        if user_keys:
            match.append(Conversation.user_key.in_(list(user_keys)))
        if phones:
            match.append(Conversation.phone_e164.in_(list(phones)))
        if not match:
            return []
        stmt = select(Conversation).where(Conversation.tenant_id == self.tenant_id, or_(*match))
        return list((await self.session.execute(stmt)).scalars())

    async def message_ids(self, conversation_ids: Collection[uuid.UUID]) -> list[uuid.UUID]:
        found: list[uuid.UUID] = []
        for chunk in _chunks(conversation_ids):
            stmt = select(Message.id).where(
                Message.tenant_id == self.tenant_id, Message.conversation_id.in_(chunk)
            )
            found += list((await self.session.execute(stmt)).scalars())
        return found

    async def message_wamids(self, conversation_ids: Collection[uuid.UUID]) -> list[str]:
        found: list[str] = []
        for chunk in _chunks(conversation_ids):
            stmt = select(Message.wamid).where(
                Message.tenant_id == self.tenant_id,
                Message.conversation_id.in_(chunk),
                Message.wamid.is_not(None),
            )
            found += [w for w in (await self.session.execute(stmt)).scalars() if w]
        return found

    async def delete_messages(self, conversation_ids: Collection[uuid.UUID]) -> int:
        total = 0
        for chunk in _chunks(conversation_ids):
            result = await self.session.execute(
                delete(Message)
                .where(Message.tenant_id == self.tenant_id, Message.conversation_id.in_(chunk))
                .execution_options(synchronize_session=False)
            )
            total += _rowcount(result)
        return total

    async def delete_assistant_rows(self, *, customer_id: uuid.UUID, user_keys: Collection[str]) -> None:
        keys = list(user_keys)
        by_key = (lambda col: col.in_(keys)) if keys else (lambda col: false())
        for stmt in (
            delete(ConversationState).where(
                ConversationState.tenant_id == self.tenant_id, by_key(ConversationState.user_key)
            ),
            delete(VerificationCode).where(
                VerificationCode.tenant_id == self.tenant_id,
                or_(VerificationCode.customer_id == customer_id, by_key(VerificationCode.user_key)),
            ),
            delete(AssistantSession).where(
                AssistantSession.tenant_id == self.tenant_id,
                or_(AssistantSession.customer_id == customer_id, by_key(AssistantSession.user_key)),
            ),
            # The website's phone codes (requestPhoneCode) of the account.
            delete(PhoneCode).where(
                PhoneCode.tenant_id == self.tenant_id, PhoneCode.customer_id == customer_id
            ),
            delete(WhatsAppOptOut).where(
                WhatsAppOptOut.tenant_id == self.tenant_id, by_key(WhatsAppOptOut.user_key)
            ),
        ):
            await self.session.execute(stmt.execution_options(synchronize_session=False))

    async def anonymise_auth_events(
        self, *, customer_id: uuid.UUID, user_keys: Collection[str], phones: Collection[str]
    ) -> None:
        """Auth events stay (staff see that verifications happened) without whose phone it was."""
        match: list[ColumnElement[bool]] = [AuthEvent.customer_id == customer_id]
        if user_keys:
            match.append(AuthEvent.user_key.in_(list(user_keys)))
        if phones:
            match.append(AuthEvent.phone.in_(list(phones)))
        await self.session.execute(
            update(AuthEvent)
            .where(AuthEvent.tenant_id == self.tenant_id, or_(*match))
            .values(phone=None, user_key=ERASED_USER_KEY)
            .execution_options(synchronize_session=False)
        )

    async def anonymise_audit_actors(self, actors: Collection[str]) -> None:
        """``whatsapp:<phone>`` actors name the person: the entry stays, the phone goes."""
        if not actors:
            return
        await self.session.execute(
            update(AuditEntry)
            .where(AuditEntry.tenant_id == self.tenant_id, AuditEntry.actor.in_(list(actors)))
            .values(actor=ERASED_ACTOR)
            .execution_options(synchronize_session=False)
        )

    # --- inbox and outbox -----------------------------------------------------------------------------

    async def scrub_inbox(self, needles: Collection[str]) -> int:
        """Empty the stored webhooks that mention any of ``needles`` (phones, wamids, emails, CRM ids);
        an unprocessed one is marked processed so nothing acts on it. Returns how many."""
        words = {n for n in needles if n}
        if not words:
            return 0
        candidates = select(InboxEvent).where(
            InboxEvent.tenant_id == self.tenant_id,
            InboxEvent.payload != EMPTY_PAYLOAD,
            or_(*[InboxEvent.payload.contains(w, autoescape=True) for w in words]),
        )
        hits = [e for e in (await self.session.execute(candidates)).scalars() if _mentions(e.payload, words)]
        now = clock.now()
        for event in hits:
            event.payload = EMPTY_PAYLOAD
            event.last_error = None
            if event.processed_at is None:
                event.processed_at = now
        await self.session.flush()
        return len(hits)

    async def scrub_outbox(self, needles: Collection[str], *, keys: KeyRing) -> int:
        """Empty the outbox payloads that mention any of ``needles``; a row not run yet is cancelled
        (dead, "erased"): nothing is sent to or about the person any more. Returns how many."""
        words = {n for n in needles if n}
        if not words:
            return 0
        plain = select(OutboxRow).where(
            OutboxRow.tenant_id == self.tenant_id,
            OutboxRow.encrypted.is_(False),
            OutboxRow.payload != EMPTY_PAYLOAD,
            or_(*[OutboxRow.payload.contains(w, autoescape=True) for w in words]),
        )
        # Encrypted payloads can only be read here, one by one (they are the few carrying texts and codes).
        sealed = select(OutboxRow).where(OutboxRow.tenant_id == self.tenant_id, OutboxRow.encrypted.is_(True))
        hits: list[OutboxRow] = []
        for row in (await self.session.execute(plain)).scalars():
            if _mentions(row.payload, words):
                hits.append(row)
        for row in (await self.session.execute(sealed)).scalars():
            try:
                text = keys.decrypt(row.payload)
            except DecryptionError:
                continue
            if _mentions(text, words):
                hits.append(row)
        for row in hits:
            row.payload = EMPTY_PAYLOAD
            row.encrypted = False
            if row.status in (OutboxStatus.PENDING, OutboxStatus.DISPATCHED):
                row.status = OutboxStatus.DEAD
                row.last_error = "cancelled: the person's data was erased"
        await self.session.flush()
        return len(hits)


def _scalars(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _scalars(item)
    elif isinstance(value, list):
        for item in value:
            yield from _scalars(item)
    elif value is not None and not isinstance(value, bool):
        yield str(value)


def _mentions(text: str, words: Collection[str]) -> bool:
    """Whether a JSON payload holds one of ``words`` as a value or inside a text value (case-blind).

    Short words (a CRM id such as ``901``) match whole values only, so ``9012`` does not count."""
    try:
        values = list(_scalars(json.loads(text)))
    except ValueError:
        values = [text]
    lowered = [v.lower() for v in values]
    for word in words:
        w = word.lower()
        if len(w) < 8:
            if w in lowered:
                return True
        elif any(w in v for v in lowered):
            return True
    return False
