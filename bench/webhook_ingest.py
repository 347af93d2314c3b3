"""How fast signed WhatsApp webhooks are acknowledged: ``POST /webhooks/whatsapp`` against a bare Starlette
endpoint that only returns 200, same server, same run.

Production shape: PostgreSQL (a scratch database, the app role under row-level security), Redis as the
broker, the server started as ``bizzly serve`` starts it (one uvicorn process, logs at INFO) plus one
``bizzly worker`` process that turns the stored events into conversation messages and acknowledgement
replies meanwhile (sent to the fake Graph API of ``tests/fakes/meta.py``, served by this script). 100
businesses, each with a connected number; every request is one text message to a random business's number,
with a new wamid, signed with the platform app secret over its raw bytes. The ingest path measured is:
signature, JSON parse, routing by phone number id, one insert in the tenant's inbox and its outbox row in
one transaction, 200.

Load: ``--concurrency`` clients on keep-alive connections for ``--seconds`` per round, two alternating
rounds per endpoint, best round kept. Prints messages acknowledged per second and p50/p99 latency, and the
ratio to the bare endpoint; checks that every acknowledged message was stored once; writes the marked
section of ``docs/performance.md``.

    .venv/bin/python bench/webhook_ingest.py             # about 1 minute; needs PostgreSQL and Redis
    .venv/bin/python bench/webhook_ingest.py --no-write  # print only
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import itertools
import json
import os
import platform
import shutil
import subprocess
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

START = "<!-- bench/webhook_ingest.py: start -->"
END = "<!-- bench/webhook_ingest.py: end -->"
APP_SECRET = "bench-app-secret-" + "x" * 20
TENANTS = 100


# --- the database (the server is bench/harness.py's) ------------------------------------------------


def server_env(
    database: str, data_dir: Path, *, broker: str, namespace: str, log_level: str = "INFO"
) -> dict[str, str]:
    """The environment of a bench's server and workers: the scratch database under its three roles, the
    broker, and the fake Meta's app secret (shared by every bench that posts signed webhooks)."""
    return {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "BIZZLY_ENV": "development",
        "BIZZLY_DATA_DIR": str(data_dir),
        "BIZZLY_LOG_LEVEL": log_level,
        "BIZZLY_SECRET_KEYS": "bench-key-" + "b" * 40,
        "BIZZLY_DATABASE_OWNER_URL": harness.pg_url("postgres", database),
        "BIZZLY_DATABASE_URL": harness.pg_url("bizzly_app", database, "bizzly_app"),
        "BIZZLY_MAINTENANCE_DATABASE_URL": harness.pg_url("bizzly_maint", database, "bizzly_maint"),
        "BIZZLY_BROKER_URL": broker,
        "BIZZLY_BROKER_NAMESPACE": namespace,
        "BIZZLY_WHATSAPP_APP_SECRET": APP_SECRET,
    }


# --- set-up: 100 businesses with a connected number each -----------------------------------------------


async def seed(env: dict[str, str], graph_url: str) -> list[str]:
    from bizzly.crypto import KeyRing
    from bizzly.db.engine import Database, MaintenanceUse
    from bizzly.settings import Settings
    from domain.connections.service import save_connection
    from tenants.models import Tenant

    settings = Settings(
        database_url=env["BIZZLY_DATABASE_URL"],
        maintenance_database_url=env["BIZZLY_MAINTENANCE_DATABASE_URL"],
        database_owner_url=env["BIZZLY_DATABASE_OWNER_URL"],
        secret_keys=env["BIZZLY_SECRET_KEYS"],
        whatsapp_graph_url=graph_url,
    )
    db = Database(settings)
    keys = KeyRing(settings.key_ring())
    numbers = []
    tenants = []
    async with db.maintenance_session(MaintenanceUse.SIGNUP) as s, s.begin():
        for i in range(TENANTS):
            tenant = Tenant(
                name=f"Bench {i}", slug=f"bench-{i}", timezone="Europe/London", default_region="GB"
            )
            s.add(tenant)
            tenants.append(tenant)
    for i, tenant in enumerate(tenants):
        number = str(1065000000 + i)
        async with db.tenant_session(tenant.id) as s, s.begin():
            await save_connection(
                s,
                keys=keys,
                provider="whatsapp",
                display_name=f"Bench {i}",
                config={"phone_number_id": number, "waba_id": f"9{number}"},
                secrets={"access_token": f"token-{number}"},
                routes=[number],
                single=False,
            )
        numbers.append(number)
    await db.dispose()
    return numbers


