"""The dashboard's list of conversations, most recently active first."""

from __future__ import annotations

import strawberry

from bizzly.errors import DomainError
from domain.conversations import service
from graphql_api.context import Info
from graphql_api.conversations.types import Conversation
from graphql_api.errors import from_domain
from graphql_api.permissions import CanOperate
from graphql_api.relay import Connection, page_request


@strawberry.type
class ConversationsQuery:
    @strawberry.field(
        permission_classes=[CanOperate],
        description="Conversations with customers on WhatsApp, most recently active first.",
    )
    async def conversations(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Conversation]:
        try:
            async with await info.context.session() as session:
                page = await service.list_conversations(
                    session, page=page_request(first, after, last, before)
                )
        except DomainError as exc:
            raise from_domain(exc) from exc
        return Connection.from_page(page, Conversation.from_model)
