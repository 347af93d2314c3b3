"""CRM contacts (mirrored from the tenant's CRM) and the one phone lookup index over them and customers."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bizzly import clock
from bizzly.db.base import Base, TenantScoped, tenant_fk

# What a CRM contact's columns hold (characters); the CRM import refuses or cuts values to these.
EXTERNAL_ID_MAX = 64
EMAIL_MAX = 320
NAME_MAX = 200
PHONE_RAW_MAX = 64


class SyncStatus(StrEnum):
    PENDING = "PENDING"
    SYNCED = "SYNCED"
    FAILED = "FAILED"
    NOT_CONNECTED = "NOT_CONNECTED"


class LinkSource(StrEnum):
    EMAIL = "email"  # same email as the account (set and cleared automatically)
    MANUAL = "manual"  # linked or unlinked by hand: automatic linking by email leaves it alone


class OwnerKind(StrEnum):
    CUSTOMER = "customer"
    CRM_CONTACT = "crm_contact"


class CrmContact(TenantScoped, Base):
    """A contact of the tenant's CRM (HubSpot), with its link to a website account when there is one."""

    __tablename__ = "crm_contacts"
    __table_args__ = (
        UniqueConstraint("tenant_id", "external_id"),
        Index("ix_crm_contacts_tenant_email", "tenant_id", "email_key"),
        Index("ix_crm_contacts_tenant_customer", "tenant_id", "customer_id"),
        # No ON DELETE SET NULL: it would null tenant_id too. Unlinking happens in code before a delete.
        tenant_fk(["customer_id"], "customers"),
    )

    external_id: Mapped[str] = mapped_column(String(EXTERNAL_ID_MAX))  # the CRM's id (HubSpot contact id)
    email: Mapped[str | None] = mapped_column(String(EMAIL_MAX))
    email_key: Mapped[str | None] = mapped_column(String(EMAIL_MAX))
    first_name: Mapped[str | None] = mapped_column(String(NAME_MAX))
    last_name: Mapped[str | None] = mapped_column(String(NAME_MAX))
    # HubSpot's phone, mobilephone and WhatsApp phone properties; raw as the CRM holds them.
    phone_raw: Mapped[str | None] = mapped_column(String(PHONE_RAW_MAX))
    phone_e164: Mapped[str | None] = mapped_column(String(20))
    mobile_raw: Mapped[str | None] = mapped_column(String(PHONE_RAW_MAX))
    mobile_e164: Mapped[str | None] = mapped_column(String(20))
    whatsapp_raw: Mapped[str | None] = mapped_column(String(PHONE_RAW_MAX))
    whatsapp_e164: Mapped[str | None] = mapped_column(String(20))
    customer_id: Mapped[uuid.UUID | None] = mapped_column()
    link_source: Mapped[str | None] = mapped_column(String(16))
    sync_status: Mapped[str] = mapped_column(String(16), default=SyncStatus.PENDING.value)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now, onupdate=clock.now)

    def phones(self) -> set[str]:
        return {p for p in (self.phone_e164, self.mobile_e164, self.whatsapp_e164) if p}

    @property
    def display_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p)


class PhoneIndexEntry(TenantScoped, Base):
    """One phone of one owner (a customer's profile phone, or one of a CRM contact's phones).

    Maintained by the services on every write, so a lookup is one index range scan on (tenant_id, e164).
    """

    __tablename__ = "phone_index"
    __table_args__ = (
        # Leads with (tenant_id, e164): this is the lookup index.
        UniqueConstraint("tenant_id", "e164", "owner_kind", "owner_id"),
        Index("ix_phone_index_tenant_owner", "tenant_id", "owner_kind", "owner_id"),
    )

    e164: Mapped[str] = mapped_column(String(20))
    owner_kind: Mapped[str] = mapped_column(String(16))
    owner_id: Mapped[uuid.UUID] = mapped_column()
