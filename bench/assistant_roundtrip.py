"""The WhatsApp assistant's round trip: a signed webhook in, the reply handed to the (fake) Graph API, on
PostgreSQL with Redis as the broker's URL.

In one process: the app (``create_app``, as ``bizzly serve`` builds it) behind an in-memory ASGI client, the
fake Graph API (``tests/fakes/meta.py``) on 127.0.0.1, and the worker's own code path — the relay's
``claim_due`` and ``workers.processing.process_row`` — run directly instead of through the broker, so the
figure is the application's work (webhook check and inbox write, the assistant's reads and writes, the
outbox reply, the HTTP send) without the broker's polling interval. Two questions, measured in
alternating rounds:

- *public*: a stranger asks "what are your prices?" (no verification);
- *verified bookings*: a verified customer with 5 upcoming bookings asks "my bookings".

The same-run baseline is the webhook's own acceptance (signature check and inbox row, HTTP 200) within
each round trip. Writes its marked section of ``docs/performance.md`` and records the figures.

    .venv/bin/python bench/assistant_roundtrip.py            # about a minute
    .venv/bin/python bench/assistant_roundtrip.py --quick    # a smoke run
    .venv/bin/python bench/assistant_roundtrip.py --no-write # print only
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # bench.*, tests.*, run as a script

import httpx
from asgi_lifespan import LifespanManager

from bench import harness
from bench.results import record
from bizzly import clock
from bizzly.app import create_app
from bizzly.db.engine import MaintenanceUse
from bizzly.migrate import migrate
from bizzly.settings import Settings
from bizzly.wiring import build_mailer, import_handlers
from tests.fakes.meta import MetaFake, running_meta_fake, text_message
from tests.integrations.whatsapp.conftest import APP_SECRET, VERIFY_TOKEN, connect
from tests.support.accounts import sign_up
from tests.support.customers import create_customer
from tests.support.graphql import GraphQLClient
from tests.support.scheduling import book, create_service, local, set_hours
from workers.processing import process_row
from workers.relay import claim_due
from workers.resources import Resources

# The broker make bench started (bench/run.py), as every other benchmark reads it.
REDIS = os.environ.get("BIZZLY_BENCH_BROKER", "redis://127.0.0.1:6379/0")
DATABASE = "bizzly_bench_assistant"
START = "<!-- bench/assistant_roundtrip.py: start -->"
END = "<!-- bench/assistant_roundtrip.py: end -->"
GOAL_P95_MS = 250.0
STRANGER = "447700900555"
CUSTOMER = "447700900123"
_wamids = itertools.count(1)


@dataclass
class Pipeline:
    http: httpx.AsyncClient
    meta: MetaFake
    res: Resources
    settings: Settings
    number: str

    async def drain(self) -> None:
        for _ in range(20):
            async with self.res.db.maintenance_session(MaintenanceUse.TESTS) as session, session.begin():
                batch = await claim_due(session, self.settings)
            if not batch:
                return
            for due in batch:
                await process_row(self.res, due.tenant_id, due.row_id)

    async def say(self, wa_id: str, body: str) -> tuple[float, float, list[str]]:
        """(accept ms, round trip ms, replies) for one message."""
        payload = text_message(self.number, wa_id=wa_id, text=body, wamid=f"wamid.bench{next(_wamids)}")
        before = len(self.meta.sends)
        start = time.perf_counter()
        response = await self.meta.post_webhook(self.http, payload, secret=APP_SECRET)
        accepted = time.perf_counter()
        assert response.status_code == 200, response.text
        await self.drain()
        done = time.perf_counter()
        replies = [s.text or "" for s in self.meta.sends[before:]]
        return (accepted - start) * 1000, (done - start) * 1000, replies


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def run(samples: int) -> dict[str, dict[str, float]]:
    await harness.admin_sql(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    await harness.admin_sql(f'CREATE DATABASE "{DATABASE}"')
    async with running_meta_fake() as meta:
        settings = Settings(
            env="test",
            secret_keys="bench-key-" + "b" * 40,
            database_owner_url=harness.pg_url("postgres", DATABASE),
            database_url=harness.pg_url("bizzly_app", DATABASE, "bizzly_app"),
            maintenance_database_url=harness.pg_url("bizzly_maint", DATABASE, "bizzly_maint"),
            broker_url=REDIS,
            embedded_workers=False,
            whatsapp_graph_url=meta.url,
            whatsapp_app_secret=APP_SECRET,
            whatsapp_verify_token=VERIFY_TOKEN,
            log_level="WARNING",
        )
        await asyncio.to_thread(migrate, settings)
        import_handlers()
        app = create_app(settings)
        async with LifespanManager(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
                gql = GraphQLClient(http)
                owner = await sign_up(gql, slug="bench-salon")
                pnid = "1065409999"
                meta.add_number(pnid, token="token-bench", waba_id="91065409999")
                connected = await connect(gql, owner, meta, phone_number_id=pnid)
                assert connected["errors"] == [], connected
                token = owner.access_token
                await set_hours(gql, token)
                haircut = await create_service(gql, token, name="Haircut", duration=30, capacity=20)
                await create_service(gql, token, name="Colour", duration=90, amount=6000)
                sarah = await create_customer(
                    gql, owner, name="Sarah Jones", email="sarah@example.com", phone="+" + CUSTOMER
                )
                day = clock.now().date() + timedelta(days=3)
                for hour in (9, 10, 11, 12, 13):
                    booked = await book(
                        gql,
                        token,
                        service_id=haircut["id"],
                        starts_at=local(day, hour),
                        customer_id=sarah["id"],
                    )
                    assert booked["errors"] == [], booked
                res = Resources.build(settings, build_mailer(settings))
                try:
                    pipe = Pipeline(http, meta, res, settings, pnid)
                    await pipe.drain()
                    (_, _, code) = await pipe.say(CUSTOMER, "Hi")
                    digits = code[0].split(": ")[1][:6]
                    (_, _, verified) = await pipe.say(CUSTOMER, digits)
                    assert verified[0].startswith("You're now verified"), verified
                    cases = {
                        "public": (STRANGER, "what are your prices?", "Our prices:"),
                        "verified_bookings": (CUSTOMER, "my bookings", "Your upcoming bookings:"),
                    }
                    for wa_id, body, _ in cases.values():  # warm-up
                        await pipe.say(wa_id, body)
                    timings: dict[str, tuple[list[float], list[float]]] = {k: ([], []) for k in cases}
                    for _ in range(samples):
                        for name, (wa_id, body, expected) in cases.items():
                            accept, total, replies = await pipe.say(wa_id, body)
                            assert replies, body
                            assert replies[0].startswith(expected), replies
                            timings[name][0].append(accept)
                            timings[name][1].append(total)
                finally:
                    await res.aclose()
    await harness.admin_sql(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    return {
        name: {
            "p50": statistics.median(total),
            "p95": pct(total, 0.95),
            "accept_p50": statistics.median(accept),
            "accept_p95": pct(accept, 0.95),
        }
        for name, (accept, total) in timings.items()
    }


def section(figures: dict[str, dict[str, float]], samples: int) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    rows = [
        f"| {label} | {f['p50']:.1f} | {f['p95']:.1f} | {f['accept_p50']:.1f} | {f['accept_p95']:.1f} |"
        for label, f in (
            ('public question ("what are your prices?")', figures["public"]),
            ('verified booking list ("my bookings", 5 upcoming)', figures["verified_bookings"]),
        )
    ]
    return "\n".join(
        [
            START,
            "## WhatsApp assistant round trip (`bench/assistant_roundtrip.py`)",
            "",
            f"Signed webhook in → reply handed to the fake Graph API, {samples} messages of each kind in "
            f"alternating rounds, PostgreSQL ({harness.PG_HOST}) with Redis as the broker URL, one process "
            f"on {platform.machine()} / Python {platform.python_version()}, measured {when}. The relay → "
            "broker → actor hop is replaced by the same `claim_due` + `process_row` run directly (no polling "
            "delay in the figure). Baseline: the webhook's acceptance alone (signature, inbox row, "
            "HTTP 200), "
            f"within the same round trips. Goal: p95 under {GOAL_P95_MS:.0f} ms.",
            "",
            "| message | round trip p50 (ms) | round trip p95 (ms) | accept p50 (ms) | accept p95 (ms) |",
            "|---|---|---|---|---|",
            *rows,
            "",
            "Re-run: `.venv/bin/python bench/assistant_roundtrip.py` (`--quick` for a smoke run, "
            "`--no-write` to print only).",
            END,
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="20 messages of each kind")
    parser.add_argument("--samples", type=int, default=150)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    samples = 20 if args.quick else args.samples
    figures = asyncio.run(run(samples))
    for name, f in figures.items():
        print(
            f"{name}: round trip p50 {f['p50']:.1f} ms, p95 {f['p95']:.1f} ms "
            f"(accept p50 {f['accept_p50']:.1f} ms, p95 {f['accept_p95']:.1f} ms)"
        )
        for q in ("p50", "p95"):
            record(
                bench="assistant_roundtrip",
                metric=f"{name}_{q}",
                value=round(f[q], 2),
                unit="ms",
                baseline=round(f[f"accept_{q}"], 2),
                baseline_label="webhook accepted (signature + inbox row)",
                goal=f"p95 < {GOAL_P95_MS:.0f} ms",
                extra={"samples": samples},
            )
    if not args.no_write:
        harness.write_section(START, END, section(figures, samples))


if __name__ == "__main__":
    main()
