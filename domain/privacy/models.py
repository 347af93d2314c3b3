"""A record that a customer was erased (so a second request is told so) -- ids only; and the index
retention needs on the inbox."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Index, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from bizzly import clock
from bizzly.db.base import Base, TenantScoped
from bizzly.outbox import InboxEvent


class CustomerErasure(TenantScoped, Base):
    __tablename__ = "customer_erasures"
    # No foreign key: the record outlives the account should it be deleted later.
    __table_args__ = (UniqueConstraint("tenant_id", "customer_id"),)

    customer_id: Mapped[uuid.UUID] = mapped_column(Uuid())
    erased_at: Mapped[datetime] = mapped_column(default=clock.now)


# Retention deletes stored webhooks by age, tenant by tenant. The inbox table is the kernel's
# (``bizzly.outbox``); its retention index is declared here, with the work that needs it.
Index("ix_inbox_tenant_received", InboxEvent.tenant_id, InboxEvent.received_at)
