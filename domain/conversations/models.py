"""A conversation per (tenant, channel user) and its messages, inbound and outbound."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from bizzly import clock
from bizzly.db.base import Base, TenantScoped, tenant_fk


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class MessageStatus(StrEnum):
    RECEIVED = "received"
    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"


# Outbound statuses only move forward: a late "sent" never undoes "read". FAILED wins over everything
# except READ (a read message was delivered, whatever Meta says afterwards).
STATUS_RANK: dict[str, int] = {
    MessageStatus.QUEUED: 0,
    MessageStatus.SENT: 1,
    MessageStatus.DELIVERED: 2,
    MessageStatus.FAILED: 3,
    MessageStatus.READ: 4,
}


class Conversation(TenantScoped, Base):
    __tablename__ = "conversations"
    __table_args__ = (
        # One conversation per channel user: ``user_key`` is the WhatsApp id (digits) or, for a sender
        # that came with no phone, ``bsuid:<Meta user id>``.
        UniqueConstraint("tenant_id", "channel", "user_key"),
        Index("ix_conversations_tenant_last", "tenant_id", "last_message_at"),
    )

    channel: Mapped[str] = mapped_column(String(16), default="whatsapp")
    user_key: Mapped[str] = mapped_column(String(160))
    connection_id: Mapped[uuid.UUID | None] = mapped_column(Uuid())
    phone_e164: Mapped[str | None] = mapped_column(String(20))
    meta_user_id: Mapped[str | None] = mapped_column(String(128))
    display_name: Mapped[str | None] = mapped_column(String(200))
    # The account the conversation is verified as (set by the assistant's verification).
    customer_id: Mapped[uuid.UUID | None] = mapped_column(Uuid())
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    # The customer's last message opens WhatsApp's 24-hour window for free-form replies.
    last_inbound_at: Mapped[datetime | None]
    last_message_at: Mapped[datetime] = mapped_column(default=clock.now)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)


class Message(TenantScoped, Base):
    __tablename__ = "messages"
    __table_args__ = (
        tenant_fk(["conversation_id"], "conversations", ondelete="CASCADE"),
        # Meta's message id: an inbound message is stored once; statuses find outbound ones by it.
        UniqueConstraint("tenant_id", "wamid"),
        Index("ix_messages_tenant_conversation", "tenant_id", "conversation_id", "created_at"),
        # Retention (30 days) purges by age.
        Index("ix_messages_created_at", "created_at"),
    )

    conversation_id: Mapped[uuid.UUID] = mapped_column(Uuid())
    direction: Mapped[str] = mapped_column(String(8))
    # text, interactive, template, image, audio, voice, video, document, sticker, location, ...
    kind: Mapped[str] = mapped_column(String(24), default="text")
    # Never a verification code: such bodies are stored redacted.
    body: Mapped[str | None] = mapped_column(Text)
    # The id of an interactive reply (button or list row) the customer chose.
    reply_id: Mapped[str | None] = mapped_column(String(256))
    # Media is never downloaded: its Meta id is all that is kept.
    media_id: Mapped[str | None] = mapped_column(String(256))
    wamid: Mapped[str | None] = mapped_column(String(256))
    status: Mapped[str] = mapped_column(String(12))
    error_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    # The provider's time of the message (inbound) or of its latest status (outbound).
    sent_at: Mapped[datetime | None]
    status_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
