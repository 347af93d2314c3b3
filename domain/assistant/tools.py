"""The assistant's tools: the only way it touches data, whoever chose the call (the deterministic
understanding or a tenant's language model).

Each tool declares ``public`` (anyone) or ``verified`` (only the verified customer, on their own data). The
policy is enforced here, against the :class:`ToolContext` the engine built from the session, never from
what a message or a model said: a verified tool without a verified account is refused, arguments a tool
does not declare (a ``customer_id``, say) are refused, and a booking id that is not the account's own is
"not found". Changes go through the same domain services as the dashboard (``BookingCaller`` with
source WHATSAPP), so capacity, cut-off and quota rules hold and the audit log records them.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from bizzly import clock
from bizzly.db.paging import PageRequest
from bizzly.errors import DomainError, ErrorCode, NotFound
from domain.catalog.help import search_articles
from domain.catalog.hours import OpeningRange
from domain.catalog.models import HelpArticle, Service
from domain.catalog.repository import Services
from domain.catalog.service import week
from domain.scheduling import service as scheduling
from domain.scheduling.models import Booking, BookingSource, BookingStatus
from domain.scheduling.repository import BookingFilter, Bookings
from domain.scheduling.service import BookingCaller, availability
from domain.scheduling.slots import Slot
from domain.subscriptions.service import SubscriptionView, customers_subscriptions

Access = Literal["public", "verified"]
MAX_UPCOMING = 20


class ToolRefused(DomainError):
    """The policy said no: nothing was read or changed."""

    def __init__(self, message: str) -> None:
        super().__init__(ErrorCode.FORBIDDEN, message)


@dataclass(frozen=True)
class ToolContext:
    """Who is asking, as the verification engine established it (never as a message claims it)."""

    session: AsyncSession
    customer_id: uuid.UUID | None  # the verified account, or None
    actor: str  # for the audit log: "whatsapp:+4477..."

    @property
    def caller(self) -> BookingCaller:
        if self.customer_id is None:
            raise ToolRefused("Please verify first.")
        return BookingCaller(actor=self.actor, source=BookingSource.WHATSAPP, customer_id=self.customer_id)


ArgKind = Literal["uuid", "date", "datetime", "str"]


@dataclass(frozen=True)
class Tool:
    name: str
    access: Access
    description: str
    run: Callable[..., Awaitable[Any]]
    params: Mapping[str, ArgKind] = field(default_factory=dict)
    required: tuple[str, ...] = ()

    def spec(self) -> dict[str, Any]:
        """The OpenAI ``tools`` entry for this tool."""
        kinds = {
            "uuid": {"type": "string", "description": "an id from an earlier tool result"},
            "date": {"type": "string", "description": "a local date, YYYY-MM-DD"},
            "datetime": {"type": "string", "description": "a local date and time, YYYY-MM-DDTHH:MM"},
            "str": {"type": "string"},
        }
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": {
                    "type": "object",
                    "properties": {name: kinds[kind] for name, kind in self.params.items()},
                    "required": list(self.required),
                    "additionalProperties": False,
                },
            },
        }


# --- public -------------------------------------------------------------------------------------------


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


# --- verified: the context's own account only ---------------------------------------------------------


async def list_my_bookings(ctx: ToolContext) -> list[Booking]:
    """The account's confirmed bookings that have not started, soonest first."""
    caller = ctx.caller
    page = await Bookings(ctx.session).page(
        PageRequest(last=MAX_UPCOMING),  # newest first: the last ones are the soonest
        BookingFilter(
            customer_id=caller.customer_id, status=BookingStatus.CONFIRMED.value, starts_from=clock.now()
        ),
    )
    return sorted((b for _, b in page.items), key=lambda b: (b.starts_at, b.id))[:MAX_UPCOMING]


async def own_booking(ctx: ToolContext, booking_id: uuid.UUID) -> Booking:
    """One of the account's bookings; anyone else's is "not found", whatever id was given."""
    caller = ctx.caller
    booking = await Bookings(ctx.session).get(booking_id)
    if booking is None or booking.customer_id != caller.customer_id:
        raise NotFound("No booking with this id.", field="id")
    return booking


async def create_booking(ctx: ToolContext, *, service_id: uuid.UUID, starts_at: datetime) -> Booking:
    return await scheduling.create_booking(
        ctx.session, caller=ctx.caller, customer_id=None, service_id=service_id, starts_at=starts_at
    )


async def cancel_booking(ctx: ToolContext, *, booking_id: uuid.UUID) -> Booking:
    """The scheduling service looks the booking up among the caller's own (anyone else's is "not found")."""
    return await scheduling.cancel_booking(ctx.session, caller=ctx.caller, booking_id=booking_id)


async def reschedule_booking(ctx: ToolContext, *, booking_id: uuid.UUID, starts_at: datetime) -> Booking:
    """As ``cancel_booking``: only the caller's own booking."""
    return await scheduling.reschedule_booking(
        ctx.session, caller=ctx.caller, booking_id=booking_id, starts_at=starts_at
    )


