"""What a customer can do in chat once verified — see, book, cancel and move bookings, check
subscriptions — plus the public answers, step by step with the state kept between messages.

Understanding is deterministic (``understanding.py``); a tenant's language model, when configured, is
asked only about text that was not understood, and only picks a tool and its arguments: every call goes
through ``tools.call``/``tools.authorize`` with the session's account, and changes still ask the customer
to confirm with "yes". A model that picks ``erase_my_messages`` or ``opt_out`` only makes the engine ask
its own question (:class:`Questions`; erasing: the very question "delete my messages" gets). A pending
step lives :data:`PENDING_TTL` in the conversation state, so another worker (or a restart) continues the
same conversation.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bizzly import clock
from bizzly.errors import DomainError
from bizzly.ports import LanguageModel
from domain.assistant import tools, understanding
from domain.assistant.hooks import foreign, words
from domain.assistant.messages import Choice, Reply
from domain.assistant.moments import PARTS
from domain.assistant.public import (
    NO_SERVICES,
    CatalogueAnswerer,
    article_text,
    duration,
    on_day,
    price,
    service_line,
)
from domain.assistant.steps import Flow, Step, dialogue_step
from domain.assistant.turn import Turn
from domain.assistant.understanding import NO, YES, Ask, is_request, pick_number, protected
from domain.catalog.models import Service
from domain.customers.service import current_tenant
from domain.scheduling.models import Booking
from domain.subscriptions.models import PlanPeriod
from domain.subscriptions.periods import describe
from domain.subscriptions.service import SubscriptionStatus

log = logging.getLogger("bizzly.assistant")

PENDING_TTL = timedelta(minutes=30)
LIST_ROWS = 10  # WhatsApp's interactive list holds at most ten rows

_PUBLIC_HELP = ('our services and prices ("prices")', 'free times ("haircut tomorrow")')


def help_text() -> str:
    """The help message: the public answers, then every intent's help line (``understanding.INTENTS``)."""
    lines = [
        *_PUBLIC_HELP,
        *(i.help for i in understanding.INTENTS if i.help),
        'help articles, or "log out".',
    ]
    return "Sorry, I didn't understand that. Here's what I can do:\n" + "\n".join(
        f"• {line}" for line in lines
    )


HELP = help_text()
NO_BOOKINGS = "You have no upcoming bookings."
NO_SUBSCRIPTIONS = "You have no subscriptions."
STOPPED = "OK, I've left everything as it was."
REFUSED = "Sorry, I can't do that here."
NOT_YOURS = "I couldn't find that booking among yours."
MODEL_SYSTEM = (
    "You help customers of a small business on WhatsApp. Pick exactly one tool for the customer's message "
    "and fill its arguments, or answer without a tool when none fits. Today is {today} ({zone})."
)


class Memory(Protocol):
    """The pending step of this conversation (the engine keeps it in ``assistant_states``)."""

    def get(self) -> dict[str, Any]: ...

    async def put(self, value: dict[str, Any] | None) -> None: ...


class Questions(Protocol):
    """The engine's own yes/no questions for what only the sender's "yes" may do. The engine keeps each
    question pending and carries it out on the answer, so "delete my messages" typed and the tool picked
    by a model lead to one and the same confirmation (STOP typed acts at once; a model's pick never does)."""

    async def ask_erase(self) -> list[Reply]:
        """Delete this conversation's message history? (only ever asked of a verified customer)"""

    async def ask_opt_out(self) -> list[Reply]:
        """Stop all WhatsApp messages to this sender? (anyone)"""


def when(moment: datetime, zone: ZoneInfo) -> str:
    local = moment.astimezone(zone)
    return f"{on_day(local.date())} at {local:%H:%M}"


def _yes_no(text: str) -> Reply:
    return Reply(
        text=text,
        kind="buttons",
        choices=[Choice(id="d:yes", title="Yes"), Choice(id="d:no", title="No")],
    )


