"""The assistant's tools: what it may look up, each declared ``public`` (anyone) or ``verified`` (only the
verified customer's own data). Public tools read the tenant's catalogue through the domain services only."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from domain.catalog.help import search_articles
from domain.catalog.hours import OpeningRange
from domain.catalog.models import HelpArticle, Service
from domain.catalog.repository import Services
from domain.catalog.service import week
from domain.scheduling.service import availability
from domain.scheduling.slots import Slot

Access = Literal["public", "verified"]


@dataclass(frozen=True)
class Tool:
    name: str
    access: Access
    run: Callable[..., Awaitable[Any]]


async def list_services(session: AsyncSession) -> list[Service]:
    """The services a customer can book (active, not archived), by name."""
    return await Services(session).listed(include_inactive=False)


async def get_prices(session: AsyncSession) -> list[Service]:
    """The same list, read for its prices and durations."""
    return await list_services(session)


async def opening_hours(session: AsyncSession) -> list[OpeningRange]:
    return await week(session)


async def check_availability(session: AsyncSession, *, service_id: uuid.UUID, day: date) -> list[Slot]:
    """Free slots of a service on a local date: never past, never full (the scheduling service decides)."""
    return await availability(session, service_id=service_id, day=day)


async def search_help(session: AsyncSession, *, query: str) -> HelpArticle | None:
    """The most relevant published help article, if any."""
    found = await search_articles(session, query=query, published_only=True, limit=1)
    return found[0] if found else None


TOOLS: dict[str, Tool] = {
    t.name: t
    for t in (
        Tool("list_services", "public", list_services),
        Tool("get_prices", "public", get_prices),
        Tool("opening_hours", "public", opening_hours),
        Tool("check_availability", "public", check_availability),
        Tool("search_help", "public", search_help),
    )
}
