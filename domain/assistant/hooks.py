"""Where the assistant's answers plug in: public questions for anyone, protected requests once verified.

The verification engine only decides *who* may be answered; these hooks decide *what* the answer is. The
engine's defaults are ``dialogue.ModelPublicAnswerer`` and ``dialogue.Assistant``; :class:`MenuHandler` is
the smallest protected handler (a list of what can be asked).
"""

from __future__ import annotations

import re
import uuid
from typing import Protocol

from rapidfuzz import fuzz
from sqlalchemy.ext.asyncio import AsyncSession

from domain.assistant import texts
from domain.assistant.messages import Reply

PUBLIC_WORDS = re.compile(
    r"\b(services?|prices?|pricing|costs?|how much|availab\w*|slots?|opening|hours|open|help|faq|menu)\b"
)

# Words the customer misspells often, put right before the intent is read ("cancle", "apointment").
VOCABULARY = (
    "cancel",
    "booking",
    "bookings",
    "appointment",
    "appointments",
    "reschedule",
    "subscription",
    "subscriptions",
    "membership",
    "reservation",
    "upcoming",
    "postpone",
    "movies",
    "weather",
    "music",
)
# Other businesses' words: a request about these is not for an appointment here.
_FOREIGN = re.compile(
    r"\b(movies?|films?|cinemas?|imax|theat(er|re)s?|showtimes?|songs?|music|album|artist|singer|band|"
    r"playlist|tunes?|play|listen\w*|watch\w*|stream\w*|cabs?|taxis?|ride|rides|uber|lyft|driver|"
    r"weather|rain\w*|snow\w*|sunny|forecast|temperature|humid\w*|windy|bank|balance|"
    r"checking account|savings|"
    r"transfer\w*|send money|flights?|airlines?|fly|plane|hotels?|attractions?|sightseeing|sights|museums?|"
    r"tourist|(places?|gardens?|parks?|somewhere) to (visit|go|see)|restaurants?|table for|tickets?|"
    r"concerts?|trains?|bus|buses|rent\w*|"
    r"car)\b"
)


def words(text: str) -> str:
    """Lower case, punctuation dropped, spaces collapsed: "Log out!" -> "log out"."""
    return " ".join(re.sub(r"[^\w\s@.]|_", " ", text.lower()).split()).strip(" .")


def corrected(said: str) -> str:
    """``said`` (``words``) with the words customers misspell most put right ("cancle", "apointment")."""
    fixed = []
    for token in said.split():
        if len(token) >= 5 and token not in VOCABULARY:
            best = max(VOCABULARY, key=lambda v: fuzz.ratio(token, v))
            # A slip keeps the word's start: "cancle" is "cancel", "chance" is not; "schedule" is no
            # "reschedule", "whether" no "weather".
            if fuzz.ratio(token, best) >= 80 and token[:2] == best[:2]:
                token = best
        fixed.append(token)
    return " ".join(fixed)


def foreign(said: str) -> bool:
    """Whether ``said`` (``words``) asks for something no appointment business does: a cab, a film, a
    song, the weather, a bank transfer, a flight. Such a request is never led into booking."""
    return _FOREIGN.search(corrected(said)) is not None


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
        # Imported here: understanding reads words with this module's helpers.
        from domain.assistant.understanding import protected

        return protected(text)

    async def handle(
        self, session: AsyncSession, *, tenant_id: uuid.UUID, customer_id: uuid.UUID, text: str
    ) -> list[Reply]:
        return [Reply(text=texts.VERIFIED_MENU)]
