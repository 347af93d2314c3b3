"""Quota periods: calendar weeks (Monday to Sunday) and months in the tenant's time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.subscriptions.models import PlanPeriod


def period_start(period: PlanPeriod, at: datetime, zone: ZoneInfo) -> date:
    """The first local day of the period ``at`` falls in."""
    day = at.astimezone(zone).date()
    if period is PlanPeriod.WEEK:
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def next_period_start(period: PlanPeriod, start: date) -> date:
    if period is PlanPeriod.WEEK:
        return start + timedelta(days=7)
    return date(start.year + (start.month == 12), start.month % 12 + 1, 1)


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The UTC instant a local day starts (aware)."""
    return datetime.combine(day, time()).replace(tzinfo=zone).astimezone(UTC)


def period_ends_at(period: PlanPeriod, at: datetime, zone: ZoneInfo) -> datetime:
    return local_midnight(next_period_start(period, period_start(period, at, zone)), zone)


def describe(period: PlanPeriod) -> str:
    return "week" if period is PlanPeriod.WEEK else "month"
