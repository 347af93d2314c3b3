"""The assistant's tables: verification codes, sessions, conversation state, auth events and opt-outs.

Every row is keyed by the channel user (``user_key``: the WhatsApp id, or ``bsuid:<Meta user id>`` for a
sender that came without a phone), never by anything a message could claim.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from bizzly import clock
from bizzly.db.base import Base, TenantScoped, tenant_fk


class AuthEventKind(StrEnum):
    CODE_SENT = "CODE_SENT"
    CODE_FAILED = "CODE_FAILED"
    VERIFIED = "VERIFIED"
    LOCKED = "LOCKED"
    LOGGED_OUT = "LOGGED_OUT"
    SESSION_EXPIRED = "SESSION_EXPIRED"
    RATE_LIMITED = "RATE_LIMITED"


class SessionEnd(StrEnum):
    LOGGED_OUT = "logged_out"
    EXPIRED = "expired"


class Delivery(StrEnum):
    CHAT = "chat"  # the account's own phone: the code goes into the chat
    EMAIL = "email"  # reached only through a CRM contact: the code goes to the account's email


class VerificationCode(TenantScoped, Base):
    """One issued code. Only its keyed digest is kept; ``dead_at`` ends it early (3 wrong entries or a newer
    code), ``used_at`` when it verified someone."""

    __tablename__ = "assistant_codes"
    __table_args__ = (
        Index("ix_assistant_codes_tenant_user", "tenant_id", "user_key", "created_at"),
        # The per-tenant issuance ceiling counts the last hour's codes.
        Index("ix_assistant_codes_tenant_created", "tenant_id", "created_at"),
        tenant_fk(["customer_id"], "customers", ondelete="CASCADE"),
    )

    user_key: Mapped[str] = mapped_column(String(160))
    customer_id: Mapped[uuid.UUID] = mapped_column(Uuid())
    code_hmac: Mapped[str] = mapped_column(String(64))
    delivery: Mapped[str] = mapped_column(String(8))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    dead_at: Mapped[datetime | None]


class AssistantSession(TenantScoped, Base):
    """A verified session of one channel user as one account. An expired one is kept (30 days) as the
    marker that lets the assistant say "expired" rather than treat the person as new."""

    __tablename__ = "assistant_sessions"
    __table_args__ = (
        Index("ix_assistant_sessions_tenant_user", "tenant_id", "user_key", "started_at"),
        tenant_fk(["customer_id"], "customers", ondelete="CASCADE"),
    )

    user_key: Mapped[str] = mapped_column(String(160))
    customer_id: Mapped[uuid.UUID] = mapped_column(Uuid())
    started_at: Mapped[datetime] = mapped_column(default=clock.now)
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(16))


class ConversationState(TenantScoped, Base):
    """Where a channel user is in the dialogue (a pending profile choice or code, a remembered request),
    as JSON, until ``expires_at``."""

    __tablename__ = "assistant_states"
    __table_args__ = (UniqueConstraint("tenant_id", "user_key"),)

    user_key: Mapped[str] = mapped_column(String(160))
    state: Mapped[str] = mapped_column(Text, default="{}")
    expires_at: Mapped[datetime]
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)


class AuthEvent(TenantScoped, Base):
    """One step of verification, shown to staff (``authEvents``). Never holds a code or its digest."""

    __tablename__ = "auth_events"
    __table_args__ = (Index("ix_auth_events_tenant_created", "tenant_id", "created_at"),)

    kind: Mapped[str] = mapped_column(String(20))
    phone: Mapped[str | None] = mapped_column(String(20))
    user_key: Mapped[str] = mapped_column(String(160))
    customer_id: Mapped[uuid.UUID | None] = mapped_column(Uuid())
    created_at: Mapped[datetime] = mapped_column(default=clock.now)


class WhatsAppOptOut(TenantScoped, Base):
    """A channel user who said "stop" (with or without an account): no business-initiated messages."""

    __tablename__ = "whatsapp_opt_outs"
    __table_args__ = (UniqueConstraint("tenant_id", "user_key"),)

    user_key: Mapped[str] = mapped_column(String(160))
    phone: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)


class AssistantModelConfig(TenantScoped, Base):
    """The tenant's OpenAI-compatible model for free text (none: deterministic understanding only). The
    key is encrypted with the KeyRing and never leaves the server."""

    __tablename__ = "assistant_models"
    __table_args__ = (UniqueConstraint("tenant_id"),)

    base_url: Mapped[str] = mapped_column(String(500))
    model: Mapped[str] = mapped_column(String(200))
    api_key_encrypted: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now, onupdate=clock.now)
