"""Deterministic understanding of a customer's message, read once: what a verified customer asks (book,
cancel, reschedule, see bookings, subscriptions: :data:`INTENTS`), what it is as a public question (services,
prices, hours, free times, help: :class:`Question`), with the service (fuzzy), the day and the time read in
the tenant's time zone and date order.

Pure functions, no I/O: the dialogue and the public answers decide what to do with an :class:`Ask`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, time
from functools import cache
from typing import Literal

from rapidfuzz import fuzz

from domain.assistant.hooks import corrected, foreign, words
from domain.assistant.moments import When, normalise, read_time, read_when

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
Topic = Literal["services", "prices", "hours", "availability", "help"]

# What a public question is about (``Question.topic``), read for anyone before verification.
_AVAILABILITY = re.compile(r"\b(free|availab\w*|slots?|openings?|space|spaces|spot|spots)\b")
# "what time ...?" asks about availability only with a day or a service ("what time is it on?" does not)
_TIMES = re.compile(r"\b(times?|when)\b")
_PRICES = re.compile(r"\b(prices?|pricing|costs?|how much|fees?|rates?|charge)\b")
_SERVICES = re.compile(r"\b(services?|offer\w*|treatments?|menu|what do you do)\b")
_HOURS = re.compile(r"\b(opening hours|hours|open|close|closing)\b")
_HELP = re.compile(r"\b(help|faq|how do i|how can i|policy|question)\b")
FUZZY_CUTOFF = 80
# Words that make any message a request about an account, whatever the intent (with each intent's ``words``).
_ACCOUNT_WORDS = ("my", "account")
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
class Question:
    """A public question (anyone may ask it): answered from the catalogue, no account needed."""

    topic: Topic
    service: str | None = None  # the matched service's name
    day: date | None = None
    bad_date: bool = False  # a date was written but no such day exists ("31/02")
    window: tuple[str, str] | None = None  # "HH:MM" bounds of a day part or "after 5"; an exact time too


@dataclass(frozen=True)
class Ask:
    intent: str | None  # the name of one of INTENTS
    service: str | None = None
    day: date | None = None
    at: time | None = None
    bad_date: bool = False
    after: time | None = None  # a window of the day asked for ("after 5", "in the afternoon")
    before: time | None = None
    # The same message as a public question (for anyone; None when it is none, or names a protected word).
    question: Question | None = None


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
    it recognises is kept and carried out after verification (``is_request``), its ``words`` make a message
    protected (:func:`protected`: never a public question), and ``tool`` names what it leads to
    (``tools.TOOLS``, where the public/verified policy is enforced)."""

    name: str
    recognise: Callable[[Heard], bool]
    help: str  # the help text's line ('your bookings ("my bookings")'); "" for none
    tool: str
    words: tuple[str, ...] = ()  # regular expressions of whole words that name it ("cancel\\w*")


INTENTS: tuple[Intent, ...] = (
    Intent(
        "cancel",
        lambda h: _CANCEL.search(h.said) is not None,
        'cancel or move a booking ("cancel my booking", "reschedule")',
        "cancel_booking",
        (r"cancel\w*",),
    ),
    Intent(
        "reschedule",
        lambda h: _RESCHEDULE.search(h.said) is not None,
        "",
        "reschedule_booking",
        (r"reschedul\w*",),
    ),
    Intent(
        "subscriptions",
        lambda h: _SUBSCRIPTIONS.search(h.said) is not None,
        'your subscriptions ("my subscriptions")',
        "get_my_subscriptions",
        ("subscriptions?", "quotas?", "plans?", "membership"),
    ),
    Intent(
        "bookings",
        lambda h: _BOOKINGS.search(h.said) is not None and not (h.service or h.when),
        'your bookings ("my bookings")',
        "list_my_bookings",
        ("bookings?", "booked", "appointments?", "reservations?"),
    ),
    Intent(
        "book",
        lambda h: bool(h.service or _BOOK.search(h.said) or h.when),
        'book ("book a haircut tomorrow at 10am")',
        "create_booking",
        ("book",),
    ),
)


