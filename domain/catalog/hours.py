"""Weekly business hours: "HH:MM" ranges per weekday (0 = Monday) in the tenant's time zone."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bizzly.errors import Invalid

# Every start and every end of an opening range falls on this grid, and so does every slot (slot steps are
# multiples of 5): booking seats are counted on the same grid (domain/scheduling/seats.py).
GRID_MINUTES = 5
DAY_MINUTES = 24 * 60
MAX_RANGES = 70  # ten ranges a day is already a lot of lunch breaks
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_HHMM = re.compile(r"^(\d{1,2}):(\d{2})$")


@dataclass(frozen=True, order=True)
class OpeningRange:
    weekday: int
    opens: int  # minutes after local midnight
    closes: int  # up to 1440 ("24:00")


def parse_time(value: str, *, field: str, allow_midnight_end: bool = False) -> int:
    """ "09:30" -> 570. "24:00" only as a closing time."""
    match = _HHMM.match(value.strip())
    if not match:
        raise Invalid(f"{value!r} is not a time. Use HH:MM, for example 09:00.", field=field)
    hours, minutes = int(match.group(1)), int(match.group(2))
    total = hours * 60 + minutes
    if minutes >= 60 or total > DAY_MINUTES or (total == DAY_MINUTES and not allow_midnight_end):
        raise Invalid(f"{value!r} is not a time of day.", field=field)
    if total % GRID_MINUTES:
        raise Invalid(f"Use times on {GRID_MINUTES}-minute steps (09:00, 09:05, ...).", field=field)
    return total


def format_time(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def opening_ranges(entries: list[tuple[int, str, str]], *, field: str = "hours") -> list[OpeningRange]:
    """Validate a whole week: each range opens before it closes and ranges of one day do not overlap."""
    if len(entries) > MAX_RANGES:
        raise Invalid(f"Give at most {MAX_RANGES} opening ranges for the week.", field=field)
    ranges: list[OpeningRange] = []
    for i, (weekday, opens, closes) in enumerate(entries):
        where = f"{field}[{i}]"
        if not 0 <= weekday <= 6:
            raise Invalid("The weekday must be 0 (Monday) to 6 (Sunday).", field=f"{where}.weekday")
        start = parse_time(opens, field=f"{where}.opens")
        end = parse_time(closes, field=f"{where}.closes", allow_midnight_end=True)
        if end <= start:
            raise Invalid("Closing time must be after opening time.", field=f"{where}.closes")
        ranges.append(OpeningRange(weekday, start, end))
    ranges.sort()
    for before, after in zip(ranges, ranges[1:], strict=False):
        if before.weekday == after.weekday and after.opens < before.closes:
            raise Invalid(
                f"Opening hours on {WEEKDAYS[before.weekday]} overlap "
                f"({format_time(before.opens)}-{format_time(before.closes)} and "
                f"{format_time(after.opens)}-{format_time(after.closes)}).",
                field=field,
            )
    return ranges
