"""Rules for conversations: one per channel user, inbound messages stored once, outbound messages queued
through the outbox (topic ``<channel>.send``), statuses applied monotonically, the 24-hour window.

Functions take a tenant-bound session and never commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bizzly import clock
from bizzly.crypto import KeyRing
from bizzly.db.paging import Page, PageRequest
from bizzly.errors import NotFound
from bizzly.outbox import add_outbox
from domain.conversations.models import (
    STATUS_RANK,
    Conversation,
    Direction,
    Message,
    MessageStatus,
)
from domain.conversations.repository import Conversations

# WhatsApp's customer service window: free-form replies only within 24 hours of the customer's last message.
SERVICE_WINDOW = timedelta(hours=24)
REDACTED_CODE = "Your verification code is: ••••••"


@dataclass(frozen=True)
class Sender:
    """Who wrote: a WhatsApp id (phone digits) and/or Meta's business-scoped user id, and a display name."""

    wa_id: str | None
    meta_user_id: str | None = None
    name: str | None = None

    @property
    def user_key(self) -> str:
        if self.wa_id:
            return self.wa_id
        if self.meta_user_id:
            return f"bsuid:{self.meta_user_id}"
        raise ValueError("a sender needs a WhatsApp id or a Meta user id")

    @property
    def phone_e164(self) -> str | None:
        return f"+{self.wa_id}" if self.wa_id and self.wa_id.isdigit() else None


@dataclass(frozen=True)
class Template:
    """An approved template: ``params`` fill the body; ``code`` makes it an authentication template (the
    code goes in the body and in the copy-code button, as Meta requires)."""

    name: str
    language: str = "en_US"
    params: Sequence[str] = ()
    code: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "language": self.language, "params": list(self.params), "code": self.code}


@dataclass(frozen=True)
class Reply:
    """What to send: text with optional choices ``(id, title)`` (buttons or a list, else numbered text), or a
    template. ``fallback`` is sent instead when the 24-hour window has closed."""

    text: str = ""
    choices: Sequence[tuple[str, str]] = ()
    list_button: str = "Choose"
    template: Template | None = None
    fallback: Template | None = None
    # The text kept in the message log instead of the real one (a body holding a verification code).
    log_text: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def send_topic(channel: str) -> str:
    return f"{channel}.send"


def in_window(conversation: Conversation, *, now: datetime | None = None) -> bool:
    last = conversation.last_inbound_at
    return last is not None and (now or clock.now()) - last < SERVICE_WINDOW


async def record_inbound(
    session: AsyncSession,
    *,
    channel: str,
    connection_id: uuid.UUID | None,
    sender: Sender,
    wamid: str,
    kind: str,
    body: str | None,
    reply_id: str | None = None,
    media_id: str | None = None,
    sent_at: datetime | None = None,
) -> tuple[Conversation, Message] | None:
    """Store an inbound message in its conversation (made on first contact). None when ``wamid`` is
    already stored (a duplicate)."""
    repo = Conversations(session)
    if await repo.message_by_wamid(wamid) is not None:
        return None
    now = clock.now()
    conversation = await repo.by_user(channel, sender.user_key)
    if conversation is None:
        conversation = Conversation(
            tenant_id=repo.tenant_id,
            channel=channel,
            user_key=sender.user_key,
            created_at=now,
            last_message_at=now,
        )
        repo.add(conversation)
    conversation.connection_id = connection_id or conversation.connection_id
    conversation.phone_e164 = sender.phone_e164 or conversation.phone_e164
    conversation.meta_user_id = sender.meta_user_id or conversation.meta_user_id
    conversation.display_name = (sender.name or conversation.display_name or "")[:200] or None
    conversation.last_inbound_at = now
    conversation.last_message_at = now
    await session.flush()
    message = Message(
        tenant_id=repo.tenant_id,
        conversation_id=conversation.id,
        direction=Direction.INBOUND,
        kind=kind[:24],
        body=body,
        reply_id=reply_id,
        media_id=media_id,
        wamid=wamid,
        status=MessageStatus.RECEIVED,
        sent_at=sent_at,
        created_at=now,
    )
    repo.add(message)
    await session.flush()
    return conversation, message


