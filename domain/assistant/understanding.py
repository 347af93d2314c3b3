"""Deterministic understanding of what a verified customer asks: book, cancel, reschedule, see bookings,
subscriptions; with the service (fuzzy), the day and the time read in the tenant's time zone.

Pure functions, no I/O: the dialogue decides what to do with an :class:`Ask`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, time
from typing import Literal

from rapidfuzz import fuzz

from domain.assistant.hooks import words
from domain.assistant.public import match_service, parse_day

Intent = Literal["book", "cancel", "reschedule", "bookings", "subscriptions"]

# Words the customer misspells often, put right before the intent is read ("cancle", "apointment").
_VOCABULARY = (
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
)
_CANCEL = re.compile(r"\b(cancel\w*|call off|can ?not make it|can t make it|cant make it|drop my)\b")
_RESCHEDULE = re.compile(
    r"\b(reschedul\w*|re schedule|postpone|move|change (the )?(time|day|date)|"
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
    r"\b(book\w*|reserve|appointment|schedule|i d like|i would like|i want|can i (get|have|come)|"
    r"make an|get me|sign me up|slot for)\b"
)
_AMPM = re.compile(r"\b(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm|a m|p m)\b")
_CLOCK = re.compile(r"\b([01]?\d|2[0-3])[:h](\d{2})\b")
_AT_HOUR = re.compile(r"(?:\bat|@|\baround)\s*(\d{1,2})(?:[.](\d{2}))?(?:\s*o ?clock)?\b(?![/.:]\d)")
_HALF_PAST = re.compile(r"\bhalf past (\d{1,2})\b")
_NOON = re.compile(r"\b(noon|midday)\b")
_NUMBER = re.compile(r"^(?:number |no |option |#)?(\d{1,2})$")
_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "last": -1}
YES = {"yes", "y", "yes please", "yep", "yeah", "yea", "sure", "ok", "okay", "confirm", "correct", "do it"}
NO = {"no", "n", "nope", "no thanks", "never mind", "nevermind", "abort", "cancel that", "forget it"}


@dataclass(frozen=True)
class Ask:
    intent: Intent | None
    service: str | None = None
    day: date | None = None
    at: time | None = None
    bad_date: bool = False


def _fix(said: str) -> str:
    fixed = []
    for token in said.split():
        if len(token) >= 5 and token not in _VOCABULARY:
            best = max(_VOCABULARY, key=lambda v: fuzz.ratio(token, v))
            if fuzz.ratio(token, best) >= 80:
                token = best
        fixed.append(token)
    return " ".join(fixed)


def _hour(hour: int, minute: int, suffix: str | None) -> time | None:
    if suffix:
        if not 1 <= hour <= 12:
            return None
        pm = suffix.replace(" ", "") == "pm"
        hour = hour % 12 + (12 if pm else 0)
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        return None
    return time(hour, minute)


def parse_time(text: str) -> tuple[time | None, str]:
    """A time of day ("10am", "3 pm", "15:00", "at 3", "half past 2", "noon") and the text without it
    (so "10.30" is not read as a date). A bare "at 3" between 1 and 7 is the afternoon."""
    said = text.lower()
    for pattern in (_AMPM, _CLOCK):
        found = pattern.search(said)
        if found:
            suffix = found[3] if pattern is _AMPM else None
            return _hour(int(found[1]), int(found[2] or 0), suffix), said[: found.start()] + said[
                found.end() :
            ]
    said_words = words(text)
    found = _HALF_PAST.search(said_words)
    if found:
        hour = int(found[1])
        return _hour(hour + 12 if 1 <= hour <= 7 else hour, 30, None), said_words.replace(found[0], " ")
    if _NOON.search(said_words):
        return time(12, 0), _NOON.sub(" ", said_words)
    found = _AT_HOUR.search(said)
    if found:
        hour = int(found[1])
        minute = int(found[2] or 0)
        return _hour(hour + 12 if 1 <= hour <= 7 else hour, minute, None), said[: found.start()] + said[
            found.end() :
        ]
    return None, text


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


def understand(text: str, *, names: list[str], today: date) -> Ask:
    """What a verified customer asks, with what the message says of service, day and time."""
    at, rest = parse_time(text)
    said = _fix(words(text))
    service = match_service(rest, names) if names else None
    day = parse_day(rest, today)
    bad_date = day is None and re.search(r"\b\d{1,2}[/.]\d{1,2}\b|\b\d{4}-\d{2}-\d{2}\b", rest) is not None
    intent: Intent | None = None
    if _CANCEL.search(said):
        intent = "cancel"
    elif _RESCHEDULE.search(said):
        intent = "reschedule"
    elif _SUBSCRIPTIONS.search(said):
        intent = "subscriptions"
    elif _BOOKINGS.search(said) and not (service or at):
        intent = "bookings"
    elif _BOOK.search(said) or (service and (day or at)):
        intent = "book"
    return Ask(intent, service, day, at, bad_date)


def is_request(text: str) -> bool:
    """Whether ``text`` asks for something only a verified customer may do or see."""
    return understand(text, names=[], today=date(2000, 1, 1)).intent is not None
