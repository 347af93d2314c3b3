"""Deterministic answers to public questions: services, prices, opening hours, free slots and help articles.

Understanding is by keywords, with service names matched fuzzily (typos, word order) and dates read in the
tenant's time zone. Text that is none of these returns None, so the verification engine carries on.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date, time
from typing import Literal
from zoneinfo import ZoneInfo

from rapidfuzz import fuzz
from sqlalchemy.ext.asyncio import AsyncSession

from bizzly import clock
from domain.assistant import texts, tools
from domain.assistant.hooks import PROTECTED_WORDS, PUBLIC_WORDS, foreign, words
from domain.assistant.messages import Reply
from domain.assistant.moments import WEEKDAYS, read_when
from domain.catalog.hours import format_time
from domain.catalog.models import HelpArticle, Service
from domain.catalog.money import CURRENCY_DIGITS
from domain.customers.service import current_tenant

Intent = Literal["services", "prices", "hours", "availability", "help"]

_AVAILABILITY = re.compile(r"\b(free|availab\w*|slots?|openings?|space|spaces|spot|spots)\b")
# "what time ...?" asks about availability only with a day or a service ("what time is it on?" does not)
_TIMES = re.compile(r"\b(times?|when)\b")
_PRICES = re.compile(r"\b(prices?|pricing|costs?|how much|fees?|rates?|charge)\b")
_SERVICES = re.compile(r"\b(services?|offer\w*|treatments?|menu|what do you do)\b")
_HOURS = re.compile(r"\b(opening hours|hours|open|close|closing)\b")
_HELP = re.compile(r"\b(help|faq|how do i|how can i|policy|question)\b")
FUZZY_CUTOFF = 80
MAX_SLOTS = 12
PER_SERVICE = 6  # times per service when no service was named
EXCERPT_CHARS = 160
NO_SERVICES = "We have no services listed yet."
BAD_DATE = "I couldn't read that date. Try today, tomorrow, a weekday or a date like 28/11."
NO_HOURS = "We have no opening hours listed yet."


@dataclass(frozen=True)
class Understood:
    intent: Intent
    service: str | None = None  # the matched service's name
    day: date | None = None
    bad_date: bool = False  # a date was written but no such day exists ("31/02")
    window: tuple[str, str] | None = None  # "HH:MM" bounds of a day part or "after 5"; an exact time too


def parse_day(text: str, today: date, *, order: str = "DMY") -> date | None:
    """The day ``text`` names ("tomorrow", "next Thursday", "the 14th", "7/3", "March 7th"), relative to the
    tenant's ``today`` (``moments.read_when``: the time is read and taken out first)."""
    return read_when(text, today, order=order).day


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


def understand(text: str, *, names: list[str], today: date) -> Understood | None:
    said = words(text)
    if not said or PROTECTED_WORDS.search(said):
        return None
    moment = read_when(text, today)
    service = match_service(moment.rest, names)
    if service is None and foreign(said):
        return None  # a cab, a film, the weather: not for this business (the help text answers)
    day, bad_date = moment.day, moment.bad_date
    if _HOURS.search(said) and service is None and day is None:
        return Understood("hours")
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
        return Understood("availability", service, day, bad_date, bounds)
    if _PRICES.search(said):
        return Understood("prices", service)
    if _SERVICES.search(said):
        return Understood("services")
    if _HELP.search(said) or text.strip().endswith("?"):
        return Understood("help")
    return None


def price(service: Service) -> str:
    digits = CURRENCY_DIGITS.get(service.price_currency, 2)
    amount = service.price_amount / 10**digits
    return f"{service.price_currency} {amount:,.{digits}f}"


