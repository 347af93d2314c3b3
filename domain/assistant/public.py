"""Deterministic answers to public questions: services, prices, opening hours, free slots and help articles.

What a message asks is read by ``understanding.understand`` (its ``Question``: keywords, service names
matched fuzzily, dates read in the tenant's time zone); this module answers it. Text that is none of these
returns None, so the verification engine carries on.
"""

from __future__ import annotations

import uuid
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bizzly import clock
from domain.assistant import texts, tools
from domain.assistant.hooks import PUBLIC_WORDS, words
from domain.assistant.messages import Reply
from domain.assistant.moments import WEEKDAYS, date_order, read_when
from domain.assistant.understanding import Question, understand
from domain.catalog.hours import format_time
from domain.catalog.models import HelpArticle, Service
from domain.catalog.money import CURRENCY_DIGITS
from domain.customers.service import current_tenant

MAX_SLOTS = 12
PER_SERVICE = 6  # times per service when no service was named
EXCERPT_CHARS = 160
NO_SERVICES = "We have no services listed yet."
BAD_DATE = "I couldn't read that date. Try today, tomorrow, a weekday or a date like 28/11."
NO_HOURS = "We have no opening hours listed yet."


def parse_day(text: str, today: date, *, order: str = "DMY") -> date | None:
    """The day ``text`` names ("tomorrow", "next Thursday", "the 14th", "7/3", "March 7th"), relative to the
    tenant's ``today`` (``moments.read_when``: the time is read and taken out first)."""
    return read_when(text, today, order=order).day


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
        names = [s.name for s in services]
        # The tenant's date order as after verification: a US customer's "7/3" is July 3 on both sides.
        understood = understand(
            text, names=names, today=today, order=date_order(tenant.default_region)
        ).question
        if understood is None:
            return None
        if understood.topic in ("services", "prices"):
            chosen = [s for s in services if s.name == understood.service] or services
            if not chosen:
                return [Reply(text=NO_SERVICES)]
            head = "Our services:" if understood.topic == "services" else "Our prices:"
            return [Reply(text="\n".join([head, *(service_line(s) for s in chosen)]))]
        if understood.topic == "hours":
            return [Reply(text=await self._hours(session))]
        if understood.topic == "availability":
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
        understood: Question,
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