async def conversation_for_phone(session: AsyncSession, *, channel: str, phone: str) -> Conversation:
    """The conversation with a phone (E.164) that the business writes to first (a notice, a code): the
    existing one, else a new one keyed by WhatsApp's id of the phone (its digits)."""
    repo = Conversations(session)
    user_key = phone.lstrip("+")
    found = await repo.by_user(channel, user_key)
    if found is not None:
        return found
    now = clock.now()
    made = Conversation(
        tenant_id=repo.tenant_id,
        channel=channel,
        user_key=user_key,
        phone_e164=phone,
        created_at=now,
        last_message_at=now,
    )
    repo.add(made)
    await session.flush()
    return made


async def queue_reply(
    session: AsyncSession, *, keys: KeyRing, conversation: Conversation, reply: Reply
) -> Message:
    """Log an outbound message as QUEUED and write its send to the outbox in the caller's transaction.

    The outbox payload (which may hold a verification code and always holds personal data) is encrypted;
    the log keeps ``reply.log_text`` when given (a redacted body)."""
    repo = Conversations(session)
    now = clock.now()
    if reply.template is not None:
        kind = "template"
        logged = reply.log_text or (
            REDACTED_CODE if reply.template.code else f"[template {reply.template.name}]"
        )
    else:
        kind = "interactive" if reply.choices else "text"
        logged = reply.log_text if reply.log_text is not None else reply.text
    message = Message(
        tenant_id=repo.tenant_id,
        conversation_id=conversation.id,
        direction=Direction.OUTBOUND,
        kind=kind,
        body=logged,
        status=MessageStatus.QUEUED,
        created_at=now,
    )
    repo.add(message)
    conversation.last_message_at = now
    await session.flush()
    await add_outbox(
        session,
        topic=send_topic(conversation.channel),
        payload={
            "message_id": str(message.id),
            "text": reply.text,
            "choices": [list(c) for c in reply.choices],
            "list_button": reply.list_button,
            "template": reply.template.as_dict() if reply.template else None,
            "fallback": reply.fallback.as_dict() if reply.fallback else None,
            **reply.extra,
        },
        keys=keys,
        dedupe_key=f"send:{message.id}",
    )
    return message


def mark_sent(message: Message, *, wamid: str) -> None:
    message.wamid = wamid
    _advance(message, MessageStatus.SENT, at=clock.now())


def mark_failed(message: Message, *, code: int | None, error: str) -> None:
    message.error_code = code
    message.error = error[:500]
    message.status = MessageStatus.FAILED
    message.status_at = clock.now()


def _advance(message: Message, status: MessageStatus, *, at: datetime) -> bool:
    if STATUS_RANK.get(status, -1) <= STATUS_RANK.get(message.status, -1):
        return False
    message.status = status
    message.status_at = at
    return True


async def apply_status(
    session: AsyncSession,
    *,
    wamid: str,
    status: str,
    at: datetime,
    error_code: int | None = None,
    error: str | None = None,
) -> Message | None:
    """Apply a provider's status to the outbound message with ``wamid``, only ever forwards (statuses
    arrive in any order). None when no message has this id (yet)."""
    message = await Conversations(session).message_by_wamid(wamid)
    if message is None:
        return None
    try:
        value = MessageStatus(status)
    except ValueError:
        return message
    if value not in STATUS_RANK:
        return message
    if _advance(message, value, at=at) and value == MessageStatus.FAILED:
        message.error_code = error_code
        message.error = (error or "failed")[:500]
    return message


async def get_conversation(session: AsyncSession, *, conversation_id: uuid.UUID) -> Conversation:
    found = await Conversations(session).get(conversation_id)
    if found is None:
        raise NotFound("No such conversation.")
    return found


async def list_conversations(session: AsyncSession, *, page: PageRequest) -> Page[Conversation]:
    return await Conversations(session).page(page)


async def conversation_messages(
    session: AsyncSession, *, conversation_id: uuid.UUID, page: PageRequest
) -> Page[Message]:
    return await Conversations(session).messages(conversation_id, page)


async def latest_messages(
    session: AsyncSession, *, conversation_ids: Sequence[uuid.UUID], n: int
) -> dict[uuid.UUID, Page[Message]]:
    return await Conversations(session).latest_messages(conversation_ids, n)
