"""Website customer accounts of a tenant."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, Index, Integer, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from bizzly import clock
from bizzly.db.base import Base, TenantScoped, tenant_fk


class PhoneProof(StrEnum):
    """How an account's phone was shown to be its owner's (``Customer.phone_proven_by``)."""

    WHATSAPP = "whatsapp"  # verified in that phone's WhatsApp chat with the business
    WEBSITE = "website"  # confirmed a code sent to it (``confirmPhoneCode``)
    STAFF = "staff"  # entered by the business's staff, who vouch for their own record


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
    # Set when the phone is proven (PhoneProof); cleared whenever the phone changes without a proof.
    phone_proven_at: Mapped[datetime | None]
    phone_proven_by: Mapped[str | None] = mapped_column(String(16))
    # Null for an account created by staff that never set a password on the website.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now, onupdate=clock.now)

    @property
    def phone_proven(self) -> bool:
        """The business may start a WhatsApp conversation with this phone (and send codes into its chat)."""
        return self.phone_e164 is not None and self.phone_proven_at is not None


class PhoneCode(TenantScoped, Base):
    """A code sent to an account's phone through the business's WhatsApp number (``requestPhoneCode``).
    Only keyed digests are kept: of the code bound to the account and the phone, and of the phone (for the
    per-phone send limit), never the phone itself."""

    __tablename__ = "phone_codes"
    __table_args__ = (
        Index("ix_phone_codes_tenant_customer", "tenant_id", "customer_id", "created_at"),
        Index("ix_phone_codes_tenant_phone", "tenant_id", "phone_digest", "created_at"),
        Index("ix_phone_codes_tenant_created", "tenant_id", "created_at"),
        tenant_fk(["customer_id"], "customers", ondelete="CASCADE"),
    )

    customer_id: Mapped[uuid.UUID] = mapped_column(Uuid())
    phone_digest: Mapped[str] = mapped_column(String(64))
    code_hmac: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    dead_at: Mapped[datetime | None]
