"""How well the WhatsApp assistant understands real customers: every sentence of a measuring set sent through
the same path a WhatsApp message takes, the replies judged as a customer would.

The path: ``domain.assistant.service.handle_message`` (what the WhatsApp worker calls for each stored
inbound message), each message in its own transaction, on SQLite, for a verified customer of the demo
business (``bizzly demo``: Europe/London, region GB, five services, Monday to Saturday hours), with the
clock (``bizzly.clock``) set to a fixed "today" so the figures do not move with the calendar.

Each booking sentence starts a fresh conversation (nothing pending) and is judged as the data's README says:

- **intent**: the first replies lead into booking (a slot offer, a confirmation question, "that time isn't
  free", "which day?", "which service?", "that day has passed");
- **date** (sentences that name one): the replies before the customer has supplied a day (the answer to
  "which service?" included) name the expected calendar date ("Thursday 17 December"); "next Thursday" may
  be either of the two Thursdays English means;
- **time** (sentences that name one): some reply names the expected time outside a numbered list of slots
  (a list of ten times that happens to hold it does not count). When the assistant asks which service or
  which day, the benchmark answers "Haircut" / "tomorrow", as a customer would;
- **a "no" afterwards leaves nothing pending**.

Each request that is no booking (a cab, a song, the weather) is a **false booking** when any reply offers a
slot, asks to confirm, or asks "which day?" / "which service?".

Time, p50 and p95 over every message sent: the understanding layer's (``understanding.understand``, called
with the same text, services and day as the turn; the goal of 20 ms is for it), and the whole turn's (the
wall time of each ``handle_message`` call in its transaction: SQLite reads and writes, availability).

    .venv/bin/python bench/understanding.py                       # the shared set and the held-out one
    .venv/bin/python bench/understanding.py --data tests/domain/assistant/data/held_out.json
    .venv/bin/python bench/understanding.py --quick --no-write    # every 10th sentence, print only
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # bench.*, run as a script

from bench import harness
from bench.results import record
from bizzly import clock, demo
from bizzly.crypto import KeyRing
from bizzly.db.engine import Database
from bizzly.migrate import migrate
from bizzly.settings import Settings
from domain.assistant import service
from domain.assistant.messages import ChannelInfo, Inbound, Sender
from domain.assistant.repository import AssistantStore
from domain.assistant.understanding import understand
from tenants.repository import TenantDirectory

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO / "bench" / "data" / "sgd_services_dev.json"
HELD_OUT = REPO / "tests" / "domain" / "assistant" / "data" / "held_out.json"
HELD_OUT_2 = REPO / "tests" / "domain" / "assistant" / "data" / "held_out_2.json"
# The shared set through the code before issue 16 (same judge, same today; the understanding layer's own
# time was not separable then: the whole turn's is shown).
BASELINE_ROW = (
    "| before issue 16 (regular expressions), shared set | 2260 + 1295 | 64.4 % | 8.0 % | 34.6 % | 50.3 % | "
    "— | 8.4 / 35.8 |"
)
START = "<!-- bench/understanding.py: start -->"
END = "<!-- bench/understanding.py: end -->"
# Thursday 10 December 2026, 07:30 in London: before opening, so "today" still has free times.
DEFAULT_NOW = "2026-12-10T07:30"
ZONE = ZoneInfo("Europe/London")
CUSTOMER = "447700900456"  # Priya Patel of the demo: her own phone, one account
GOALS = {"intent": 97.0, "date": 95.0, "time": 95.0, "false_booking": 2.0, "p95_ms": 20.0}

# What a reply that leads into booking looks like (the dialogue's and the public answers' own wording).
_BOOKING_REPLY = re.compile(
    r"^(Which service would you like|Which day would you like|Which day\b|Free (.+ )?times\b|Book .+\?|"
    r"Move your .+\?)|isn't free|has passed|no free .+ times|\bWhich other day\b",
    re.MULTILINE,
)
_LIST_ROW = re.compile(r"^\d+\. ")
_ASKS_SERVICE = re.compile(r"Which service would you like")
_ASKS_DAY = re.compile(r"Which (other )?day\b")


def on_day(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B}"


def expected_days(rule: dict[str, Any], today: date) -> list[date]:
    """The calendar day(s) a date rule means (README of the data); two for an ambiguous "next <weekday>"."""
    kind = rule["kind"]
    if kind == "offset":
        return [today + timedelta(days=int(rule["days"]))]
    if kind == "month_day":
        for year in range(today.year, today.year + 9):
            try:
                found = date(year, int(rule["month"]), int(rule["day"]))
            except ValueError:
                continue
            if found >= today:
                return [found]
        return []
    if kind == "day_of_month":
        day = int(rule["day"])
        if rule.get("this_month"):
            return [today.replace(day=day)]
        month, year = today.month, today.year
        for _ in range(13):
            try:
                found = date(year, month, day)
                if found >= today:
                    return [found]
            except ValueError:
                pass
            month, year = (1, year + 1) if month == 12 else (month + 1, year)
        return []
    if kind == "weekday":
        weekday, mode = int(rule["weekday"]), rule["mode"]
        coming = today + timedelta(days=(weekday - today.weekday()) % 7)
        if mode == "this":
            return [coming]
        if mode == "next":
            after = coming if coming > today else coming + timedelta(days=7)
            return [after, after + timedelta(days=7)]
        monday = today - timedelta(days=today.weekday()) + timedelta(days=7)
        return [monday + timedelta(days=weekday)]
    raise ValueError(f"unknown date rule {kind!r}")


def leads_into_booking(replies: list[str]) -> bool:
    return any(_BOOKING_REPLY.search(r) for r in replies)


def names_time(replies: list[str], hhmm: str) -> bool:
    for reply in replies:
        for line in reply.splitlines():
            if not _LIST_ROW.match(line) and re.search(rf"(?<![\d:]){re.escape(hhmm)}(?!\d)", line):
                return True
    return False


@dataclass
class Tally:
    n: int = 0
    intent: int = 0
    dated: int = 0
    date: int = 0
    timed: int = 0
    time: int = 0
    cleared: int = 0

    def add(self, other: Tally) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class Outcome:
    booking: Tally = field(default_factory=Tally)
    shapes: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    not_bookings: int = 0
    false_bookings: int = 0
    millis: list[float] = field(default_factory=list)  # the understanding layer, per message
    turn_millis: list[float] = field(default_factory=list)  # the whole turn, per message
    misses: list[tuple[str, str, str]] = field(default_factory=list)  # (what, sentence, first reply)
    false_examples: list[tuple[str, str]] = field(default_factory=list)


class Conversation:
    """One verified customer talking to the demo business through ``handle_message``."""

    def __init__(self, settings: Settings, db: Database, tenant_id: Any, outcome: Outcome) -> None:
        self.settings, self.db, self.tenant_id, self.outcome = settings, db, tenant_id, outcome
        self.keys = KeyRing(settings.key_ring())
        self.sender = Sender(wa_id=CUSTOMER, phone_e164="+" + CUSTOMER)
        self.names = [name for name, *_, active in demo.SERVICES if active]
        self.today = clock.now().astimezone(ZONE).date()

    async def say(self, text: str) -> list[str]:
        started = time.perf_counter()
        async with self.db.tenant_session(self.tenant_id, write=True) as s, s.begin():
            replies = await service.handle_message(
                s,
                tenant_id=self.tenant_id,
                sender=self.sender,
                inbound=Inbound(kind="text", text=text),
                channel=ChannelInfo(),
                keys=self.keys,
                settings=self.settings,
            )
        self.outcome.turn_millis.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        understand(text, names=self.names, today=self.today, order="DMY")
        self.outcome.millis.append((time.perf_counter() - started) * 1000)
        return [r.text for r in replies]

    async def pending(self) -> bool:
        async with self.db.tenant_session(self.tenant_id, write=False) as s:
            row = await AssistantStore(s).state_row(self.sender.user_key)
            return row is not None and "dialogue" in json.loads(row.state)

    async def fresh(self) -> None:
        async with self.db.tenant_session(self.tenant_id, write=True) as s, s.begin():
            await AssistantStore(s).clear_state(self.sender.user_key)

    async def verify(self) -> None:
        (first,) = await self.say("Hi")
        code = re.search(r"\b(\d{6})\b", first)
        assert code, first
        verified = await self.say(code[1])
        assert verified[0].startswith("You're now verified"), verified
        self.outcome.millis.clear()
        self.outcome.turn_millis.clear()


async def judge_case(talk: Conversation, case: dict[str, Any], today: date) -> Tally:
    tally = Tally(n=1)
    await talk.fresh()
    first = await talk.say(case["utterance"])
    tally.intent = int(leads_into_booking(first))
    every = list(first)
    before_day = list(first)  # the replies before the customer supplied a day
    latest = first
    for _ in range(2):  # answer "which service?" / "which day?" as a customer would
        text = "\n".join(latest)
        if _ASKS_SERVICE.search(text):
            latest = await talk.say("Haircut")
            before_day += latest
        elif _ASKS_DAY.search(text):
            latest = await talk.say("tomorrow")
        else:
            break
        every += latest
    if case.get("date"):
        tally.dated = 1
        wanted = expected_days(case["date"]["rule"], today)
        tally.date = int(any(on_day(d) in reply for d in wanted for reply in before_day))
    if case.get("time"):
        tally.timed = 1
        tally.time = int(names_time(every, case["time"]["value"]))
    await talk.say("no")
    tally.cleared = int(not await talk.pending())
    return tally


async def run(data: dict[str, Any], *, now: datetime, step: int) -> Outcome:
    outcome = Outcome()
    with tempfile.TemporaryDirectory(prefix="bizzly-bench-understanding-") as workdir:
        settings = Settings(
            env="test",
            secret_keys="bench-key-" + "u" * 40,
            embedded_workers=False,
            data_dir=workdir,
            log_level="WARNING",
            otp_per_phone_per_hour=1000,
        )
        await asyncio.to_thread(migrate, settings)
        clock.reset()
        clock.advance(now - clock.now())
        await demo.seed(settings)
        db = Database(settings)
        try:
            async with db.public_session() as s:
                tenant_id = await TenantDirectory(s).id_for_slug(demo.SLUG)
            talk = Conversation(settings, db, tenant_id, outcome)
            await talk.verify()
            today = now.astimezone(ZONE).date()
            for case in data["cases"][::step]:
                tally = await judge_case(talk, case, today)
                outcome.booking.add(tally)
                outcome.shapes[case.get("shape") or "-"].add(tally)
                if not (tally.intent and tally.date == tally.dated and tally.time == tally.timed):
                    outcome.misses.append((case.get("shape") or "-", case["utterance"], ""))
            for item in data["not_bookings"][::step]:
                await talk.fresh()
                replies = await talk.say(item["utterance"])
                outcome.not_bookings += 1
                if leads_into_booking(replies):
                    outcome.false_bookings += 1
                    outcome.false_examples.append((item["utterance"], replies[0] if replies else ""))
                await talk.say("no")
        finally:
            await db.dispose()
            clock.reset()
    return outcome


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


def figures(outcome: Outcome) -> dict[str, float]:
    b = outcome.booking
    return {
        "intent": 100 * b.intent / max(b.n, 1),
        "date": 100 * b.date / max(b.dated, 1),
        "time": 100 * b.time / max(b.timed, 1),
        "cleared": 100 * b.cleared / max(b.n, 1),
        "false_booking": 100 * outcome.false_bookings / max(outcome.not_bookings, 1),
        "p50_ms": statistics.median(outcome.millis) if outcome.millis else 0.0,
        "p95_ms": pct(outcome.millis, 0.95),
        "turn_p50_ms": statistics.median(outcome.turn_millis) if outcome.turn_millis else 0.0,
        "turn_p95_ms": pct(outcome.turn_millis, 0.95),
    }


def worst_shapes(outcome: Outcome, limit: int = 8) -> list[tuple[str, Tally, float]]:
    rows = []
    for shape, t in outcome.shapes.items():
        if t.n < 3:
            continue
        parts = (
            [t.intent / t.n]
            + ([t.date / t.dated] if t.dated else [])
            + ([t.time / t.timed] if t.timed else [])
        )
        rows.append((shape, t, 100 * min(parts)))
    return sorted(rows, key=lambda r: (r[2], -r[1].n))[:limit]


def report(outcome: Outcome, f: dict[str, float], name: str) -> str:
    b = outcome.booking
    lines = [
        f"{name}: {b.n} booking sentences, {outcome.not_bookings} requests that are no booking, "
        f"{len(outcome.millis)} messages",
        f"  intent {f['intent']:.1f} %  date {f['date']:.1f} % (of {b.dated})  time {f['time']:.1f} % "
        f"(of {b.timed})  'no' clears {f['cleared']:.1f} %",
        f"  false bookings {f['false_booking']:.1f} % ({outcome.false_bookings})",
        f"  understanding p50 {f['p50_ms']:.2f} ms  p95 {f['p95_ms']:.2f} ms; whole turn p50 "
        f"{f['turn_p50_ms']:.1f} ms  p95 {f['turn_p95_ms']:.1f} ms",
        "  worst shapes (shape: n, intent / date / time %):",
    ]
    for shape, t, _ in worst_shapes(outcome):
        date_part = f"{100 * t.date / t.dated:.0f}" if t.dated else "-"
        time_part = f"{100 * t.time / t.timed:.0f}" if t.timed else "-"
        lines.append(f"    {shape}: {t.n}, {100 * t.intent / t.n:.0f} / {date_part} / {time_part}")
    return "\n".join(lines)


def section(rows: list[tuple[str, dict[str, float], Outcome]], now: datetime) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    table = [
        "| run | sentences | intent | date | time | false bookings | understanding p50 / p95 ms | "
        "whole turn p50 / p95 ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    table.append(BASELINE_ROW)
    for label, f, outcome in rows:
        table.append(
            f"| {label} | {outcome.booking.n} + {outcome.not_bookings} | {f['intent']:.1f} % | "
            f"{f['date']:.1f} % | {f['time']:.1f} % | {f['false_booking']:.1f} % | {f['p50_ms']:.2f} / "
            f"{f['p95_ms']:.2f} | {f['turn_p50_ms']:.1f} / {f['turn_p95_ms']:.1f} |"
        )
    worst = rows[0][2]
    shapes = [
        f"- `{shape}` ({t.n}): intent {100 * t.intent / t.n:.0f} %"
        + (f", date {100 * t.date / t.dated:.0f} %" if t.dated else "")
        + (f", time {100 * t.time / t.timed:.0f} %" if t.timed else "")
        for shape, t, _ in worst_shapes(worst, 6)
    ]
    return "\n".join(
        [
            START,
            "## Understanding real customers (`bench/understanding.py`)",
            "",
            "Every sentence of the measuring set (`bench/data/`, real sentences from Google's Schema-Guided "
            "Dialogue corpus, CC BY-SA 4.0) sent through `handle_message` as a verified customer of the demo "
            f'business, each message in its own SQLite transaction, "today" fixed at {now:%A %d %B %Y %H:%M}'
            f" (Europe/London); measured {when}. Judged as the module's docstring says. Goals: intent >= "
            f"{GOALS['intent']:.0f} %, date and time >= {GOALS['date']:.0f} %, false bookings <= "
            f"{GOALS['false_booking']:.0f} %, p95 < {GOALS['p95_ms']:.0f} ms a message.",
            "",
            *table,
            "",
            "The whole turn includes SQLite reads and writes and the availability search; the 20 ms goal "
            "is the understanding layer's (`domain/assistant/moments.py` + `understanding.py`). The held-out "
            "sets (`tests/domain/assistant/data/`) hold sentences of the same kinds written for this check, "
            "worded differently; set 2 was written after the layer was done, and read blind at intent 100 %, "
            'date 100 %, time 96.7 % ("ten past 3" was then taught as a clock form), false bookings 0 %.',
            "",
            f"Weakest phrase shapes ({rows[0][0]}):",
            *shapes,
            "",
            "Re-run: `.venv/bin/python bench/understanding.py` (`--data PATH` for another set, `--quick` for "
            "every tenth sentence, `--no-write` to print only).",
            END,
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, action="append", help="a measuring set (repeatable)")
    parser.add_argument("--now", default=DEFAULT_NOW, help="local date and time in London to run at")
    parser.add_argument("--quick", action="store_true", help="every tenth sentence")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--misses", type=int, default=0, help="print this many misunderstood sentences")
    parser.add_argument("--label", action="append", help="the row label of each --data in the docs")
    args = parser.parse_args()
    paths = args.data or [DEFAULT_DATA, HELD_OUT, HELD_OUT_2]
    labels = args.label or (
        ["shared set (SGD)", "held-out set 1 (ours)", "held-out set 2 (ours, written last)"]
        if not args.data
        else [p.stem for p in paths]
    )
    now = datetime.fromisoformat(args.now).replace(tzinfo=ZONE)
    rows = []
    for path, label in zip(paths, labels, strict=False):
        data = json.loads(path.read_text())
        outcome = asyncio.run(run(data, now=now, step=10 if args.quick else 1))
        f = figures(outcome)
        rows.append((label, f, outcome))
        print(report(outcome, f, label))
        for shape, sentence, _ in outcome.misses[: args.misses]:
            print(f"    miss [{shape}] {sentence}")
        for sentence, reply in outcome.false_examples[: args.misses]:
            print(f"    false [{reply[:60]!r}] {sentence}")
        for metric, unit in (
            ("intent", "%"),
            ("date", "%"),
            ("time", "%"),
            ("false_booking", "%"),
            ("p50_ms", "ms"),
            ("p95_ms", "ms"),
            ("turn_p95_ms", "ms"),
        ):
            goal = GOALS.get(metric)
            record(
                bench="understanding",
                metric=f"{label}_{metric}",
                value=round(f[metric], 2),
                unit=unit,
                goal=None
                if goal is None
                else (
                    f"<= {goal:g} {unit}" if metric in ("false_booking", "p95_ms") else f">= {goal:g} {unit}"
                ),
            )
    if not args.no_write:
        harness.write_section(START, END, section(rows, now))


if __name__ == "__main__":
    main()
