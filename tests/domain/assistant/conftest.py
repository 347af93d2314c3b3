"""A customer chatting with the assistant: each message is handled in its own transaction, as the channel's
worker would, straight through ``handle_message``."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from sqlalchemy import select

from bizzly.db.engine import MaintenanceUse
from bizzly.outbox import OutboxRow
from domain.assistant import service, texts
from domain.assistant.hooks import MenuHandler
from domain.assistant.messages import ChannelInfo, Inbound, Reply, Sender
from domain.assistant.models import (
    AssistantSession,
    AuthEvent,
    ConversationState,
    VerificationCode,
    WhatsAppOptOut,
)
from tests.support.accounts import SignedUp, _services, sign_up
from tests.support.customers import row_id
from tests.support.graphql import GraphQLClient

PHONE = "+447700900123"
WA_ID = PHONE.lstrip("+")
CODE_TEXT = re.compile(r"^Your verification code is: (\d{6})\nThis code expires in 10 minutes\.$")
ASSISTANT_TABLES = (ConversationState, VerificationCode, AssistantSession, AuthEvent, WhatsAppOptOut)


def code_of(reply: Reply) -> str:
    match = CODE_TEXT.match(reply.text)
    assert match, reply.text
    assert reply.holds_code
    return match.group(1)


def wrong(code: str, n: int = 1) -> str:
    """A six-digit code that is certainly not ``code``."""
    return f"{(int(code) + n) % 1_000_000:06d}"


@dataclass
class RecordingHandler(MenuHandler):
    """The default protected hook, remembering who it answered."""

    calls: list[tuple[uuid.UUID, str]] = field(default_factory=list)

    async def handle(
        self, session: Any, *, tenant_id: uuid.UUID, customer_id: uuid.UUID, text: str
    ) -> list[Reply]:
        self.calls.append((customer_id, text))
        return await super().handle(session, tenant_id=tenant_id, customer_id=customer_id, text=text)


@dataclass
class Chat:
    gql: GraphQLClient
    owner: SignedUp
    sender: Sender = field(default_factory=lambda: Sender(wa_id=WA_ID, phone_e164=PHONE))
    channel: ChannelInfo = field(default_factory=ChannelInfo)
    handler: RecordingHandler = field(default_factory=RecordingHandler)
    settings_overrides: dict[str, Any] = field(default_factory=dict)

    @property
    def services(self) -> Any:
        return _services(self.gql)

    @property
    def tenant_id(self) -> uuid.UUID:
        return row_id(self.owner.tenant_id)

    async def send(self, inbound: Inbound) -> list[Reply]:
        services = self.services
        settings = services.settings.model_copy(update=self.settings_overrides)
        async with services.db.tenant_session(self.tenant_id, write=True) as s, s.begin():
            return await service.handle_message(
                s,
                tenant_id=self.tenant_id,
                sender=self.sender,
                inbound=inbound,
                channel=self.channel,
                keys=services.keys,
                settings=settings,
                protected=self.handler,
            )

    async def say(self, text: str) -> list[Reply]:
        return await self.send(Inbound(kind="text", text=text))

    async def tap(self, reply_id: str, title: str = "") -> list[Reply]:
        return await self.send(Inbound(kind="interactive", text=title, reply_id=reply_id))

    async def texts(self, text: str) -> list[str]:
        return [r.text for r in await self.say(text)]

    async def verify(self, text: str = "Hi") -> str:
        """Start a conversation and enter the code: returns the code used."""
        (reply,) = await self.say(text)
        code = code_of(reply)
        assert await self.texts(code) == [texts.VERIFIED]
        return code

    def other(self, **changes: Any) -> Chat:
        return replace(self, **changes)


@pytest.fixture
async def owner(gql: GraphQLClient) -> SignedUp:
    return await sign_up(gql, slug="jones-studio", email="owner@jones.example.com")


@pytest.fixture
def chat(gql: GraphQLClient, owner: SignedUp) -> Chat:
    return Chat(gql=gql, owner=owner)


async def rows(gql: GraphQLClient, model: Any) -> list[Any]:
    """Every row of ``model`` in every tenant, oldest first (past the walls, for assertions)."""
    services = _services(gql)
    async with services.db.maintenance_session(MaintenanceUse.TESTS, write=False) as s:
        order = [model.created_at] if hasattr(model, "created_at") else []
        found = (await s.execute(select(model).order_by(*order, model.id))).scalars().all()
        return list(found)


async def snapshot(gql: GraphQLClient) -> dict[str, list[tuple[Any, ...]]]:
    """Every assistant row and outbox row, column by column: "nothing changed" is equality of two of these."""
    result: dict[str, list[tuple[Any, ...]]] = {}
    for model in (*ASSISTANT_TABLES, OutboxRow):
        columns = [c.key for c in model.__table__.columns]
        result[model.__tablename__] = sorted(
            (tuple(str(getattr(r, c)) for c in columns) for r in await rows(gql, model)), key=str
        )
    return result


async def event_kinds(gql: GraphQLClient) -> list[str]:
    return [e.kind for e in await rows(gql, AuthEvent)]


async def as_stored_before(gql: GraphQLClient, **steps: str) -> None:
    """Every conversation state rewritten as an older release stored it: ``step`` (verification) and
    ``dialogue_step`` (the dialogue's) replaced by the given strings."""
    services = _services(gql)
    async with services.db.maintenance_session(MaintenanceUse.TESTS, write=True) as s, s.begin():
        for row in (await s.execute(select(ConversationState))).scalars().all():
            state = json.loads(row.state)
            if "step" in steps:
                state["step"] = steps["step"]
            if "dialogue_step" in steps:
                state["dialogue"]["step"] = steps["dialogue_step"]
            row.state = json.dumps(state)
