"""When a customer wants something: the day, the time or a window of time, read from free text in the
tenant's calendar (its today and its date order).

Dates written with a month ("March 7th", "4th of March", "Mar 7 2027") or in figures ("7/3", "2027-03-07")
are read by ``dateparser`` with the tenant's date order (``defaultRegion``: 7/3 is 7 March in GB, July 3 in
US). Our own thin layer reads what English says relative to today and what ``dateparser`` gets wrong in
chat: clock words with day parts ("afternoon 2", "quarter to 3 in the afternoon", "four in the evening"),
windows ("after 5", "before noon", "in the afternoon"), "the 14th", "the 9th of this month", "this Sunday",
"next Thursday", "Friday next week". The time is read first and taken out, so "at 11" never becomes a day.

Pure and deterministic: no I/O, no clock (``today`` is passed in).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache

import dateparser
from rapidfuzz import fuzz

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
_NUMBERS = {
    w: str(i)
    for i, w in enumerate("zero one two three four five six seven eight nine ten eleven twelve".split())
    if i
} | {"twenty": "20"}
_ORDINALS = {
    w: str(i + 1)
    for i, w in enumerate(
        "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth thirteenth "
        "fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth twentieth".split()
    )
}
# Where a day part starts and ends (local time): "in the afternoon" offers 12:00 to 17:00.
PARTS = {
    "morning": (time(0, 0), time(12, 0)),
    "afternoon": (time(12, 0), time(17, 0)),
    "evening": (time(17, 0), time(23, 59)),
    "night": (time(17, 0), time(23, 59)),
}
_PART = r"(?:morning|afternoon|evening|night|tonight)"
_TIME = re.compile(
    r"(?:\b(?P<lead>at|around|about|for|by|after|from|before|until|till|"
    r"earlier than|later than|no later than)\s+)?"
    r"(?:(?:the\s+|this\s+)?(?P<pre>morning|afternoon|evening|night)\s+(?:at\s+)?)?"
    r"(?:(?:a\s+)?(?P<frac>quarter|half|[1-5]?\d)\s+(?:minutes?\s+)?(?P<dir>past|to)\s+(?P<fh>\d{1,2})\b|"
    r"(?P<h>\d{1,2})(?:(?P<sep>[:.h])(?P<m>[0-5]\d))?(?![\d/]|st\b|nd\b|rd\b|th\b|-\d|\.\d))"
    r"(?:\s*(?P<suf>am|pm|a m|p m)\b)?(?:\s*(?P<oc>oclock)\b)?"
    r"(?:\s+(?:in\s+the|this|at|at\s+night|in\s+the\s+night)?\s*(?P<post>" + _PART + r")\b)?"
)
_NOON = re.compile(
    r"(?:\b(?P<lead>at|around|about|for|by|after|from|before|until|till)\s+)?\b(?P<word>noon|midday|midnight)\b"
)
_PART_ALONE = re.compile(r"\b(?:(?P<this>this|tonight)\s+)?(?P<part>morning|afternoon|evening|tonight)\b")
_LATE_EARLY = re.compile(r"\b(?:(?P<late>late|later)|(?P<early>early|earlier))\s+in\s+the\s+day\b")
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*"
_MONTH_DATE = re.compile(
    rf"\b(?:{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:\s*,?\s*\d{{4}})?|"
    rf"\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}(?:\s*,?\s*\d{{4}})?)\b"
)
_FIGURES = re.compile(r"\b(\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[/.-]\d{1,2}(?:[/.-]\d{2,4})?)\b")
_NTH = re.compile(
    r"\b(?:the\s+)?(?P<n>\d{1,2})(?P<suffix>st|nd|rd|th)\b(?:\s+of\s+(?P<which>this|the|next)\s+month)?"
    r"|\bthe\s+(?P<n2>\d{1,2})\b(?!\s*(?:am|pm|oclock|:))(?:\s+of\s+(?P<which2>this|the|next)\s+month)?"
)
_IN_DAYS = re.compile(r"\bin\s+(?P<n>\d{1,2}|a)\s+(?P<unit>days?|weeks?)\b")
_DAY_AFTER = re.compile(r"\bday\s+after\s+tomorrow\b|\bovermorrow\b")
_TODAY = re.compile(r"\b(?:today|tonight|later\s+today|this\s+(?:morning|afternoon|evening))\b")
_TOMORROW = re.compile(r"\b(?:tomorrow|tmrw|tmr|tomorow|tommorow|tommorrow|tomorroow|2morrow)\b")


@dataclass(frozen=True)
class When:
    """What a message says about when. ``day`` may lie in the past (the caller says it has passed)."""

    day: date | None = None
    at: time | None = None
    # A window of the day ("after 5", "in the afternoon"): slots from ``after`` up to ``before``.
    after: time | None = None
    before: time | None = None
    bad_date: bool = False  # a date was written but no such day exists ("31/02")
    rest: str = ""  # the normalised text with the date and time phrases taken out

    @property
    def window(self) -> tuple[time, time] | None:
        if self.after is None and self.before is None:
            return None
        return self.after or time(0, 0), self.before or time(23, 59)


def normalise(text: str) -> str:
    """Lower case, clock spellings made one ("4 o'clock", "4 p.m."), number words as figures."""
    said = text.lower()
    said = re.sub(r"\bo\s*['\"’`]?\s*clock\b", " oclock", said)
    said = re.sub(r"\b([ap])\.\s?m\b\.?", r"\1m", said).replace("@", " at ")
    said = re.sub(r"(?<=\d)(am|pm)\b", r" \1", said)
    said = re.sub(r"[^\w\s:/.\-]|_", " ", said)
    said = re.sub(r"(?<!\d)[.\-](?!\d)|(?<=\d)\.(?!\d)", " ", said)
    said = re.sub(r"\btwenty[ -]five\b", "25", said)
    tokens = [_NUMBERS.get(t, t) for t in said.split()]
    said = " ".join(_ORDINAL_WORDS.get(t, t) for t in tokens)
    # "ten thirty", "four forty five": minutes in words after an hour
    return re.sub(
        r"\b(\d{1,2}) (fifteen|thirty|forty five|forty-five)\b",
        lambda m: f"{m[1]}:{ {'fifteen': '15', 'thirty': '30'}.get(m[2], '45') }",
        said,
    )


_ORDINAL_WORDS = {w: f"{n}th" for w, n in _ORDINALS.items() if w not in ("second",)}


def _clock(hour: int, minute: int, *, suffix: str | None, part: str | None) -> time | None:
    if suffix:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if suffix.replace(" ", "") == "pm" else 0)
    elif part in ("afternoon", "evening", "night", "tonight"):
        if hour < 12:
            hour += 12
    elif part == "morning":
        if hour > 12:
            return None
    elif hour <= 7:  # a bare "at 3" in a business day is the afternoon
        hour += 12
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        return None
    return time(hour, minute)


def read_time(said: str) -> tuple[time | None, time | None, time | None, str]:
    """(exact time, window start, window end, text without them) from normalised text."""
    at: time | None = None
    after: time | None = None
    before: time | None = None
    rest = said
    for found in _TIME.finditer(said):
        h, frac = found["h"], found["frac"]
        part = found["pre"] or found["post"]
        plain = h is not None and not (found["m"] or found["suf"] or found["oc"] or part)
        if plain and not found["lead"]:
            continue  # a bare number is no time ("2 people", "room 12")
        if plain and found["lead"] in ("for",):
            continue  # "for 2" is a party size more often than a time
        if found["sep"] == "." and not (found["lead"] or found["suf"] or part):
            continue  # "on 1.12" is a day; "at 10.30" is a time
        if frac:
            hour = int(found["fh"])
            minute = {"quarter": 15, "half": 30}.get(frac) or int(frac)
            if not 0 < minute < 60:
                continue
            if found["dir"] == "to":
                hour, minute = hour - 1, 60 - minute
            if hour < 0:
                continue
        else:
            hour, minute = int(h), int(found["m"] or 0)
        value = _clock(hour, minute, suffix=found["suf"], part=part)
        if value is None:
            continue
        lead = found["lead"]
        if lead in ("after", "from", "later than"):
            after = value
        elif lead in ("before", "until", "till", "by", "earlier than", "no later than"):
            before = value
        else:
            at = value
        rest = rest.replace(found[0], " ", 1)
        if at is not None:
            break
    if at is None:
        noon = _NOON.search(rest)
        if noon:
            value = time(0, 0) if noon["word"] == "midnight" else time(12, 0)
            if noon["lead"] in ("after", "from"):
                after = value
            elif noon["lead"] in ("before", "until", "till", "by"):
                before = value
            else:
                at = value
            rest = rest.replace(noon[0], " ", 1)
    if at is None and after is None and before is None:
        part = _PART_ALONE.search(rest)
        if part:
            name = "evening" if part["part"] == "tonight" else part["part"]
            after, before = PARTS[name]
        else:
            span = _LATE_EARLY.search(rest)
            if span:
                after, before = (time(15, 0), None) if span["late"] else (None, time(12, 0))
    return at, after, before, rest


def _weekday(token: str) -> int | None:
    """A weekday name or its abbreviation, allowing one slip ("fridy", "wednsday")."""
    for i, name in enumerate(WEEKDAYS):
        if token == name or token in (name[:3], name[:3] + "s", name[:4] if i == 1 else ""):
            return i
    if len(token) >= 5 and token.isalpha() and not token.startswith(MONTHS[:1]):
        best = max(range(7), key=lambda i: fuzz.ratio(token, WEEKDAYS[i]))
        if fuzz.ratio(token, WEEKDAYS[best]) >= 85:
            return best
    return None


def _next_nth(n: int, today: date) -> date | None:
    """Day ``n`` of this month if still to come, else of the next month that has one."""
    year, month = today.year, today.month
    for _ in range(13):
        try:
            found = date(year, month, n)
        except ValueError:
            found = None
        if found is not None and found >= today:
            return found
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return None


@lru_cache(maxsize=4096)
def _dateparser(span: str, order: str, today: date) -> date | None:
    settings = {
        "DATE_ORDER": order,
        "PREFER_DATES_FROM": "future",
        "RELATIVE_BASE": datetime.combine(today, time(0, 0)),
        "PREFER_DAY_OF_MONTH": "first",
        "REQUIRE_PARTS": ["day", "month"],
    }
    found = dateparser.parse(span, languages=["en"], settings=settings)
    return found.date() if found is not None else None


def _has_year(span: str) -> bool:
    return re.search(r"\d{4}|\d{1,2}[/.-]\d{1,2}[/.-]\d{2}", span) is not None


def read_day(said: str, today: date, *, order: str = "DMY") -> tuple[date | None, bool, str]:
    """(day, whether a date was written but is no day, text without it) from normalised text."""
    span = _MONTH_DATE.search(said) or _FIGURES.search(said)
    if span:
        # dateparser reads "1/12" but not "1.12" (a number to it): a date in figures is given with slashes.
        found = _dateparser(re.sub(r"(?<=\d)\.(?=\d)", "/", span[0]), order, today)
        if found is None:
            return None, True, said
        if not _has_year(span[0]):
            # No year written: this year's day if still to come, else next year's (none if it has none).
            try:
                found = found.replace(year=today.year)
                if found < today:
                    found = found.replace(year=today.year + 1)
            except ValueError:
                return None, True, said
        return found, False, said.replace(span[0], " ", 1)
    if _DAY_AFTER.search(said):
        return today + timedelta(days=2), False, _DAY_AFTER.sub(" ", said, 1)
    if _TOMORROW.search(said):
        return today + timedelta(days=1), False, _TOMORROW.sub(" ", said, 1)
    nth = _NTH.search(said)
    if nth:
        n = int(nth["n"] or nth["n2"])
        which = nth["which"] or nth["which2"]
        if 1 <= n <= 31:
            if which in ("this", "the"):
                try:
                    return today.replace(day=n), False, said.replace(nth[0], " ", 1)
                except ValueError:
                    return None, True, said
            if which == "next":
                first = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
                try:
                    return first.replace(day=n), False, said.replace(nth[0], " ", 1)
                except ValueError:
                    return None, True, said
            return _next_nth(n, today), False, said.replace(nth[0], " ", 1)
    days = _IN_DAYS.search(said)
    if days:
        n = 1 if days["n"] == "a" else int(days["n"])
        return today + timedelta(days=n * (7 if days["unit"].startswith("week") else 1)), False, said
    tokens = said.split()
    for i, token in enumerate(tokens):
        weekday = _weekday(token)
        if weekday is None:
            continue
        before = tokens[i - 1] if i else ""
        after = " ".join(tokens[i + 1 : i + 3])
        coming = today + timedelta(days=(weekday - today.weekday()) % 7)
        next_monday = today + timedelta(days=7 - today.weekday())
        if after == "next week" or (before == "of" and "next week" in said):
            return next_monday + timedelta(days=weekday), False, said
        if before == "next":
            # "next Thursday": English is split between the coming one and the one after; we take the
            # coming one (never today) and every reply names the date, so the customer can correct it.
            return coming if coming > today else coming + timedelta(days=7), False, said
        if before == "last" or after == "last week":
            return coming - timedelta(days=7), False, said
        return coming, False, said
    if _TODAY.search(said):
        return today, False, said
    return None, False, said


def read_when(text: str, today: date, *, order: str = "DMY") -> When:
    """The day, time and window ``text`` asks for, in the tenant's calendar (``order``: DMY, MDY or YMD)."""
    said = normalise(text)
    at, after, before, rest = read_time(said)
    day, bad, rest = read_day(rest, today, order=order)
    return When(day=day, at=at, after=after, before=before, bad_date=bad, rest=" ".join(rest.split()))


def date_order(region: str | None) -> str:
    """The order a tenant's customers write dates in: month first in the US and a few others."""
    return "MDY" if (region or "").upper() in {"US", "PH", "FM", "MH", "PW"} else "DMY"