def _numbered(head: str, rows: list[tuple[str, str]], tail: str) -> Reply:
    """A numbered list (rows: title, line); an interactive list too when it fits."""
    lines = [f"{i + 1}. {line}" for i, (_, line) in enumerate(rows)]
    text = "\n".join([head, *lines, tail])
    if len(rows) <= LIST_ROWS:
        choices = [Choice(id=f"d:{i + 1}", title=title[:24]) for i, (title, _) in enumerate(rows)]
        return Reply(text=text, kind="list", choices=choices)
    return Reply(text=text)


_BOOKING_FLOWS = (Flow.BOOK, Flow.RESCHEDULE)


def _note_when(draft: dict[str, Any], ask: Ask) -> None:
    """What ``ask`` says of when, into the draft: a new time replaces the window, and the other way."""
    if ask.day:
        draft["day"] = ask.day.isoformat()
    if ask.at:
        draft["at"] = ask.at.strftime("%H:%M")
        draft.pop("window", None)
    elif ask.after or ask.before:
        start, end = ask.after or time(0, 0), ask.before or time(23, 59)
        draft["window"] = [start.strftime("%H:%M"), end.strftime("%H:%M")]
        draft.pop("at", None)


def _window(draft: dict[str, Any]) -> tuple[str, str] | None:
    window = draft.get("window")
    return (str(window[0]), str(window[1])) if isinstance(window, list) and len(window) == 2 else None


def _window_text(window: tuple[str, str]) -> str:
    for name, (start, end) in PARTS.items():
        if (start.strftime("%H:%M"), end.strftime("%H:%M")) == window:
            return f"in the {name}"
    if window[0] == "00:00":
        return f"before {window[1]}"
    if window[1] == "23:59":
        return f"after {window[0]}"
    return f"between {window[0]} and {window[1]}"


def _asked(draft: dict[str, Any]) -> str:
    """The time or window already asked for, to repeat in a question (" at 16:00")."""
    if draft.get("at"):
        return f" at {draft['at']}"
    window = _window(draft)
    return f" {_window_text(window)}" if window else ""


