"""Deterministic understanding of what a verified customer asks: book, cancel, reschedule, see bookings,
subscriptions; with the service (fuzzy), the day and the time read in the tenant's time zone.

Pure functions, no I/O: the dialogue decides what to do with an :class:`Ask`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, time

from domain.assistant.hooks import corrected, foreign, words
from domain.assistant.moments import normalise, read_time, read_when
from domain.assistant.public import match_service

_CANCEL = re.compile(r"\b(cancel\w*|call off|can ?not make it|can t make it|cant make it|drop my)\b")
_RESCHEDULE = re.compile(
    r"\b(reschedul\w*|re schedule|postpone|move (my|the|it|that|this|our)|change (the )?(time|day|date)|"
    r"change my (booking|appointment)|different (time|day))\b"
)
_SUBSCRIPTIONS = re.compile(
    r"\b(subscriptions?|membership|plans?|quotas?|sessions? left|visits? left|credits?|remaining|"
    r"how many .{0,24}\bleft|left this (month|week))\b"
)
_BOOKINGS = re.compile(
    r"\b(my (upcoming |next )?(bookings?|appointments?|reservations?)|upcoming|what (have|did) i book\w*|"
    r"when is my|show (me )?(my )?bookings?|list (my )?bookings?|next appointment|booked for)\b"
)
_BOOK = re.compile(
    r"\b(book\w*|reserv\w*|appointments?|appt|schedul\w*|slots?|openings?|availab\w*|free|visit|"
    r"can i (get|have|come)|make an|sign me up|come in|fit me in|see (the|a) \w+)\b"
)
_MINE = re.compile(r"\b(my|the) (booking|appointment|reservation)s?\b")
_NUMBER = re.compile(r"^(?:number |no |option |#)?(\d{1,2})$")
_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "last": -1}
# The one yes/no vocabulary of every question the assistant asks (a booking, a cancellation, erasing the
# messages, stopping them): "ok" means the same to each.
YES = frozenset(
    {"yes", "y", "yes please", "yep", "yeah", "yea", "sure", "ok", "okay", "confirm", "correct", "do it"}
)
NO = frozenset(
    {"no", "n", "nope", "no thanks", "never mind", "nevermind", "abort", "cancel", "cancel that", "forget it"}
)


@dataclass(frozen=True)
class Ask:
    intent: str | None  # the name of one of INTENTS
    service: str | None = None
    day: date | None = None
    at: time | None = None
    bad_date: bool = False
    after: time | None = None  # a window of the day asked for ("after 5", "in the afternoon")
    before: time | None = None


def parse_time(text: str) -> tuple[time | None, str]:
    """A time of day ("10am", "afternoon 2", "quarter to 3 in the afternoon", "noon") and the text without
    it (so "10.30" is not read as a date)."""
    at, _, _, rest = read_time(normalise(text))
    return at, rest


def pick_number(text: str, size: int) -> int | None:
    """A choice from a numbered list of ``size`` ("2", "#2", "number 2", "the second one"), 0-based."""
    said = words(text).removeprefix("the ").removesuffix(" one").removesuffix(" please")
    found = _NUMBER.match(said)
    n: int | None = int(found[1]) if found else _ORDINALS.get(said)
    if n == -1:
        n = size
    if n is None or not 1 <= n <= size:
        return None
    return n - 1


@dataclass(frozen=True)
class Heard:
    """What a message says besides its intent, for an intent's ``recognise``."""

    said: str  # ``words``, misspellings put right
    service: str | None  # a service of the tenant, named
    when: bool  # a day, a time, a window or an impossible date was written


@dataclass(frozen=True)
class Intent:
    """One thing a verified customer can ask for. The table :data:`INTENTS` is the only place an intent is
    declared: understanding tries its ``recognise`` in order, the dialogue calls the handler registered
    under its ``name`` (``dialogue.HANDLERS``), the help text lists its ``help`` line, a stranger's message
    it recognises is kept and carried out after verification (``is_request``), and ``tool`` names what it
    leads to (``tools.TOOLS``, where the public/verified policy is enforced)."""

    name: str
    recognise: Callable[[Heard], bool]
    help: str  # the help text's line ('your bookings ("my bookings")'); "" for none
    tool: str


INTENTS: tuple[Intent, ...] = (
    Intent(
        "cancel",
        lambda h: _CANCEL.search(h.said) is not None,
        'cancel or move a booking ("cancel my booking", "reschedule")',
        "cancel_booking",
    ),
    Intent("reschedule", lambda h: _RESCHEDULE.search(h.said) is not None, "", "reschedule_booking"),
    Intent(
        "subscriptions",
        lambda h: _SUBSCRIPTIONS.search(h.said) is not None,
        'your subscriptions ("my subscriptions")',
        "get_my_subscriptions",
    ),
    Intent(
        "bookings",
        lambda h: _BOOKINGS.search(h.said) is not None and not (h.service or h.when),
        'your bookings ("my bookings")',
        "list_my_bookings",
    ),
    Intent(
        "book",
        lambda h: bool(h.service or _BOOK.search(h.said) or h.when),
        'book ("book a haircut tomorrow at 10am")',
        "create_booking",
    ),
)


def understand(text: str, *, names: list[str], today: date, order: str = "DMY") -> Ask:
    """What a verified customer asks (the first of :data:`INTENTS` that recognises it), with what the
    message says of service, day, time and window."""
    moment = read_when(text, today, order=order)
    said = corrected(words(text))
    service = match_service(moment.rest, names) if names else None
    heard = Heard(said, service, bool(moment.day or moment.at or moment.window or moment.bad_date))
    intent: str | None = None
    # A cab, a film, the weather: not for this business, unless it names one of ours or a booking.
    if service or not foreign(said) or _MINE.search(said):
        intent = next((i.name for i in INTENTS if i.recognise(heard)), None)
    return Ask(intent, service, moment.day, moment.at, moment.bad_date, moment.after, moment.before)


def is_request(text: str) -> bool:
    """Whether ``text`` asks for something only a verified customer may do or see."""
    return understand(text, names=[], today=date(2000, 1, 1)).intent is not None
