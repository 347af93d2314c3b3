"""SQL for conversations and messages (built on a tenant-bound session)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bizzly.db.paging import Page, PageRequest, encode_cursor, keyset_page
from bizzly.db.tenancy import session_tenant
from domain.conversations.models import Conversation, Message


class Conversations:
    def __init__(self, session: AsyncSession) -> None:
        tenant = session_tenant(session.sync_session)
        if tenant is None:
            raise RuntimeError("Conversations needs a tenant-bound session")
        self.session = session
        self.tenant_id = tenant

    def _conversations(self) -> Select[Conversation]:
        return select(Conversation).where(Conversation.tenant_id == self.tenant_id)

    def _messages(self) -> Select[Message]:
        return select(Message).where(Message.tenant_id == self.tenant_id)

    async def get(self, conversation_id: uuid.UUID) -> Conversation | None:
        stmt = self._conversations().where(Conversation.id == conversation_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def by_ids(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Conversation]:
        if not ids:
            return {}
        stmt = self._conversations().where(Conversation.id.in_(set(ids)))
        return {c.id: c for c in (await self.session.execute(stmt)).scalars()}

    async def by_user(self, channel: str, user_key: str) -> Conversation | None:
        stmt = self._conversations().where(Conversation.channel == channel, Conversation.user_key == user_key)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def page(self, request: PageRequest) -> Page[Conversation]:
        """Most recently active first."""
        return await keyset_page(
            self.session,
            self._conversations(),
            order=[(Conversation.last_message_at, True), (Conversation.id, True)],
            page=request,
        )

    async def message(self, message_id: uuid.UUID) -> Message | None:
        stmt = self._messages().where(Message.id == message_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def messages_by_ids(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Message]:
        if not ids:
            return {}
        stmt = self._messages().where(Message.id.in_(set(ids)))
        return {m.id: m for m in (await self.session.execute(stmt)).scalars()}

    async def message_by_wamid(self, wamid: str) -> Message | None:
        stmt = self._messages().where(Message.wamid == wamid)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def messages(self, conversation_id: uuid.UUID, request: PageRequest) -> Page[Message]:
        """Oldest first, so ``last: 50`` is the newest fifty with the newest last."""
        stmt = self._messages().where(Message.conversation_id == conversation_id)
        return await keyset_page(
            self.session, stmt, order=[(Message.created_at, False), (Message.id, False)], page=request
        )

    async def latest_messages(
        self, conversation_ids: Sequence[uuid.UUID], n: int
    ) -> dict[uuid.UUID, Page[Message]]:
        """``last: n`` of several conversations in one statement (the dashboard's list): the same pages
        (and cursors) as :meth:`messages` gives one conversation at a time."""
        if not conversation_ids:
            return {}
        rank = (
            func.row_number()
            .over(
                partition_by=Message.conversation_id,
                order_by=(Message.created_at.desc(), Message.id.desc()),
            )
            .label("rank")
        )
        inner = (
            select(Message.id.label("mid"), rank)
            .where(Message.tenant_id == self.tenant_id, Message.conversation_id.in_(set(conversation_ids)))
            .subquery()
        )
        stmt = (
            self._messages()
            .join(inner, inner.c.mid == Message.id)
            .where(inner.c.rank <= n + 1)
            .order_by(Message.conversation_id, Message.created_at, Message.id)
        )
        grouped: dict[uuid.UUID, list[Message]] = {c: [] for c in conversation_ids}
        for row in (await self.session.execute(stmt)).scalars():
            grouped.setdefault(row.conversation_id, []).append(row)
        pages: dict[uuid.UUID, Page[Message]] = {}
        for conversation_id, found in grouped.items():
            more = len(found) > n
            kept = found[len(found) - n :] if n else []
            items = [(encode_cursor([m.created_at, m.id]), m) for m in kept]
            pages[conversation_id] = Page(items=items, has_next=False, has_previous=more)
        return pages

    def add(self, row: Conversation | Message) -> None:
        self.session.add(row)
