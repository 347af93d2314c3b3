"""Where the assistant's answers plug in: public questions for anyone, protected requests once verified.

The verification engine only decides *who* may be answered; these hooks decide *what* the answer is. The
engine's defaults are ``dialogue.ModelPublicAnswerer`` and ``dialogue.Assistant``; :class:`MenuHandler` is
the smallest protected handler (a list of what can be asked).
"""

from __future__ import annotations

import re
import uuid
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from domain.assistant import texts
from domain.assistant.messages import Reply

PUBLIC_WORDS = re.compile(
    r"\b(services?|prices?|pricing|costs?|how much|availab\w*|slots?|opening|hours|open|help|faq|menu)\b"
)
PROTECTED_WORDS = re.compile(
    r"\b(my|bookings?|book|booked|appointments?|reservations?|cancel\w*|reschedul\w*|account|"
    r"subscriptions?|quotas?|plans?|membership)\b"
)


def words(text: str) -> str:
    """Lower case, punctuation dropped, spaces collapsed: "Log out!" -> "log out"."""
    return " ".join(re.sub(r"[^\w\s@.]|_", " ", text.lower()).split()).strip(" .")


class PublicAnswerer(Protocol):
    async def answer(self, session: AsyncSession, *, tenant_id: uuid.UUID, text: str) -> list[Reply] | None:
        """The answer to a public question (services, prices, availability, help), or None when ``text`` is
        not one. Never reads or reveals anything of a customer."""


class ProtectedHandler(Protocol):
    def is_protected(self, text: str) -> bool:
        """Whether ``text`` asks for something only a verified customer may get (bookings, account,
        subscriptions): such a request is remembered and replayed once the customer is verified."""

    async def handle(
        self, session: AsyncSession, *, tenant_id: uuid.UUID, customer_id: uuid.UUID, text: str
    ) -> list[Reply]:
        """Answer a verified customer (called only with the verified account's id)."""


class MenuHandler:
    """The smallest protected answers: what a verified customer can do."""

    def is_protected(self, text: str) -> bool:
        return PROTECTED_WORDS.search(words(text)) is not None

    async def handle(
        self, session: AsyncSession, *, tenant_id: uuid.UUID, customer_id: uuid.UUID, text: str
    ) -> list[Reply]:
        return [Reply(text=texts.VERIFIED_MENU)]
