"""HubSpot's own tables: the single-use OAuth states and each portal's shared request budget."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bizzly import clock
from bizzly.db.base import Base, TenantScoped


class HubSpotOAuthState(TenantScoped, Base):
    """One "Connect HubSpot" link: the state's nonce (hashed), who asked, until when; used once."""

    __tablename__ = "hubspot_oauth_states"
    __table_args__ = (UniqueConstraint("tenant_id", "nonce_hash"),)

    nonce_hash: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[uuid.UUID] = mapped_column()
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=clock.now)


class HubSpotRateWindow(TenantScoped, Base):
    """The times (epoch seconds, JSON list) of a portal's requests in the current rolling window.

    Every worker process takes a request slot by updating this row under its row lock, so a portal's
    budget is shared across processes. ``kind`` is ``api`` (the ten-second window) or ``search``."""

    __tablename__ = "hubspot_rate_windows"
    __table_args__ = (UniqueConstraint("tenant_id", "portal_id", "kind"),)

    portal_id: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))
    stamps: Mapped[str] = mapped_column(Text, default="[]")
