"""Website customer accounts of a tenant."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bizzly import clock
from bizzly.db.base import Base, TenantScoped


class Customer(TenantScoped, Base):
    __tablename__ = "customers"
    __table_args__ = (
        UniqueConstraint("tenant_id", "email_key"),
        Index("ix_customers_tenant_phone", "tenant_id", "phone_e164"),
        # WhatsApp users may arrive with Meta's business-scoped user id and no phone.
        Index("ix_customers_tenant_meta_user", "tenant_id", "meta_user_id"),
    )

    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    # Lower-cased email: uniqueness per tenant is case-insensitive on both dialects.
    email_key: Mapped[str] = mapped_column(String(320))
    phone_raw: Mapped[str | None] = mapped_column(String(64))
    phone_e164: Mapped[str | None] = mapped_column(String(20))
    whatsapp_opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    meta_user_id: Mapped[str | None] = mapped_column(String(128))
    # Null for an account created by staff that never set a password on the website.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now, onupdate=clock.now)