def duration(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    if hours and rest:
        return f"{hours} h {rest} min"
    return f"{hours} h" if hours else f"{rest} min"


def service_line(service: Service) -> str:
    return f"- {service.name}: {price(service)} ({duration(service.duration_minutes)})"


def on_day(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B}"


def article_text(article: HelpArticle) -> str:
    """A help article as the chat shows it: the title and the start of its body, cut between words."""
    body = " ".join(article.body.split())
    excerpt = body if len(body) <= EXCERPT_CHARS else body[:EXCERPT_CHARS].rsplit(" ", 1)[0] + "…"
    return f"{article.title}\n{excerpt}"


class CatalogueAnswerer:
    """The default ``PublicAnswerer``: real answers from the tenant's catalogue, no customer data."""

    async def answer(self, session: AsyncSession, *, tenant_id: uuid.UUID, text: str) -> list[Reply] | None:
        tenant = await current_tenant(session)
        zone = ZoneInfo(tenant.timezone)
        today = clock.now().astimezone(zone).date()
        services = await tools.list_services(session)
        understood = understand(text, names=[s.name for s in services], today=today)
        if understood is None:
            return None
        if understood.intent in ("services", "prices"):
            chosen = [s for s in services if s.name == understood.service] or services
            if not chosen:
                return [Reply(text=NO_SERVICES)]
            head = "Our services:" if understood.intent == "services" else "Our prices:"
            return [Reply(text="\n".join([head, *(service_line(s) for s in chosen)]))]
        if understood.intent == "hours":
            return [Reply(text=await self._hours(session))]
        if understood.intent == "availability":
            return [Reply(text=await self._availability(session, understood, services, today, zone))]
        article = await tools.search_help(session, query=text)
        if article is None:
            return [Reply(text=texts.PUBLIC_MENU)] if PUBLIC_WORDS.search(words(text)) else None
        return [Reply(text=article_text(article))]

    async def _hours(self, session: AsyncSession) -> str:
        ranges = await tools.opening_hours(session)
        if not ranges:
            return NO_HOURS
        lines = ["Opening hours:"]
        for i, name in enumerate(WEEKDAYS):
            today = [f"{format_time(r.opens)}–{format_time(r.closes)}" for r in ranges if r.weekday == i]
            lines.append(f"- {name.title()}: {', '.join(today) if today else 'closed'}")
        return "\n".join(lines)

    async def _availability(
        self,
        session: AsyncSession,
        understood: Understood,
        services: list[Service],
        today: date,
        zone: ZoneInfo,
    ) -> str:
        if understood.bad_date:
            return BAD_DATE
        service = next((s for s in services if s.name == understood.service), None)
        if service is None and len(services) == 1:
            service = services[0]
        if not services:
            return NO_SERVICES
        day = understood.day or today
        on = on_day(day)
        if day < today:
            return f"{on} has passed. Ask me about today or a later day."
        window = understood.window
        span = f" between {window[0]} and {window[1]}" if window else ""
        if service is None:
            # No question back (a stateless answer could not keep the day): every service's times.
            lines = [f"Free times on {on}{span}:"]
            for each in services:
                times = await self._times(session, each, day, zone, window)
                shown = ", ".join(times[:PER_SERVICE]) + (" …" if len(times) > PER_SERVICE else "")
                lines.append(f"- {each.name}: {shown or 'none'}")
            return "\n".join(lines)
        times = await self._times(session, service, day, zone, window)
        if not times:
            return f"Sorry, there are no free {service.name} slots on {on}{span}."
        more = f" (and {len(times) - MAX_SLOTS} more)" if len(times) > MAX_SLOTS else ""
        return f"Free {service.name} times on {on}{span}: {', '.join(times[:MAX_SLOTS])}{more}."

    async def _times(
        self,
        session: AsyncSession,
        service: Service,
        day: date,
        zone: ZoneInfo,
        window: tuple[str, str] | None,
    ) -> list[str]:
        slots = await tools.check_availability(session, service_id=service.id, day=day)
        times = [s.starts_at.astimezone(zone).strftime("%H:%M") for s in slots]
        return [t for t in times if window is None or window[0] <= t <= window[1]]
