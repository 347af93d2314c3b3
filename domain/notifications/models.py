"""Per-tenant notification settings and one row per notification decided (sent, failed or skipped)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from bizzly import clock
from bizzly.db.base import Base, TenantScoped


class NotificationKind(StrEnum):
    BOOKING_CONFIRMATION = "BOOKING_CONFIRMATION"
    BOOKING_REMINDER = "BOOKING_REMINDER"
    BOOKING_CANCELLED = "BOOKING_CANCELLED"
    BOOKING_RESCHEDULED = "BOOKING_RESCHEDULED"
    OWNER_NEW_BOOKING = "OWNER_NEW_BOOKING"
    OWNER_NEW_LEAD = "OWNER_NEW_LEAD"
    OWNER_INTEGRATION_ERROR = "OWNER_INTEGRATION_ERROR"


class NotificationChannel(StrEnum):
    WHATSAPP = "WHATSAPP"
    EMAIL = "EMAIL"
    NONE = "NONE"


class NotificationStatus(StrEnum):
    PENDING = "PENDING"  # decided, not sent yet (or handed to WhatsApp, not accepted yet)
    SENT = "SENT"
    DELIVERED = "DELIVERED"
    READ = "READ"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"  # decided not to send: ``error`` says why


class NotificationSettings(TenantScoped, Base):
    """One row per tenant; a tenant without one has the defaults below."""

    __tablename__ = "notification_settings"
    __table_args__ = (UniqueConstraint("tenant_id"),)

    booking_confirmation: Mapped[bool] = mapped_column(Boolean, default=True)
    # Hours before the start; 0 turns reminders off.
    reminder_hours_before: Mapped[int] = mapped_column(Integer, default=24)
    cancellation: Mapped[bool] = mapped_column(Boolean, default=True)
    owner_new_booking: Mapped[bool] = mapped_column(Boolean, default=True)
    owner_new_lead: Mapped[bool] = mapped_column(Boolean, default=True)
    owner_integration_error: Mapped[bool] = mapped_column(Boolean, default=True)
    # Null: the owner's account email.
    owner_email: Mapped[str | None] = mapped_column(String(320))
    updated_at: Mapped[datetime] = mapped_column(default=clock.now, onupdate=clock.now)


class Notification(TenantScoped, Base):
    """A notification decided once: ``dedupe_key`` is unique per tenant (e.g. ``reminder:<booking>:<start>``),
    so a scheduler that ticks twice or a handler that runs again finds the decision already made."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("tenant_id", "dedupe_key"),
        Index("ix_notifications_tenant_created", "tenant_id", "created_at", "id"),
        Index("ix_notifications_tenant_booking", "tenant_id", "booking_id"),
    )

    kind: Mapped[str] = mapped_column(String(32))
    dedupe_key: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=NotificationStatus.PENDING)
    # Masked (``a***@example.com``, ``+44•••••••123``): the address itself is read when sending.
    recipient: Mapped[str | None] = mapped_column(String(320))
    error: Mapped[str | None] = mapped_column(Text)
    # What it is about (no foreign keys: the notification outlives a deleted booking as a delivery record).
    booking_id: Mapped[uuid.UUID | None] = mapped_column(Uuid())
    customer_id: Mapped[uuid.UUID | None] = mapped_column(Uuid())
    subject_id: Mapped[uuid.UUID | None] = mapped_column(Uuid())
    # What an owner alert says (a fixed text such as "Reconnect HubSpot"; never personal data).
    detail: Mapped[str | None] = mapped_column(Text)
    # The booking's start the notice is about: a reminder for another start (moved booking) is not sent.
    starts_at: Mapped[datetime | None]
    # The WhatsApp message it was sent as (its status is the notification's delivery status).
    message_id: Mapped[uuid.UUID | None] = mapped_column(Uuid())
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    sent_at: Mapped[datetime | None]
