"""Slot arithmetic in the tenant's time zone (pure functions: no database, no clock).

Slots are laid out on the wall clock: a business open 09:00-17:00 with a 15-minute step offers 09:00, 09:15,
... local time whatever the UTC offset of that day, and a service's duration is real elapsed time. A local
time skipped by a daylight-saving change is never offered; a repeated one is offered once (its first
occurrence).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from domain.catalog.hours import GRID_MINUTES, OpeningRange

TICK = timedelta(minutes=GRID_MINUTES)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, order=True)
class Slot:
    starts_at: datetime  # aware, UTC
    ends_at: datetime


def local_instant(day: date, minute: int, zone: ZoneInfo) -> datetime | None:
    """The UTC instant of wall-clock ``minute`` after midnight of ``day``; None if that time is skipped."""
    naive = datetime.combine(day, time()) + timedelta(minutes=minute)
    instant = naive.replace(tzinfo=zone).astimezone(UTC)  # fold=0: the first of a repeated time
    if instant.astimezone(zone).replace(tzinfo=None) != naive:
        return None
    return instant


def _closing_instant(day: date, minute: int, zone: ZoneInfo) -> datetime:
    naive = datetime.combine(day, time()) + timedelta(minutes=minute)
    return naive.replace(tzinfo=zone).astimezone(UTC)


def day_slots(
    day: date, ranges: Iterable[OpeningRange], zone: ZoneInfo, *, step_minutes: int, duration_minutes: int
) -> list[Slot]:
    """Every slot of ``day`` that starts on the step grid of an opening range and ends by its closing."""
    duration = timedelta(minutes=duration_minutes)
    found: set[Slot] = set()
    for opening in ranges:
        if opening.weekday != day.weekday():
            continue
        closes_at = _closing_instant(day, opening.closes, zone)
        for minute in range(opening.opens, opening.closes, step_minutes):
            start = local_instant(day, minute, zone)
            if start is None:
                continue
            if start + duration <= closes_at:
                found.add(Slot(start, start + duration))
    return sorted(found)


def ticks(starts_at: datetime, ends_at: datetime) -> list[datetime]:
    """The 5-minute UTC grid points a booking occupies: [floor(start), end)."""
    offset = (starts_at - _EPOCH) % TICK
    tick = starts_at - offset
    found = []
    while tick < ends_at:
        found.append(tick)
        tick += TICK
    return found


def is_full(slot: Slot, seats_taken: Mapping[datetime, int], capacity: int) -> bool:
    return any(seats_taken.get(t, 0) >= capacity for t in ticks(slot.starts_at, slot.ends_at))


class Refusal(StrEnum):
    PAST = "past"
    TOO_SOON = "too soon"
    TOO_FAR = "too far ahead"
    CLOSED_DATE = "closed date"
    OUTSIDE_HOURS = "outside hours"
    OFF_GRID = "off the slot grid"


@dataclass(frozen=True)
class Rules:
    """A tenant's booking rules as they apply to one request."""

    zone: ZoneInfo
    ranges: tuple[OpeningRange, ...]
    closed_dates: frozenset[str]
    step_minutes: int
    minimum_notice: timedelta
    horizon_days: int


def open_slots(day: date, rules: Rules, *, duration_minutes: int, now: datetime) -> list[Slot]:
    """The slots of ``day`` a booking may take, before counting seats."""
    if day.isoformat() in rules.closed_dates:
        return []
    earliest = now + rules.minimum_notice
    latest = now + timedelta(days=rules.horizon_days)
    return [
        s
        for s in day_slots(
            day, rules.ranges, rules.zone, step_minutes=rules.step_minutes, duration_minutes=duration_minutes
        )
        if earliest <= s.starts_at <= latest
    ]


def refusal(starts_at: datetime, rules: Rules, *, duration_minutes: int, now: datetime) -> Refusal | None:
    """Why ``starts_at`` cannot start a booking (seats aside), or None when it is a bookable slot."""
    if starts_at < now:
        return Refusal.PAST
    if starts_at < now + rules.minimum_notice:
        return Refusal.TOO_SOON
    if starts_at > now + timedelta(days=rules.horizon_days):
        return Refusal.TOO_FAR
    day = starts_at.astimezone(rules.zone).date()
    if day.isoformat() in rules.closed_dates:
        return Refusal.CLOSED_DATE
    slots = day_slots(
        day, rules.ranges, rules.zone, step_minutes=rules.step_minutes, duration_minutes=duration_minutes
    )
    if any(s.starts_at == starts_at for s in slots):
        return None
    local = starts_at.astimezone(rules.zone)
    minute = local.hour * 60 + local.minute
    inside = any(
        r.weekday == day.weekday() and r.opens <= minute < r.closes and minute + duration_minutes <= r.closes
        for r in rules.ranges
    )
    return Refusal.OFF_GRID if inside else Refusal.OUTSIDE_HOURS