async def get_my_subscriptions(ctx: ToolContext) -> list[SubscriptionView]:
    """The account's subscriptions with what is left of this period."""
    caller = ctx.caller
    assert caller.customer_id is not None
    found = await customers_subscriptions(ctx.session, [caller.customer_id])
    return found.get(caller.customer_id, [])


async def erase_my_messages(ctx: ToolContext) -> None:
    """The policy only: the verified customer, for her own conversation. Nothing is erased here: the engine
    then asks her to confirm (the question "delete my messages" asks) and erases on her "yes"."""
    ctx.caller  # noqa: B018 - the policy check


async def opt_out(ctx: ToolContext) -> None:
    """Anyone, for their own WhatsApp id. Nothing changes here: the engine then asks the sender to confirm
    and opts them out (as STOP does) on their "yes"."""


TOOLS: dict[str, Tool] = {
    t.name: t
    for t in (
        Tool("list_services", "public", "The services with prices and durations.", list_services),
        Tool("get_prices", "public", "The prices of the services.", get_prices),
        Tool("opening_hours", "public", "The business's opening hours.", opening_hours),
        Tool(
            "check_availability",
            "public",
            "Free start times of a service on a day.",
            check_availability,
            {"service_id": "uuid", "day": "date"},
            ("service_id", "day"),
        ),
        Tool("search_help", "public", "Search the help articles.", search_help, {"query": "str"}, ("query",)),
        Tool("list_my_bookings", "verified", "The customer's upcoming bookings.", list_my_bookings),
        Tool(
            "create_booking",
            "verified",
            "Book a service for the customer at a free time.",
            create_booking,
            {"service_id": "uuid", "starts_at": "datetime"},
            ("service_id", "starts_at"),
        ),
        Tool(
            "cancel_booking",
            "verified",
            "Cancel one of the customer's bookings.",
            cancel_booking,
            {"booking_id": "uuid"},
            ("booking_id",),
        ),
        Tool(
            "reschedule_booking",
            "verified",
            "Move one of the customer's bookings to another free time.",
            reschedule_booking,
            {"booking_id": "uuid", "starts_at": "datetime"},
            ("booking_id", "starts_at"),
        ),
        Tool(
            "get_my_subscriptions", "verified", "The customer's plans and what is left.", get_my_subscriptions
        ),
        Tool("erase_my_messages", "verified", "Delete the customer's message history.", erase_my_messages),
        Tool("opt_out", "public", "Stop WhatsApp messages to the customer.", opt_out),
    )
}
# Public tools read the catalogue and take the session; verified ones take the whole context.
_TAKES_SESSION = {"list_services", "get_prices", "opening_hours", "check_availability", "search_help"}


def specs(*, verified: bool) -> list[dict[str, Any]]:
    """The tools a model may be offered: verified ones only for a verified account."""
    return [t.spec() for t in TOOLS.values() if verified or t.access == "public"]


def parse_args(tool: Tool, args: Mapping[str, Any], *, zone: Any) -> dict[str, Any]:
    """Typed arguments, or ``ToolRefused``: undeclared names, missing ones and unreadable values."""
    unknown = set(args) - set(tool.params)
    if unknown:
        raise ToolRefused(f"{tool.name} takes no {', '.join(sorted(unknown))}.")
    parsed: dict[str, Any] = {}
    for name, kind in tool.params.items():
        value = args.get(name)
        if value is None:
            if name in tool.required:
                raise ToolRefused(f"{tool.name} needs {name}.")
            continue
        try:
            if kind == "uuid":
                parsed[name] = uuid.UUID(str(value))
            elif kind == "date":
                parsed[name] = date.fromisoformat(str(value)[:10])
            elif kind == "datetime":
                moment = datetime.fromisoformat(str(value))
                parsed[name] = moment.replace(tzinfo=zone) if moment.tzinfo is None else moment
            else:
                parsed[name] = str(value)[:500]
        except ValueError as exc:
            raise ToolRefused(f"{tool.name}: {name} is not readable.") from exc
    return parsed


def authorize(ctx: ToolContext, name: str) -> Tool:
    """The tool, if this context may call it at all."""
    tool = TOOLS.get(name)
    if tool is None:
        raise ToolRefused(f"There is no tool {name[:40]!r}.")
    if tool.access == "verified" and ctx.customer_id is None:
        raise ToolRefused("Please verify first: that needs your account.")
    return tool


async def call(ctx: ToolContext, name: str, args: Mapping[str, Any], *, zone: Any) -> Any:
    """Run one tool for ``ctx`` after the policy checks."""
    tool = authorize(ctx, name)
    parsed = parse_args(tool, args, zone=zone)
    if name in _TAKES_SESSION:
        return await tool.run(ctx.session, **parsed)
    # A refused change (full, past quota, too late) leaves nothing behind in the conversation's transaction.
    async with ctx.session.begin_nested():
        return await tool.run(ctx, **parsed)
