"""How long retention takes to purge 1,000,000 expired WhatsApp messages on PostgreSQL, and what it does to
the webhook path meanwhile: webhook p99 during the purge beside webhook p99 without it, in one run.

Production shape: a scratch PostgreSQL database (the app role under row-level security), the server started
as ``bizzly serve`` starts it (bench/harness.py), Redis as the broker (no worker: the stored events wait).
100 businesses with a connected number (bench/webhook_ingest.py's set-up); one of them has ``--messages``
messages older than 30 days (set up with one ``INSERT ... SELECT generate_series``). The purge is
``domain.privacy.retention.purge_tenant`` -- what the hourly ``privacy.retention`` job runs -- in its own
process, batches of ``BIZZLY_RETENTION_BATCH_SIZE`` (5,000), each its own transaction.

Rounds: signed webhooks at ``--concurrency`` for ``--seconds`` with no purge (baseline); then the same load
for as long as the purge runs. Checks every expired message went and every acknowledged webhook was stored.

    .venv/bin/python bench/retention.py            # 1,000,000 messages; a few minutes on 2 cores
    .venv/bin/python bench/retention.py --quick    # 100,000 messages
    .venv/bin/python bench/retention.py --no-write # print only
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench import harness  # noqa: E402
from bench.harness import BARE_PATH  # noqa: E402
from bench.results import record  # noqa: E402
from bench.webhook_ingest import _sign, seed, server_env, webhook  # noqa: E402

SCRIPT = Path(__file__).resolve()
# Retention is background work: it may cost the webhook path some latency, never its availability.
GOAL = "every webhook accepted during the purge, p99 at most 1.5x the p99 without it"
START = "<!-- bench/retention.py: start -->"
END = "<!-- bench/retention.py: end -->"


async def _owner_sql(env: dict[str, str], sql: str, **params: object) -> list[tuple[object, ...]]:
    from sqlalchemy import text

    from bizzly.db.engine import make_engine

    engine = make_engine(env["BIZZLY_DATABASE_OWNER_URL"], null_pool=True)
    async with engine.begin() as conn:
        result = await conn.execute(text(sql), params)
        rows = [tuple(r) for r in result.all()] if result.returns_rows else []
    await engine.dispose()
    return rows


INSERT_MESSAGES = (
    "INSERT INTO messages (tenant_id, id, conversation_id, direction, kind, body, status, created_at)"
    " SELECT :t, gen_random_uuid(), :c, 'inbound', 'text', 'message ' || g, 'received', now() - {age}"
    " FROM generate_series(1, :n) AS g"
)


async def seed_messages(env: dict[str, str], count: int) -> uuid.UUID:
    """``count`` messages 31-60 days old in one conversation of the first business, plus 1,000 recent ones."""
    [(tenant_id,)] = await _owner_sql(env, "SELECT id FROM tenants ORDER BY slug LIMIT 1")
    assert isinstance(tenant_id, uuid.UUID)
    conversation = uuid.uuid4()
    await _owner_sql(
        env,
        "INSERT INTO conversations (tenant_id, id, channel, user_key, verified, last_message_at, created_at) "
        "VALUES (:t, :c, 'whatsapp', '447700900001', false, now(), now() - interval '90 days')",
        t=tenant_id,
        c=conversation,
    )
    for old, n in ((True, count), (False, 1000)):
        # Old: 31 to 61 days ago; recent: the last 1,000 seconds.
        age = "(interval '31 days' + (g % 2592000) * interval '1 second')" if old else "(g * interval '1 s')"
        await _owner_sql(env, INSERT_MESSAGES.format(age=age), t=tenant_id, c=conversation, n=n)
    await _owner_sql(env, "ANALYZE messages")
    return tenant_id


async def purge_main(tenant_id: str) -> None:
    """The purge, in its own process (as a worker runs it): prints its report as JSON."""
    from bizzly.db.engine import Database
    from bizzly.settings import get_settings
    from domain.privacy.retention import purge_tenant

    settings = get_settings()
    db = Database(settings)
    began = time.perf_counter()
    report = await purge_tenant(db, settings=settings, tenant_id=uuid.UUID(tenant_id))
    took = time.perf_counter() - began
    await db.dispose()
    sizes = report.batches["messages"]
    print(
        json.dumps(
            {"seconds": took, "messages": report.messages, "batches": len(sizes), "largest": max(sizes)}
        )
    )


# --- the load: httpx here, not wrk, because the rounds during the purge are merged into one latency
# distribution (wrk reports percentiles per round only) ---------------------------------------------------


@dataclass
class Round:
    name: str
    latencies: list[float]
    errors: int
    seconds: float

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.seconds

    def pct(self, p: float) -> float:
        return harness.percentile_ms(self.latencies, p)


async def load_httpx(url: str, name: str, numbers: list[str], *, seconds: float, concurrency: int) -> Round:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    latencies: list[float] = []
    errors = 0
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:

        async def worker(deadline: float) -> None:
            nonlocal errors
            while time.monotonic() < deadline:
                raw = webhook(random.choice(numbers))
                headers = {"content-type": "application/json", "x-hub-signature-256": _sign(raw)}
                path = "/webhooks/whatsapp" if name == "webhook" else BARE_PATH
                began = time.perf_counter()
                response = await client.post(path, content=raw, headers=headers)
                took = time.perf_counter() - began
                if response.status_code == 200:
                    latencies.append(took)
                else:
                    errors += 1

        started = time.monotonic()
        await asyncio.gather(*(worker(started + seconds) for _ in range(concurrency)))
        elapsed = time.monotonic() - started
    return Round(name, latencies, errors, elapsed)


TEMPLATE = """{start}
## Retention: purging {messages:,} expired messages beside live webhooks

