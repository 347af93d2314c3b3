"""A website contact-form submission (a lead), and which website customers still have to reach the CRM."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bizzly import clock
from bizzly.db.base import Base, TenantScoped


class Lead(TenantScoped, Base):
    """What a visitor sent with the contact form, as sent. Its phone is never indexed nor copied onto an
    account or a CRM contact: anyone can type any email and phone into a public form.

    ``customer_id`` has no foreign key on purpose: deleting or erasing a customer must not be blocked by
    (or, with ``SET NULL``, null the ``tenant_id`` of) its leads; a stale id reads as "no account"."""

    __tablename__ = "leads"
    __table_args__ = (
        Index("ix_leads_tenant_email", "tenant_id", "email_key"),
        Index("ix_leads_tenant_push", "tenant_id", "push_pending"),
    )

    email: Mapped[str] = mapped_column(String(320))
    email_key: Mapped[str] = mapped_column(String(320))
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    phone_raw: Mapped[str | None] = mapped_column(String(64))
    phone_e164: Mapped[str | None] = mapped_column(String(20))
    message: Mapped[str | None] = mapped_column(Text)
    page_uri: Mapped[str | None] = mapped_column(String(2000))
    # HubSpot's tracking cookie (hubspotutk) from the visitor's browser: links the submission to page views.
    hutk: Mapped[str | None] = mapped_column(String(100))
    consent: Mapped[bool] = mapped_column(Boolean, default=False)
    customer_id: Mapped[uuid.UUID | None] = mapped_column()
    # domain.identity.models.SyncStatus values.
    sync_status: Mapped[str] = mapped_column(String(16))
    # Waiting for the next batched contact upsert (no HubSpot form configured).
    push_pending: Mapped[bool] = mapped_column(Boolean, default=False)
    hubspot_contact_id: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    synced_at: Mapped[datetime | None]


class CustomerPush(TenantScoped, Base):
    """A website customer changed on our side and not yet upserted to HubSpot (``pending``), and the
    HubSpot contact it became. Only customer services mark rows: an import from HubSpot never does, so
    nothing HubSpot sent is echoed back. No foreign key (see ``Lead``): a deleted customer's row is
    dropped by the push job."""

    __tablename__ = "customer_pushes"
    __table_args__ = (
        UniqueConstraint("tenant_id", "customer_id"),
        Index("ix_customer_pushes_tenant_pending", "tenant_id", "pending"),
    )

    customer_id: Mapped[uuid.UUID] = mapped_column()
    pending: Mapped[bool] = mapped_column(Boolean, default=True)
    changed_at: Mapped[datetime] = mapped_column(default=clock.now)
    pushed_at: Mapped[datetime | None]
    hubspot_contact_id: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(String(300))
