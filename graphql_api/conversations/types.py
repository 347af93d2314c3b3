"""The GraphQL ``Conversation`` and ``Message`` types."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from enum import Enum

import strawberry
from strawberry import relay
from strawberry.dataloader import DataLoader

from bizzly.db.paging import Page
from bizzly.errors import DomainError
from domain.conversations import service
from domain.conversations.models import Conversation as ConversationRow
from domain.conversations.models import Message as MessageRow
from domain.conversations.repository import Conversations
from graphql_api.context import Info
from graphql_api.customers.loaders import customer_loader
from graphql_api.customers.types import Customer
from graphql_api.errors import forbidden, from_domain, unauthenticated
from graphql_api.relay import Connection, node_uuids, page_request
from tenants.permissions import Permission, role_can


@strawberry.enum(name="MessageDirection")
class MessageDirection(Enum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


@strawberry.enum(name="MessageStatus")
class MessageStatus(Enum):
    RECEIVED = "received"
    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"


def _check_operator(info: Info) -> None:
    caller = info.context.caller
    if caller.kind is None:
        raise unauthenticated()
    if not (caller.is_staff and caller.role and role_can(caller.role, Permission.OPERATE)):
        raise forbidden()


@strawberry.type(description="One message of a conversation. Media is never stored: only its kind.")
class Message(relay.Node):
    id: relay.NodeID[str]
    direction: MessageDirection
    kind: str = strawberry.field(description="text, interactive, template, image, audio, ...")
    body: str | None = strawberry.field(description="The text (verification codes are shown redacted).")
    status: MessageStatus
    error: str | None
    created_at: datetime

    @classmethod
    def from_model(cls, row: MessageRow) -> Message:
        return cls(
            id=str(row.id),
            direction=MessageDirection(row.direction),
            kind=row.kind,
            body=row.body,
            status=MessageStatus(row.status),
            error=row.error,
            created_at=row.created_at,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Message | None]:
        _check_operator(info)
        ids = node_uuids(node_ids)
        async with await info.context.session() as session:
            found = await Conversations(session).messages_by_ids([i for i in ids if i is not None])
        return [cls.from_model(found[i]) if i in found else None for i in ids]


def _latest_loader(info: Info, n: int) -> DataLoader[uuid.UUID, Page[MessageRow]]:
    ctx = info.context

    async def load(ids: Sequence[uuid.UUID]) -> list[Page[MessageRow]]:
        async with await ctx.session() as session:
            found = await service.latest_messages(session, conversation_ids=list(ids), n=n)
        return [found[i] for i in ids]

    return ctx.loaders.get(f"conversations.latest_messages.{n}", lambda: DataLoader(load_fn=load))


@strawberry.type(description="A conversation with one WhatsApp user.")
class Conversation(relay.Node):
    id: relay.NodeID[str]
    phone: str | None = strawberry.field(
        description="E.164, or null when the user came with only a Meta user id (a WhatsApp username)."
    )
    display_name: str | None = strawberry.field(description="The WhatsApp profile name (not verified).")
    last_message_at: datetime
    verified: bool
    customer_id: strawberry.Private[uuid.UUID | None]
    conversation_id: strawberry.Private[uuid.UUID]

    @classmethod
    def from_model(cls, row: ConversationRow) -> Conversation:
        return cls(
            id=str(row.id),
            phone=row.phone_e164,
            display_name=row.display_name,
            last_message_at=row.last_message_at,
            verified=row.verified,
            customer_id=row.customer_id,
            conversation_id=row.id,
        )

    @strawberry.field(description="The account the conversation is verified as, else null.")
    async def customer(self, info: Info) -> Customer | None:
        if self.customer_id is None:
            return None
        row = await customer_loader(info.context).load(self.customer_id)
        return Customer.from_model(row) if row is not None else None

    @strawberry.field(description="The messages, oldest first: `last: 50` is the newest fifty, newest last.")
    async def messages(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Message]:
        try:
            request = page_request(first, after, last, before)
            if last is not None and first is None and after is None and before is None:
                # The dashboard's shape (``messages(last: 50)`` on every conversation): one batched query.
                page = await _latest_loader(info, request.size()).load(self.conversation_id)
            else:
                async with await info.context.session() as session:
                    page = await service.conversation_messages(
                        session, conversation_id=self.conversation_id, page=request
                    )
        except DomainError as exc:
            raise from_domain(exc) from exc
        return Connection.from_page(page, Message.from_model)

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Conversation | None]:
        _check_operator(info)
        ids = node_uuids(node_ids)
        async with await info.context.session() as session:
            found = await Conversations(session).by_ids([i for i in ids if i is not None])
        return [cls.from_model(found[i]) if i in found else None for i in ids]
