"""The audit log: who (staff, customer, WhatsApp, system) did what to which object, per tenant."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Index, String, Text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from bizzly import clock
from bizzly.db.base import Base, TenantScoped
from bizzly.ids import new_id


class AuditEntry(TenantScoped, Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_tenant_created", "tenant_id", "created_at"),)

    action: Mapped[str] = mapped_column(String(80))  # e.g. "booking.created"
    actor: Mapped[str] = mapped_column(
        String(200)
    )  # "staff:<email>", "customer:<id>", "whatsapp:<phone>", "system"
    subject_type: Mapped[str] = mapped_column(String(40))  # GraphQL type name, e.g. "Booking"
    subject_id: Mapped[uuid.UUID | None]
    detail: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)


def record(
    session: AsyncSession,
    *,
    actor: str,
    action: str,
    subject_type: str,
    subject_id: uuid.UUID | None,
    detail: str | None = None,
) -> AuditEntry:
    """Add an audit entry in the caller's transaction (services call this; they never commit)."""
    entry = AuditEntry(
        id=new_id(),
        actor=actor,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        detail=detail,
    )
    session.add(entry)
    return entry