Measured {when} UTC by `bench/retention.py` on PostgreSQL {pg} (app role under row-level security): the
hourly retention job's purge (`domain.privacy.retention.purge_tenant`) of {messages:,} WhatsApp messages
older than 30 days of one business, in batches of {batch:,} rows, each its own transaction, in its own
process; meanwhile signed webhooks to 100 businesses' numbers at {concurrency} concurrent clients against
the server started as `bizzly serve` starts it (Redis broker, no worker). Machine: {cores} cores ({arch},
Python {python}), shared by the purge, the load generator, the server, PostgreSQL, Redis and other work
({busy}).

| | figure |
|---|---:|
| purge time | **{seconds:.1f} s** ({rate:,.0f} messages/s, {batches} batches, largest {largest:,}) |
| webhook p99 without a purge (same run) | {base_p99:.1f} ms ({base_rps:,.0f}/s, {base_errors} errors) |
| webhook p99 while the purge runs | **{purge_p99:.1f} ms** ({purge_rps:,.0f}/s, {purge_errors} errors) |
| ratio (during / without) | {ratio:.2f}× |

Goal: {goal}: {verdict}.

Checks: {left} expired messages left, {recent:,} recent ones kept; {stored:,} inbox rows for {acked:,}
acknowledged webhooks ({check}). Re-run with `.venv/bin/python bench/retention.py` (`--quick`: 100,000).
{end}"""


async def main(args: argparse.Namespace) -> None:
    from tests.fakes.meta import running_meta_fake

    name = f"bizzly_bench_ret_{os.getpid()}"
    await harness.admin_sql(f'CREATE DATABASE "{name}"')
    data_dir = Path(tempfile.mkdtemp(prefix="bizzly-bench-"))
    env = server_env(name, data_dir, broker=args.broker, namespace=f"benchret{os.getpid()}")
    batch = int(env.get("BIZZLY_RETENTION_BATCH_SIZE", "5000"))
    server: harness.Server | None = None
    try:
        async with running_meta_fake() as meta:
            env["BIZZLY_WHATSAPP_GRAPH_URL"] = meta.url
            harness.migrate(env)
            numbers = await seed(env, meta.url)
            began = time.perf_counter()
            tenant_id = await seed_messages(env, args.messages)
            print(f"seeded {args.messages:,} expired messages in {time.perf_counter() - began:.1f} s")
            server = harness.Server(env, data_dir / "server.log")
            server.start()
            await server.wait_ready()
            url = server.url
            warm = await load_httpx(url, "webhook", numbers, seconds=2, concurrency=args.concurrency)
            acked = len(warm.latencies)
            load_average = os.getloadavg()
            base = await load_httpx(
                url, "webhook", numbers, seconds=args.seconds, concurrency=args.concurrency
            )
            acked += len(base.latencies)
            print(f"without purge {base.rps:7.0f}/s p99 {base.pct(0.99):6.1f} ms errors {base.errors}")
            purge = await asyncio.create_subprocess_exec(
                sys.executable,
                str(SCRIPT),
                "--purge",
                str(tenant_id),
                env=env,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.DEVNULL,
            )
            during: list[Round] = []
            while purge.returncode is None:
                # Short rounds until the purge ends: the rounds after it are not counted.
                r = await load_httpx(url, "webhook", numbers, seconds=1.0, concurrency=args.concurrency)
                acked += len(r.latencies)
                if purge.returncode is None:
                    during.append(r)
                try:
                    await asyncio.wait_for(purge.wait(), timeout=0.01)
                except TimeoutError:
                    pass
            out, _ = await purge.communicate()
            if purge.returncode != 0:
                raise SystemExit(f"the purge failed (exit {purge.returncode})")
            report = json.loads(out.decode().strip().splitlines()[-1])
            merged = Round(
                "during",
                [t for r in during for t in r.latencies],
                sum(r.errors for r in during),
                sum(r.seconds for r in during) or 1.0,
            )
            print(f"during purge  {merged.rps:7.0f}/s p99 {merged.pct(0.99):6.1f} ms errors {merged.errors}")
            [(left,)] = await _owner_sql(
                env, "SELECT count(*) FROM messages WHERE created_at < now() - interval '30 days'"
            )
            [(recent,)] = await _owner_sql(env, "SELECT count(*) FROM messages")
            [(stored,)] = await _owner_sql(env, "SELECT count(*) FROM inbox")
    finally:
        if server is not None:
            server.stop()
        await harness.admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    text = TEMPLATE.format(
        start=START,
        end=END,
        messages=args.messages,
        when=f"{datetime.now(UTC):%Y-%m-%d %H:%M}",
        pg=harness.pg_version(),
        batch=batch,
        concurrency=args.concurrency,
        cores=os.cpu_count(),
        arch=platform.machine(),
        python=platform.python_version(),
        busy="load average {:.1f} / {:.1f} / {:.1f} over 1 / 5 / 15 min as the rounds began".format(
            *load_average
        ),
        seconds=report["seconds"],
        rate=report["messages"] / report["seconds"],
        batches=report["batches"],
        largest=report["largest"],
        base_p99=base.pct(0.99),
        base_rps=base.rps,
        base_errors=base.errors,
        purge_p99=merged.pct(0.99),
        purge_rps=merged.rps,
        purge_errors=merged.errors,
        ratio=merged.pct(0.99) / base.pct(0.99),
        left=left,
        recent=recent,
        stored=stored,
        acked=acked,
        check="each stored once" if stored == acked else "MISMATCH",
        goal=GOAL,
        verdict="met"
        if merged.errors == 0 and merged.pct(0.99) <= 1.5 * base.pct(0.99)
        else "not met on this run",
    )
    print(text)
    record(
        bench="retention",
        metric=f"purge time for {args.messages:,} expired messages",
        value=report["seconds"],
        unit="s",
        goal="bounded batches; webhooks keep being accepted",
        extra={"batches": report["batches"], "batch_size": batch, "messages": report["messages"]},
    )
    record(
        bench="retention",
        metric="webhook p99 while the purge runs",
        value=merged.pct(0.99),
        unit="ms",
        baseline=base.pct(0.99),
        baseline_label="webhook p99 without a purge, same run",
        goal=GOAL,
        extra={"rps_during": merged.rps, "rps_without": base.rps, "errors_during": merged.errors},
    )
    if left or report["messages"] != args.messages or merged.errors or stored != acked:
        raise SystemExit("the purge left expired messages, or webhooks failed during it")
    if not args.no_write:
        harness.write_section(START, END, text)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--purge":
        asyncio.run(purge_main(sys.argv[2]))
        raise SystemExit(0)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="100,000 messages")
    parser.add_argument("--seconds", type=float, default=8.0, help="the baseline round")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--broker", default=os.environ.get("BIZZLY_BENCH_BROKER", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--no-write", action="store_true")
    parsed = parser.parse_args()
    if parsed.quick:
        parsed.messages = 100_000
    asyncio.run(main(parsed))
