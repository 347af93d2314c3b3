"""One inbound message being handled by the engine: who sent it, where, and the conversation state as loaded.

The engine (``service.py``), the codes (``codes.py``), the profile choice (``profiles.py``) and the dialogue
of a verified customer (``dialogue.py``) all work on the one :class:`Turn`: it alone writes the sender's
conversation state, and it knows the tenant's time zone, date order and services for understanding.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bizzly.crypto import KeyRing
from bizzly.ids import new_id
from bizzly.settings import Settings
from domain.assistant import tools
from domain.assistant.hooks import ProtectedHandler, PublicAnswerer
from domain.assistant.messages import ChannelInfo, Reply, Sender
from domain.assistant.models import AuthEvent, AuthEventKind
from domain.assistant.moments import date_order
from domain.assistant.repository import AssistantStore
from domain.assistant.understanding import Ask, understand
from domain.catalog.models import Service
from tenants.models import Tenant

log = logging.getLogger("bizzly.assistant")

STATE_TTL = timedelta(hours=24)


@dataclass
class Turn:
    """One message being handled: who, where, and the state as loaded."""

    session: AsyncSession
    store: AssistantStore
    tenant: Tenant
    sender: Sender
    user_key: str
    channel: ChannelInfo
    keys: KeyRing
    settings: Settings
    now: datetime
    state: dict[str, Any] = field(default_factory=dict)
    # The verified account, and the tenant's services, once the dialogue takes the message (``verified_as``).
    customer_id: uuid.UUID | None = None
    services: list[Service] = field(default_factory=list)
    # Set right after the turn exists: the default answerers keep their state and questions in it.
    public: PublicAnswerer = field(init=False)
    protected: ProtectedHandler = field(init=False)

    @property
    def phone(self) -> str | None:
        if self.sender.phone_e164:
            return self.sender.phone_e164[:20]
        wa_id = self.sender.wa_id
        return f"+{wa_id}"[:20] if wa_id and wa_id.isdigit() else None

    @property
    def actor(self) -> str:
        return f"whatsapp:{self.phone or self.user_key}"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tenant.timezone)

    @property
    def today(self) -> date:
        """The tenant's date now."""
        return self.now.astimezone(self.zone).date()

    @property
    def order(self) -> str:
        """How the tenant's customers write dates ("DMY", "MDY": ``moments.date_order``)."""
        return date_order(self.tenant.default_region)

    @property
    def ctx(self) -> tools.ToolContext:
        """Who calls the tools: the verified account (None before) as the audit log names this sender."""
        return tools.ToolContext(session=self.session, customer_id=self.customer_id, actor=self.actor)

    async def verified_as(self, customer_id: uuid.UUID) -> None:
        """The dialogue takes over for ``customer_id``: its account and the tenant's services."""
        self.customer_id = customer_id
        self.services = await tools.list_services(self.session)

    def understand(self, text: str) -> Ask:
        return understand(text, names=[s.name for s in self.services], today=self.today, order=self.order)

    def service(self, service_id: Any) -> Service | None:
        return next((s for s in self.services if str(s.id) == str(service_id)), None)

    def event(self, kind: AuthEventKind, customer_id: uuid.UUID | None) -> None:
        self.store.add_event(
            AuthEvent(
                id=new_id(),
                kind=kind.value,
                phone=self.phone,
                user_key=self.user_key,
                customer_id=customer_id,
                created_at=self.now,
            )
        )
        # Ids only: never the code, its digest or the phone.
        log.info("assistant auth event %s", kind.value)

    async def save(self, state: dict[str, Any]) -> None:
        self.state = state
        await self.store.save_state(self.user_key, state, expires_at=self.now + STATE_TTL, now=self.now)

    async def clear(self) -> None:
        self.state = {}
        await self.store.clear_state(self.user_key)

    async def drop(self, key: str) -> None:
        """The state without ``key`` (cleared when nothing else is left)."""
        state = {k: v for k, v in self.state.items() if k != key}
        if state:
            await self.save(state)
        else:
            await self.clear()

    async def answer_public(self, text: str) -> list[Reply] | None:
        """The public answer to ``text``, or None when it is no public question."""
        return await self.public.answer(self.session, tenant_id=self.tenant.id, text=text)


def as_uuid(value: Any) -> uuid.UUID | None:
    """A UUID kept in the conversation state, or None (absent or malformed)."""
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None