def _hhmm(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%H:%M")


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def _examples(turn: Turn) -> str:
    """Example days for a prompt, all still to come: "tomorrow, Monday, 14/12"."""
    later = turn.today + timedelta(days=4)
    week = turn.today + timedelta(days=7)
    figures = f"{week.month}/{week.day}" if turn.order == "MDY" else f"{week.day}/{week.month}"
    return f"tomorrow, {later:%A}, {figures}"


class Assistant:
    """The default ``ProtectedHandler``: the whole conversation of a verified customer."""

    answers_public = True  # the engine hands it every message of a verified customer

    def __init__(
        self, *, turn: Turn, memory: Memory, questions: Questions, model: LanguageModel | None = None
    ) -> None:
        self.turn = turn
        self.memory = memory
        self.questions = questions
        self.model = model

    def is_protected(self, text: str) -> bool:
        return is_request(text) or protected(text)

    async def handle(
        self, session: AsyncSession, *, tenant_id: uuid.UUID, customer_id: uuid.UUID, text: str
    ) -> list[Reply]:
        turn = self.turn
        await turn.verified_as(customer_id)
        pending = self.memory.get()
        live = bool(pending) and str(pending.get("until", "")) > clock.now().isoformat()
        if live:
            replies = await self._continue(turn, pending, text)
            if replies is not None:
                return replies
        ask = turn.understand(text)
        if ask.intent is not None:
            if pending:
                await self.memory.put(None)
            return await self._start(turn, ask)
        public = await CatalogueAnswerer().answer(session, tenant_id=tenant_id, text=text)
        if public is not None:
            return public  # a question on the side: the step in progress stays pending
        if self.model is not None:
            chosen = await ask_model(self.model, text, verified=True, today=turn.today, zone=turn.zone)
            if chosen is not None:
                if pending:
                    await self.memory.put(None)
                return await self._from_model(turn, *chosen)
        if live and not foreign(words(text)):
            # A polite or unrelated clause ("Oh, I forgot I have a meeting then.") changes nothing: the
            # pending question is asked again.
            return await self._again(turn, pending)
        if pending:
            await self.memory.put(None)
        return [Reply(text=help_text())]

    async def _again(self, turn: Turn, draft: dict[str, Any]) -> list[Reply]:
        """The pending question once more, nothing changed."""
        step = dialogue_step(draft)
        if step is Step.CONFIRM and draft.get("starts_at"):
            service = turn.service(draft.get("service_id"))
            if service is not None:
                return await self._confirm(turn, draft, service, datetime.fromisoformat(draft["starts_at"]))
        if step is Step.CHOOSE_BOOKING:
            return await self._choose_booking(turn, draft)
        if draft.get("flow") in (Flow.BOOK, Flow.RESCHEDULE):
            return await self._book_next(turn, draft)
        await self.memory.put(None)
        return [Reply(text=help_text())]

    # --- starting ---------------------------------------------------------------------------------

    async def _start(self, turn: Turn, ask: Ask) -> list[Reply]:
        return await HANDLERS[str(ask.intent)](self, turn, ask)

    async def _flow(self, turn: Turn, ask: Ask) -> list[Reply]:
        """Booking, cancelling or moving: the steps of the flow named by the intent."""
        draft: dict[str, Any] = {"flow": Flow(str(ask.intent))}
        if ask.bad_date:
            return [Reply(text=f"I couldn't read that date. Try {_examples(turn)}.")]
        _note_when(draft, ask)
        if ask.intent == Flow.BOOK:
            service = next((s for s in turn.services if s.name == ask.service), None)
            if service is not None:
                draft["service_id"] = str(service.id)
            return await self._book_next(turn, draft)
        return await self._choose_booking(turn, draft)

    async def _list(self, turn: Turn) -> Reply:
        bookings = await tools.list_my_bookings(turn.ctx)
        if not bookings:
            return Reply(text=NO_BOOKINGS)
        lines = [
            f"{i + 1}. {self._name(turn, b)} — {when(b.starts_at, turn.zone)}" for i, b in enumerate(bookings)
        ]
        return Reply(text="\n".join(["Your upcoming bookings:", *lines]))

    async def _subscriptions(self, turn: Turn) -> Reply:
        views = await tools.get_my_subscriptions(turn.ctx)
        if not views:
            return Reply(text=NO_SUBSCRIPTIONS)
        lines = ["Your subscriptions:"]
        for view in views:
            period = describe(PlanPeriod(view.plan.period))
            if view.status is SubscriptionStatus.ACTIVE and view.period_ends_at is not None:
                renews = view.period_ends_at.astimezone(turn.zone).date()
                lines.append(
                    f"- {view.plan.name}: {view.remaining} of {view.plan.quota} left this {period} "
                    f"(renews {on_day(renews)})"
                )
            else:
                lines.append(f"- {view.plan.name}: {view.status.value.lower()}")
        return Reply(text="\n".join(lines))

    def _name(self, turn: Turn, booking: Booking) -> str:
        service = turn.service(booking.service_id)
        return service.name if service is not None else "Booking"

    # --- booking and moving -----------------------------------------------------------------------

    async def _book_next(self, turn: Turn, draft: dict[str, Any]) -> list[Reply]:
        """Ask for what is missing (service, day, time), else the confirmation. A day that has passed is
        said first; every question repeats what is already known, so the customer can correct it."""
        day = date.fromisoformat(draft["day"]) if draft.get("day") else None
        if day is not None and day < turn.today:
            draft["step"] = Step.DAY
            draft.pop("day", None)
            await self._save(draft)
            return [Reply(text=f"{on_day(day)} has passed. Which day would you like{_asked(draft)}?")]
        service = turn.service(draft.get("service_id"))
        if service is None:
            if len(turn.services) == 1:
                service = turn.services[0]
                draft["service_id"] = str(service.id)
            elif not turn.services:
                await self.memory.put(None)
                return [Reply(text="We have no services to book yet.")]
            else:
                draft["step"] = Step.SERVICE
                await self._save(draft)
                rows = [
                    (s.name, f"{s.name} ({price(s)}, {duration(s.duration_minutes)})") for s in turn.services
                ]
                on = f" on {on_day(day)}" if day is not None else ""
                head = f"Which service would you like{on}{_asked(draft)}?"
                return [_numbered(head, rows, "Reply with its number or name.")]
        if day is None:
            draft["step"] = Step.DAY
            await self._save(draft)
            return [
                Reply(
                    text=f"Which day would you like {service.name}{_asked(draft)}? (e.g. {_examples(turn)})"
                )
            ]
        slots = await tools.call(
            turn.ctx,
            "check_availability",
            {"service_id": str(service.id), "day": day.isoformat()},
            zone=turn.zone,
        )
        starts = [s.starts_at for s in slots]
        wanted = draft.get("at")
        window = _window(draft)
        head = ""
        if wanted:
            match = next((s for s in starts if _hhmm(s, turn.zone) == wanted), None)
            if match is not None:
                return await self._confirm(turn, draft, service, match)
            head = f"Sorry, {wanted} isn't free for {service.name} on {on_day(day)}."
            # The free times nearest to the one asked for come first.
            starts.sort(key=lambda s: abs(_minutes(_hhmm(s, turn.zone)) - _minutes(wanted)))
        elif window is not None:
            inside = [s for s in starts if window[0] <= _hhmm(s, turn.zone) < window[1]]
            if inside:
                starts = inside
            elif starts:
                head = f"Sorry, nothing is free for {service.name} {_window_text(window)} on {on_day(day)}."
        if not starts:
            draft["step"] = Step.DAY
            draft.pop("day", None)
            await self._save(draft)
            text = f"Sorry, there are no free {service.name} times on {on_day(day)}. Which other day?"
            return [Reply(text=f"{head} {text}".strip())]
        offered = starts[:LIST_ROWS]
        draft["step"] = Step.SLOT
        draft["slots"] = [s.isoformat() for s in offered]
        await self._save(draft)
        rows = [(_hhmm(s, turn.zone),) * 2 for s in offered]
        later = "" if wanted else " later"
        more = f" ({len(starts) - len(offered)} more{later} that day)" if len(starts) > len(offered) else ""
        if wanted:
            intro = f"The nearest free times{more}:"
        elif window is not None and not head:
            intro = f"Free {service.name} times {_window_text(window)} on {on_day(day)}{more}:"
        else:
            intro = f"Free {service.name} times on {on_day(day)}{more}:"
        return [_numbered(f"{head}\n{intro}".strip(), rows, "Reply with a number or a time.")]

    async def _confirm(
        self, turn: Turn, draft: dict[str, Any], service: Service, at: datetime
    ) -> list[Reply]:
        draft["step"] = Step.CONFIRM
        draft["starts_at"] = at.isoformat()
        draft.pop("slots", None)
        await self._save(draft)
        if draft["flow"] == Flow.RESCHEDULE:
            booking = await tools.own_booking(turn.ctx, uuid.UUID(draft["booking_id"]))
            before = when(booking.starts_at, turn.zone)
            question = f"Move your {service.name} from {before} to {when(at, turn.zone)}?"
        else:
            question = f"Book {service.name} on {when(at, turn.zone)} ({price(service)})?"
        return [_yes_no(f"{question} Reply YES to confirm or NO to stop.")]

    # --- cancelling and choosing a booking ---------------------------------------------------------

    async def _choose_booking(self, turn: Turn, draft: dict[str, Any]) -> list[Reply]:
        bookings = await tools.list_my_bookings(turn.ctx)
        if not bookings:
            await self.memory.put(None)
            return [Reply(text=NO_BOOKINGS)]
        if len(bookings) == 1:
            return await self._chosen(turn, draft, bookings[0])
        draft["step"] = Step.CHOOSE_BOOKING
        draft["choices"] = [str(b.id) for b in bookings]
        await self._save(draft)
        verb = "cancel" if draft["flow"] == Flow.CANCEL else "move"
        rows = [
            (
                f"{self._name(turn, b)} {b.starts_at.astimezone(turn.zone):%d/%m %H:%M}",
                f"{self._name(turn, b)} — {when(b.starts_at, turn.zone)}",
            )
            for b in bookings
        ]
        return [_numbered(f"Which booking would you like to {verb}?", rows, "Reply with its number.")]

    async def _chosen(self, turn: Turn, draft: dict[str, Any], booking: Booking) -> list[Reply]:
        draft["booking_id"] = str(booking.id)
        draft.pop("choices", None)
        if draft["flow"] == Flow.RESCHEDULE:
            draft["service_id"] = str(booking.service_id)
            return await self._book_next(turn, draft)
        draft["step"] = Step.CONFIRM
        await self._save(draft)
        name = self._name(turn, booking)
        return [
            _yes_no(
                f"Cancel your {name} on {when(booking.starts_at, turn.zone)}? "
                "Reply YES to confirm or NO to stop."
            )
        ]

    # --- continuing a pending step -----------------------------------------------------------------

    async def _continue(self, turn: Turn, draft: dict[str, Any], text: str) -> list[Reply] | None:
        """The next step, or None when ``text`` is not an answer to the pending question (it is then
        understood afresh). A follow-up that names only a time keeps the day and the service of the step in
        progress; one that names only a day keeps the time."""
        said = words(text)
        step = dialogue_step(draft)
        if said in NO:
            await self.memory.put(None)
            return [Reply(text=STOPPED)]
        if step is Step.CONFIRM and said in YES:
            await self.memory.put(None)
            return [await self._execute(turn, draft)]
        if step is Step.CHOOSE_BOOKING:
            choices = [str(c) for c in draft.get("choices", [])]
            index = pick_number(text, len(choices))
            if index is None:
                return None
            try:
                booking = await tools.own_booking(turn.ctx, uuid.UUID(choices[index]))
            except DomainError:
                await self.memory.put(None)
                return [Reply(text=NOT_YOURS)]
            return await self._chosen(turn, draft, booking)
        if step is Step.SLOT:
            offered = [datetime.fromisoformat(s) for s in draft.get("slots", [])]
            index = pick_number(text, len(offered))
            chosen = turn.service(draft.get("service_id"))
            if index is not None and chosen is not None:
                return await self._confirm(turn, draft, chosen, offered[index])
        ask = turn.understand(text)
        if ask.intent in ("cancel", "bookings", "subscriptions"):
            return None
        if step is Step.SERVICE:
            names = [s.name for s in turn.services]
            index = pick_number(text, len(names))
            name = names[index] if index is not None else ask.service
            if name is not None:
                service = next(s for s in turn.services if s.name == name)
                draft["service_id"] = str(service.id)
                _note_when(draft, ask)
                return await self._book_next(turn, draft)
        if ask.bad_date:
            return [Reply(text=f"I couldn't read that date. Try {_examples(turn)}.")]
        if step in (Step.SERVICE, Step.DAY, Step.SLOT, Step.CONFIRM) and draft.get("flow") in _BOOKING_FLOWS:
            if ask.service and draft.get("flow") == Flow.BOOK:
                service = next(s for s in turn.services if s.name == ask.service)
                draft["service_id"] = str(service.id)
            elif not (ask.day or ask.at or ask.after or ask.before):
                return None
            _note_when(draft, ask)
            draft.pop("starts_at", None)
            return await self._book_next(turn, draft)
        return None

    async def _execute(self, turn: Turn, draft: dict[str, Any]) -> Reply:
        flow = draft.get("flow")
        try:
            if flow == Flow.BOOK:
                booking = await tools.call(
                    turn.ctx,
                    "create_booking",
                    {"service_id": draft["service_id"], "starts_at": draft["starts_at"]},
                    zone=turn.zone,
                )
                return Reply(
                    text=f"Booked: {self._name(turn, booking)} on {when(booking.starts_at, turn.zone)}. "
                    "See you then!"
                )
            if flow == Flow.CANCEL:
                booking = await tools.call(
                    turn.ctx, "cancel_booking", {"booking_id": draft["booking_id"]}, zone=turn.zone
                )
                return Reply(
                    text=f"Cancelled: your {self._name(turn, booking)} on "
                    f"{when(booking.starts_at, turn.zone)}."
                )
            if flow == Flow.RESCHEDULE:
                booking = await tools.call(
                    turn.ctx,
                    "reschedule_booking",
                    {"booking_id": draft["booking_id"], "starts_at": draft["starts_at"]},
                    zone=turn.zone,
                )
                return Reply(
                    text=f"Moved: your {self._name(turn, booking)} is now on "
                    f"{when(booking.starts_at, turn.zone)}."
                )
        except DomainError as error:
            verb = {"book": "book that", "cancel": "cancel that booking", "reschedule": "move that booking"}
            return Reply(text=f"Sorry, I couldn't {verb.get(str(flow), 'do that')}: {error.message}")
        return Reply(text=STOPPED)

    async def _save(self, draft: dict[str, Any]) -> None:
        draft["until"] = (clock.now() + PENDING_TTL).isoformat()
        await self.memory.put(draft)

    # --- the model's choice ------------------------------------------------------------------------

    async def _from_model(self, turn: Turn, name: str, args: Mapping[str, Any]) -> list[Reply]:
        """Carry out what the model picked, through the policy; changes still ask for a "yes"."""
        try:
            tool = tools.authorize(turn.ctx, name)
            parsed = tools.parse_args(tool, args, zone=turn.zone)
            if name == "erase_my_messages":
                await tools.call(turn.ctx, name, args, zone=turn.zone)  # the policy: verified, her own
                return await self.questions.ask_erase()
            if name == "list_my_bookings":
                return [await self._list(turn)]
            if name == "get_my_subscriptions":
                return [await self._subscriptions(turn)]
            if name in ("cancel_booking", "reschedule_booking"):
                booking = await tools.own_booking(turn.ctx, parsed["booking_id"])
                draft: dict[str, Any] = {"flow": Flow(name.removesuffix("_booking"))}
                if "starts_at" in parsed:
                    local = parsed["starts_at"].astimezone(turn.zone)
                    draft.update(day=local.date().isoformat(), at=local.strftime("%H:%M"))
                return await self._chosen(turn, draft, booking)
            if name == "create_booking":
                local = parsed["starts_at"].astimezone(turn.zone)
                draft = {
                    "flow": Flow.BOOK,
                    "service_id": str(parsed["service_id"]),
                    "day": local.date().isoformat(),
                    "at": local.strftime("%H:%M"),
                }
                return await self._book_next(turn, draft)
            replies = await public_from_model(
                turn.ctx, name, parsed, zone=turn.zone, questions=self.questions
            )
            return replies or [Reply(text=help_text())]
        except tools.ToolRefused as refused:
            log.info("assistant model call refused: %s", name[:40])
            return [Reply(text=f"{REFUSED} {refused.message}")]
        except DomainError:
            return [Reply(text=NOT_YOURS if "booking" in name else HELP)]


Handler = Callable[[Assistant, Turn, Ask], Awaitable[list[Reply]]]


async def _bookings(assistant: Assistant, turn: Turn, ask: Ask) -> list[Reply]:
    return [await assistant._list(turn)]


async def _subscriptions(assistant: Assistant, turn: Turn, ask: Ask) -> list[Reply]:
    return [await assistant._subscriptions(turn)]


# What each of ``understanding.INTENTS`` does, by its name: an intent is one record there and one entry here.
HANDLERS: dict[str, Handler] = {
    "book": Assistant._flow,
    "cancel": Assistant._flow,
    "reschedule": Assistant._flow,
    "bookings": _bookings,
    "subscriptions": _subscriptions,
}


async def public_from_model(
    ctx: tools.ToolContext, name: str, args: Mapping[str, Any], *, zone: ZoneInfo, questions: Questions
) -> list[Reply] | None:
    """The answer of a public tool the model picked (``args`` already parsed); ``opt_out`` only asks the
    engine's question, the sender's "yes" stops the messages."""
    tool = tools.authorize(ctx, name)
    if tool.access != "public":
        raise tools.ToolRefused("Please verify first: that needs your account.")
    result = await tools.call(ctx, name, {k: str(v) for k, v in args.items()}, zone=zone)
    if name == "opt_out":
        return await questions.ask_opt_out()
    if name in ("list_services", "get_prices"):
        lines = [service_line(s) for s in result]
        return [Reply(text="\n".join(["Our services:", *lines]) if lines else NO_SERVICES)]
    if name == "check_availability":
        times = ", ".join(s.starts_at.astimezone(zone).strftime("%H:%M") for s in result)
        return [Reply(text=f"Free times: {times}." if times else "Sorry, there are no free times that day.")]
    if name == "search_help" and result is not None:
        return [Reply(text=article_text(result))]
    return None


async def ask_model(
    model: LanguageModel, text: str, *, verified: bool, today: date, zone: ZoneInfo
) -> tuple[str, Mapping[str, Any]] | None:
    """The tool and arguments the model picked for ``text``, or None (no pick, or the model failed)."""
    messages = [
        {"role": "system", "content": MODEL_SYSTEM.format(today=today.isoformat(), zone=zone.key)},
        {"role": "user", "content": text},
    ]
    try:
        chosen = await model.choose_tool(messages, tools.specs(verified=verified))
    except Exception:  # a broken model must never break the chat: deterministic help instead
        log.warning("assistant model call failed", exc_info=True)
        return None
    if not chosen or not isinstance(chosen.get("name"), str):
        return None
    args = chosen.get("arguments")
    return chosen["name"], args if isinstance(args, Mapping) else {}


class ModelPublicAnswerer:
    """The public answers for anyone; free text the catalogue does not understand goes to the tenant's
    model, offered public tools only (a verified tool it picks anyway is refused: the engine then asks the
    sender to verify). Its ``opt_out`` asks the engine's question, as for a verified customer."""

    def __init__(self, model: LanguageModel | None, *, questions: Questions) -> None:
        self.model = model
        self.questions = questions
        self.catalogue = CatalogueAnswerer()

    async def answer(self, session: AsyncSession, *, tenant_id: uuid.UUID, text: str) -> list[Reply] | None:
        found = await self.catalogue.answer(session, tenant_id=tenant_id, text=text)
        if found is not None or self.model is None or is_request(text):
            return found
        zone = ZoneInfo((await current_tenant(session)).timezone)
        chosen = await ask_model(
            self.model, text, verified=False, today=clock.now().astimezone(zone).date(), zone=zone
        )
        if chosen is None:
            return None
        ctx = tools.ToolContext(session=session, customer_id=None, actor="whatsapp:public")
        try:
            tool = tools.authorize(ctx, chosen[0])
            return await public_from_model(
                ctx,
                chosen[0],
                tools.parse_args(tool, chosen[1], zone=zone),
                zone=zone,
                questions=self.questions,
            )
        except tools.ToolRefused:
            log.info("assistant model call refused for an unverified sender: %s", chosen[0][:40])
            return None
        except DomainError:
            return None
