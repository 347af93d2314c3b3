"""The per-tenant connection record and the cross-tenant routing-key table."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from bizzly import clock
from bizzly.db.base import Base, TenantScoped
from bizzly.ids import new_id


class Provider(StrEnum):
    WHATSAPP = "whatsapp"
    HUBSPOT = "hubspot"
    GOOGLE_ANALYTICS = "google_analytics"


class ConnectionStatus(StrEnum):
    CONNECTED = "connected"
    NEEDS_REAUTH = "needs_reauth"
    ERROR = "error"
    DISCONNECTED = "disconnected"


class ProviderConnection(TenantScoped, Base):
    """One connection of a tenant to a provider. Reconnecting adds a new row and marks the previous one
    disconnected, so the history is kept; at most one row per (tenant, provider) is live at a time by rule
    (the service), not by constraint, because the history rows share the pair."""

    __tablename__ = "connections"
    __table_args__ = (Index("ix_connections_tenant_provider", "tenant_id", "provider", "created_at"),)

    provider: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default=ConnectionStatus.CONNECTED)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    # Non-secret settings (ids, template names) as JSON text.
    config: Mapped[str] = mapped_column(Text, default="{}")
    # A key-ring ciphertext of a JSON object of secrets (tokens, app secrets); never logged.
    secrets: Mapped[str | None] = mapped_column(Text)
    last_success_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None]
    disconnected_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now, onupdate=clock.now)


class RoutingKey(Base):
    """(provider, external id) -> tenant + connection, read before the tenant is known (webhooks).

    A system table exempt from row-level security (see ``RLS_EXEMPT``): it holds ids only, no tenant data,
    and is read with ``MaintenanceUse.WEBHOOK_ROUTING``. The unique key makes a phone number id (or a
    HubSpot portal id) belong to one tenant at most."""

    __tablename__ = "connection_routes"
    __table_args__ = (
        UniqueConstraint("provider", "external_id"),
        Index("ix_connection_routes_tenant", "tenant_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid(), primary_key=True, default=new_id)
    provider: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(128))
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid(), ForeignKey("tenants.id", ondelete="CASCADE"))
    connection_id: Mapped[uuid.UUID] = mapped_column(Uuid())
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