async def stored_count(env: dict[str, str]) -> int:
    from sqlalchemy import func, select
    from sqlalchemy.ext.asyncio import AsyncSession

    from bizzly.db.engine import make_engine
    from bizzly.outbox import InboxEvent

    engine = make_engine(env["BIZZLY_DATABASE_OWNER_URL"], null_pool=True)
    async with AsyncSession(engine) as s:
        count = int((await s.execute(select(func.count()).select_from(InboxEvent))).scalar_one())
    await engine.dispose()
    return count


# --- the load ---------------------------------------------------------------------------------------


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


_wamids = itertools.count(1)


def webhook(number: str) -> bytes:
    n = next(_wamids)
    body = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": f"9{number}",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {"display_phone_number": "15550001111", "phone_number_id": number},
                            "contacts": [{"profile": {"name": "Bench"}, "wa_id": f"4477009{n % 100000:05d}"}],
                            "messages": [
                                {
                                    "from": f"4477009{n % 100000:05d}",
                                    "id": f"wamid.BENCH{uuid.uuid4().hex}",
                                    "timestamp": str(int(time.time())),
                                    "type": "text",
                                    "text": {"body": f"Hello n\\u00ba {n}"},
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }
    return json.dumps(body).encode()


def _sign(raw: bytes) -> str:
    return "sha256=" + hmac.new(APP_SECRET.encode(), raw, hashlib.sha256).hexdigest()


async def load(url: str, name: str, numbers: list[str], *, seconds: float, concurrency: int) -> Round:
    import random

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


# --- the report ---------------------------------------------------------------------------------------

TEMPLATE = """{start}
## WhatsApp webhook ingest (`POST /webhooks/whatsapp`) against a bare endpoint

Measured {when} UTC by `bench/webhook_ingest.py`, both endpoints in the same run on the same server:
one uvicorn process started as `bizzly serve` starts it, PostgreSQL {pg} (app role under row-level
security), Redis broker, one `bizzly worker` process turning the stored events into messages and replies
meanwhile, logs at INFO. {tenants} businesses with a connected number each; every request is one signed
text message to a random business's number with a new wamid. Load: {concurrency} concurrent httpx
clients on keep-alive connections, {seconds:g} s per round, two alternating rounds per endpoint, best
round kept. Machine: {cores} cores ({arch}, Python {python}), shared by the load generator (which also
serves the fake Graph API the worker replies to), the server, the worker, PostgreSQL, Redis and other
work on the machine while it ran ({busy}).

| endpoint | acknowledged/s | p50 | p99 | errors |
|---|---:|---:|---:|---:|
| `POST /bench/bare` (200) | {bare_rps:,.0f} | {bare_p50:.1f} ms | {bare_p99:.1f} ms | {bare_errors} |
| `POST /webhooks/whatsapp` | {hook_rps:,.0f} | {hook_p50:.1f} ms | {hook_p99:.1f} ms | {hook_errors} |
| **ratio** (bare / webhook) | **{ratio:.1f}×** | | | |

Stored once: {stored:,} inbox rows for {acked:,} acknowledged messages, warm-up included ({check}).
Target: 1,000/s with p99 under 50 ms: {verdict}. Re-run with `.venv/bin/python bench/webhook_ingest.py`.
{end}"""


async def main(args: argparse.Namespace) -> None:
    from tests.fakes.meta import running_meta_fake

    name = f"bizzly_bench_{os.getpid()}"
    await harness.admin_sql(f'CREATE DATABASE "{name}"')
    data_dir = Path(tempfile.mkdtemp(prefix="bizzly-bench-"))
    env = server_env(name, data_dir, broker=args.broker, namespace=f"bench{os.getpid()}")
    processes: list[subprocess.Popen[bytes]] = []
    try:
        async with running_meta_fake() as meta:
            env["BIZZLY_WHATSAPP_GRAPH_URL"] = meta.url
            harness.migrate(env)
            numbers = await seed(env, meta.url)
            for number in numbers:
                meta.add_number(number, token=f"token-{number}", waba_id=f"9{number}")
            server_log = data_dir / "server.log"
            server = harness.Server(env, server_log)
            server.start()
            assert server.process is not None
            processes.append(server.process)
            for i in range(args.workers):
                worker = harness.bizzly_command("worker")
                processes.append(harness.start_process(worker, env, data_dir / f"worker{i}.log"))
            url = server.url
            await server.wait_ready()
            warm = await load(url, "webhook", numbers, seconds=2, concurrency=args.concurrency)
            await load(url, "bare", numbers, seconds=1, concurrency=args.concurrency)
            load_average = os.getloadavg()
            rounds: dict[str, list[Round]] = {"webhook": [], "bare": []}
            for _ in range(2):
                for kind in ("bare", "webhook"):
                    r = await load(url, kind, numbers, seconds=args.seconds, concurrency=args.concurrency)
                    rounds[kind].append(r)
                    summary = f"p50 {r.pct(0.5):6.1f} ms p99 {r.pct(0.99):6.1f} ms errors {r.errors}"
                    print(f"{kind:8} {r.rps:8.0f}/s {summary}")
            # Latency over load: one round per concurrency level (plotted by make bench).
            sweep: list[Round] = []
            for level in args.levels:
                r = await load(url, "webhook", numbers, seconds=args.sweep_seconds, concurrency=level)
                sweep.append(r)
                print(f"level {level:4d} {r.rps:8.0f}/s p50 {r.pct(0.5):6.1f} ms p99 {r.pct(0.99):6.1f} ms")
            # Every acknowledged webhook (warm-up and sweep included) must be in the inbox exactly once.
            acked = len(warm.latencies) + sum(len(r.latencies) for r in rounds["webhook"] + sweep)
            stored = await stored_count(env)
    finally:
        for process in processes:
            harness.stop_process(process)
        await harness.admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        shutil.rmtree(data_dir, ignore_errors=True)
    best = {k: max(v, key=lambda r: r.rps) for k, v in rounds.items()}
    hook, bare = best["webhook"], best["bare"]
    meets = hook.rps >= 1000 and hook.pct(0.99) < 50
    verdict = (
        "met" if meets else (f"not met on this machine ({hook.rps:,.0f}/s, p99 {hook.pct(0.99):.1f} ms)")
    )
    text = TEMPLATE.format(
        start=START,
        end=END,
        when=f"{datetime.now(UTC):%Y-%m-%d %H:%M}",
        pg=harness.pg_version(),
        tenants=TENANTS,
        concurrency=args.concurrency,
        seconds=args.seconds,
        cores=os.cpu_count(),
        arch=platform.machine(),
        python=platform.python_version(),
        busy="load average {:.1f} / {:.1f} / {:.1f} over 1 / 5 / 15 min as the rounds began".format(
            *load_average
        ),
        bare_rps=bare.rps,
        bare_p50=bare.pct(0.5),
        bare_p99=bare.pct(0.99),
        bare_errors=bare.errors,
        hook_rps=hook.rps,
        hook_p50=hook.pct(0.5),
        hook_p99=hook.pct(0.99),
        hook_errors=hook.errors,
        ratio=bare.rps / hook.rps if hook.rps else float("inf"),
        stored=stored,
        acked=acked,
        verdict=verdict,
        check="each stored once" if stored == acked else "MISMATCH",
    )
    print(text)
    levels = [
        {"concurrency": c, "rps": r.rps, "p50_ms": r.pct(0.5), "p99_ms": r.pct(0.99), "errors": r.errors}
        for c, r in zip(args.levels, sweep, strict=True)
    ]
    record(
        bench="webhook_ingest",
        metric="signed webhooks acknowledged/s",
        value=hook.rps,
        unit="msg/s",
        baseline=bare.rps,
        baseline_label="bare POST endpoint, same server",
        goal="1,000/s with p99 under 50 ms",
        extra={"levels": levels, "stored_once": stored == acked, "concurrency": args.concurrency},
    )
    record(
        bench="webhook_ingest",
        metric="webhook p99 latency",
        value=hook.pct(0.99),
        unit="ms",
        baseline=bare.pct(0.99),
        baseline_label="bare POST endpoint, same server",
        goal="under 50 ms",
    )
    if stored != acked:
        raise SystemExit(f"{acked} messages acknowledged but {stored} stored")
    if not args.no_write:
        harness.write_section(START, END, text)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--broker", default=os.environ.get("BIZZLY_BENCH_BROKER", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--workers", type=int, default=1, help="bizzly worker processes running meanwhile")
    parser.add_argument(
        "--levels",
        type=lambda v: [int(x) for x in v.split(",")],
        default=[1, 4, 16, 64],
        help="concurrency levels of the latency-over-load sweep",
    )
    parser.add_argument("--sweep-seconds", type=float, default=4.0)
    parser.add_argument("--quick", action="store_true", help="a smoke run: 1 s rounds, 3 sweep levels")
    parser.add_argument("--no-write", action="store_true")
    parsed = parser.parse_args()
    if parsed.quick:
        parsed.seconds, parsed.sweep_seconds, parsed.levels = 1.0, 1.0, [1, 8, 32]
    asyncio.run(main(parsed))