def understand(text: str, *, names: list[str], today: date, order: str = "DMY") -> Ask:
    """What a verified customer asks (the first of :data:`INTENTS` that recognises it), with what the
    message says of service, day, time and window, and what it asks as a public question."""
    moment = read_when(text, today, order=order)
    plain = words(text)
    said = corrected(plain)
    service = match_service(moment.rest, names) if names else None
    heard = Heard(said, service, bool(moment.day or moment.at or moment.window or moment.bad_date))
    intent: str | None = None
    # A cab, a film, the weather: not for this business, unless it names one of ours or a booking.
    if service or not foreign(said) or _MINE.search(said):
        intent = next((i.name for i in INTENTS if i.recognise(heard)), None)
    question = _question(text, plain, moment, service)
    return Ask(intent, service, moment.day, moment.at, moment.bad_date, moment.after, moment.before, question)


def _question(text: str, said: str, moment: When, service: str | None) -> Question | None:
    """The public question ``text`` asks (``said``: its words as written, not put right)."""
    if not said or _protected_words(INTENTS).search(said):
        return None
    if service is None and foreign(said):
        return None  # a cab, a film, the weather: not for this business (the help text answers)
    day, bad_date = moment.day, moment.bad_date
    if _HOURS.search(said) and service is None and day is None:
        return Question("hours")
    if (
        _AVAILABILITY.search(said)
        or (service and (day or bad_date))
        or (_TIMES.search(said) and (service or day))
    ):
        window = moment.window
        if moment.at is not None:  # "anything at 3?": the times around it
            start = max(0, moment.at.hour * 60 + moment.at.minute - 60)
            end = min(23 * 60 + 59, moment.at.hour * 60 + moment.at.minute + 60)
            window = (time(start // 60, start % 60), time(end // 60, end % 60))
        bounds = (window[0].strftime("%H:%M"), window[1].strftime("%H:%M")) if window else None
        return Question("availability", service, day, bad_date, bounds)
    if _PRICES.search(said):
        return Question("prices", service)
    if _SERVICES.search(said):
        return Question("services")
    if _HELP.search(said) or text.strip().endswith("?"):
        return Question("help")
    return None


def protected(text: str) -> bool:
    """Whether ``text`` names an account (``my``, ``account``) or one of :data:`INTENTS`' words: such a
    message is never answered as a public question, and a stranger's is kept until verification."""
    return _protected_words(INTENTS).search(words(text)) is not None


@cache
def _protected_words(intents: tuple[Intent, ...]) -> re.Pattern[str]:
    alternatives = [*_ACCOUNT_WORDS, *(w for i in intents for w in i.words)]
    return re.compile(r"\b(" + "|".join(alternatives) + r")\b")


def is_request(text: str) -> bool:
    """Whether ``text`` asks for something only a verified customer may do or see."""
    return understand(text, names=[], today=date(2000, 1, 1)).intent is not None


def match_service(text: str, names: list[str]) -> str | None:
    """The service named in ``text``, tolerating typos and word order ("cut hair" is "Haircut")."""
    said = words(text)
    tokens = said.split()
    best: tuple[float, str] | None = None
    for name in names:
        target = words(name)
        size = len(target.split())
        score = 0.0
        for n in {size, size + 1, max(size - 1, 1)}:
            for i in range(len(tokens) - n + 1):
                chunk = " ".join(tokens[i : i + n])
                score = max(score, fuzz.ratio(chunk, target), fuzz.token_sort_ratio(chunk, target))
                score = max(score, _joined(chunk, target))
        # One distinctive word of a longer name ("massage" for "Deep Tissue Massage") counts, a little lower.
        distinctive = [part for part in target.split() if len(part) >= 5]
        if size > 1 and any(fuzz.ratio(t, part) >= FUZZY_CUTOFF + 5 for t in tokens for part in distinctive):
            score = max(score, float(FUZZY_CUTOFF))
        if score >= FUZZY_CUTOFF and (best is None or score > best[0]):
            best = (score, name)
    return best[1] if best else None


def _joined(chunk: str, target: str) -> float:
    # "hair cut" for "Haircut", "cut hair" too.
    parts = chunk.split()
    if len(parts) < 2:
        return 0.0
    target = target.replace(" ", "")
    return max(fuzz.ratio("".join(parts), target), fuzz.ratio("".join(reversed(parts)), target))
