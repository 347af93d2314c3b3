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
import random
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench import harness, wrk  # noqa: E402
from bench.harness import BARE_PATH  # noqa: E402
from bench.results import record  # noqa: E402

if TYPE_CHECKING:
    import httpx

    from tests.fakes.meta import MetaFake

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


async def seed_with_fake(env: dict[str, str], meta: MetaFake) -> list[str]:
    """Point ``env`` at the fake Graph API, migrate the scratch database and seed it; the fake then knows
    every business's number and token."""
    env["BIZZLY_WHATSAPP_GRAPH_URL"] = meta.url
    harness.migrate(env)
    numbers = await seed(env, meta.url)
    for number in numbers:
        meta.add_number(number, token=f"token-{number}", waba_id=f"9{number}")
    return numbers


# --- the load ---------------------------------------------------------------------------------------


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


def _machine_cpu() -> tuple[int, int]:
    """(all, idle) jiffies of the machine so far, from /proc/stat (Linux)."""
    try:
        with open("/proc/stat") as stat:
            values = [int(v) for v in stat.readline().split()[1:]]
    except OSError:
        return (0, 0)
    return sum(values), values[3] + values[4]


def _busy(before: tuple[int, int], after: tuple[int, int]) -> float:
    total = after[0] - before[0]
    return 1 - (after[1] - before[1]) / total if total > 0 else float("nan")


def _line(kind: str, r: wrk.WrkRound) -> str:
    return f"{kind:8} {r.rps:8.0f}/s p50 {r.p50_ms:6.1f} ms p99 {r.p99_ms:6.1f} ms errors {r.errors}"


async def post_signed(client: httpx.AsyncClient, numbers: list[str]) -> httpx.Response:
    """One signed webhook to a random business's number, posted through ``client`` (in-process benches)."""
    raw = webhook(random.choice(numbers))
    headers = {"content-type": "application/json", "x-hub-signature-256": _sign(raw)}
    return await client.post("/webhooks/whatsapp", content=raw, headers=headers)


def signed_bodies(numbers: list[str]) -> Callable[[int], Iterator[tuple[str, bytes]]]:
    """``n`` signed webhooks, each to a random business's number with a new wamid (for bench/wrk.py)."""

    def make(n: int) -> Iterator[tuple[str, bytes]]:
        for _ in range(n):
            raw = webhook(random.choice(numbers))
            yield _sign(raw), raw

    return make


def load(
    url: str, name: str, numbers: list[str], *, seconds: float, concurrency: int, path: str | None = None
) -> wrk.WrkRound:
    path = path or ("/webhooks/whatsapp" if name == "webhook" else BARE_PATH)
    return wrk.run(url, path, name, signed_bodies(numbers), seconds=seconds, connections=concurrency)


# --- the report ---------------------------------------------------------------------------------------

TEMPLATE = """{start}
## WhatsApp webhook ingest (`POST /webhooks/whatsapp`) against a bare endpoint, and at 1 and {n} processes

Measured {when} UTC by `bench/webhook_ingest.py`, every figure beside its baseline in the same run on the
same machine: the server started as `bizzly serve` starts it (uvicorn on uvloop and httptools, logs at
INFO), PostgreSQL {pg} (app role under row-level security), Redis broker. {tenants} businesses with a
connected number each; every request is one text message to a random business's number with a new wamid,
signed with the app secret before the round (the load generator computes no HMAC). Load: `wrk`
({threads} threads, {concurrency} keep-alive connections, `bench/wrk_bodies.lua`), {seconds:g} s per
round, two alternating rounds per endpoint, best round kept. Machine: {cores} cores ({arch}, Python
{python}), shared by wrk, the server, PostgreSQL, Redis and other work on the machine while it ran
({busy}).

**Against a bare endpoint** (one web process; one `bizzly worker` turning the stored events into messages
and replies meanwhile, against the fake Graph API):

| endpoint | acknowledged/s | p50 | p99 | errors |
|---|---:|---:|---:|---:|
| `POST /bench/bare` (200) | {bare_rps:,.0f} | {bare_p50:.1f} ms | {bare_p99:.1f} ms | {bare_errors} |
| `POST /webhooks/whatsapp` | {hook_rps:,.0f} | {hook_p50:.1f} ms | {hook_p99:.1f} ms | {hook_errors} |
| **ratio** (webhook / bare) | **{ratio:.2f}×** | | **{p99_ratio:.2f}×** | |

Goal: at least 0.6× the bare endpoint's rate, p99 at most 2× its p99: {verdict}.

**`bizzly serve --workers {n}` against `--workers 1`** (webhooks only, no worker process meanwhile, so
the web processes and PostgreSQL have the cores):

| processes | acknowledged/s | p50 | p99 | errors | server CPU a webhook | machine busy |
|---|---:|---:|---:|---:|---:|---:|
| 1 | {one_rps:,.0f} | {one_p50:.1f} ms | {one_p99:.1f} ms | {one_errors} | {one_cpu:,.0f} µs | \
{one_busy:.0%} |
| {n} | {many_rps:,.0f} | {many_p50:.1f} ms | {many_p99:.1f} ms | {many_errors} | {many_cpu:,.0f} µs | \
{many_busy:.0%} |
| **ratio** ({n} / 1) | **{scale:.2f}×** | | | | | |

Goal: at least 1.6× at 2 processes on 2 cores: {scale_verdict}. "Machine busy" is the share of all
{cores} cores in use during the round (server, PostgreSQL, Redis, wrk and anything else): a second web
process can only add what the first leaves idle.

Stored: {stored:,} inbox rows for {acked:,} acknowledged messages, warm-up included ({check}; wrk stops
with requests in flight, which the server may still store: at most {slack} more). Re-run with
`.venv/bin/python bench/webhook_ingest.py`.
{end}"""


async def main(args: argparse.Namespace) -> None:
    from tests.fakes.meta import running_meta_fake

    wrk.ensure_wrk()
    name = f"bizzly_bench_{os.getpid()}"
    data_dir = await harness.create_scratch(name)
    env = server_env(name, data_dir, broker=args.broker, namespace=f"bench{os.getpid()}")
    processes: list[subprocess.Popen[bytes]] = []
    workers: list[subprocess.Popen[bytes]] = []
    rounds: dict[str, list[wrk.WrkRound]] = {"webhook": [], "bare": [], "one": [], "many": []}
    # Per round of the process comparison: server CPU per request (µs), the machine's busy share (0 to 1).
    usage: dict[int, tuple[float, float]] = {}
    try:
        async with running_meta_fake() as meta:
            numbers = await seed_with_fake(env, meta)
            servers = {
                "one": harness.Server(env, data_dir / "server1.log"),
                "many": harness.Server(env, data_dir / "serverN.log", workers=args.processes),
            }
            for server in servers.values():
                server.start()
                assert server.process is not None
                processes.append(server.process)
            for i in range(args.workers):
                command = harness.bizzly_command("worker")
                workers.append(harness.start_process(command, env, data_dir / f"worker{i}.log"))
            for server in servers.values():
                await server.wait_ready()
            url, many_url = servers["one"].url, servers["many"].url
            c = args.concurrency
            warm = [
                await asyncio.to_thread(load, url, "webhook", numbers, seconds=2, concurrency=c),
                await asyncio.to_thread(load, many_url, "webhook", numbers, seconds=2, concurrency=c),
            ]
            await asyncio.to_thread(load, url, "bare", numbers, seconds=1, concurrency=c)
            load_average = os.getloadavg()
            for _ in range(2):
                for kind in ("bare", "webhook"):
                    r = await asyncio.to_thread(load, url, kind, numbers, seconds=args.seconds, concurrency=c)
                    rounds[kind].append(r)
                    print(_line(kind, r))
            # Latency over load: one round per concurrency level (plotted by make bench).
            sweep: list[wrk.WrkRound] = []
            for level in args.levels:
                r = await asyncio.to_thread(
                    load, url, "webhook", numbers, seconds=args.sweep_seconds, concurrency=level
                )
                sweep.append(r)
                print(f"level {level:4d} {r.rps:8.0f}/s p50 {r.p50_ms:6.1f} ms p99 {r.p99_ms:6.1f} ms")
            for worker in workers:
                harness.stop_process(worker)
            for _ in range(2):
                for kind, target in (("one", url), ("many", many_url)):
                    cpu_before, busy_before = servers[kind].cpu_seconds(), _machine_cpu()
                    r = await asyncio.to_thread(
                        load, target, "webhook", numbers, seconds=args.seconds, concurrency=c
                    )
                    cpu_after, busy_after = servers[kind].cpu_seconds(), _machine_cpu()
                    rounds[kind].append(r)
                    if cpu_before is not None and cpu_after is not None and r.requests:
                        usage[id(r)] = (
                            (cpu_after - cpu_before) / r.requests * 1e6,
                            _busy(busy_before, busy_after),
                        )
                    cpu_us, busy = usage.get(id(r), (0.0, 0.0))
                    print(_line(kind, r), f"server CPU {cpu_us:.0f} us/request, machine busy {busy:.0%}")
            hook_rounds = warm + rounds["webhook"] + rounds["one"] + rounds["many"] + sweep
            acked = sum(r.requests for r in hook_rounds)
            slack = sum(min(c, 64) for _ in hook_rounds) + sum(lv for lv in args.levels)
            await asyncio.sleep(1)
            stored = await stored_count(env)
    finally:
        for process in processes + workers:
            harness.stop_process(process)
        await harness.drop_scratch(name, data_dir)
    best = {k: max(v, key=lambda r: r.rps) for k, v in rounds.items()}
    hook, bare, one, many = best["webhook"], best["bare"], best["one"], best["many"]
    ratio = hook.rps / bare.rps if bare.rps else 0.0
    p99_ratio = hook.p99_ms / bare.p99_ms if bare.p99_ms else float("inf")
    scale = many.rps / one.rps if one.rps else 0.0
    meets = ratio >= 0.6 and p99_ratio <= 2
    ok_count = acked <= stored <= acked + slack
    text = TEMPLATE.format(
        start=START,
        end=END,
        when=f"{datetime.now(UTC):%Y-%m-%d %H:%M}",
        pg=harness.pg_version(),
        tenants=TENANTS,
        threads=wrk.THREADS,
        concurrency=args.concurrency,
        seconds=args.seconds,
        cores=os.cpu_count(),
        arch=platform.machine(),
        python=platform.python_version(),
        busy="load average {:.1f} / {:.1f} / {:.1f} over 1 / 5 / 15 min as the rounds began".format(
            *load_average
        ),
        bare_rps=bare.rps,
        bare_p50=bare.p50_ms,
        bare_p99=bare.p99_ms,
        bare_errors=bare.errors,
        hook_rps=hook.rps,
        hook_p50=hook.p50_ms,
        hook_p99=hook.p99_ms,
        hook_errors=hook.errors,
        ratio=ratio,
        p99_ratio=p99_ratio,
        verdict="met" if meets else f"not met on this run ({ratio:.2f}×, p99 {p99_ratio:.2f}×)",
        n=args.processes,
        one_rps=one.rps,
        one_p50=one.p50_ms,
        one_p99=one.p99_ms,
        one_errors=one.errors,
        many_rps=many.rps,
        many_p50=many.p50_ms,
        many_p99=many.p99_ms,
        many_errors=many.errors,
        scale=scale,
        one_cpu=usage.get(id(one), (float("nan"), float("nan")))[0],
        one_busy=usage.get(id(one), (float("nan"), float("nan")))[1],
        many_cpu=usage.get(id(many), (float("nan"), float("nan")))[0],
        many_busy=usage.get(id(many), (float("nan"), float("nan")))[1],
        scale_verdict="met" if scale >= 1.6 else f"not met on this run ({scale:.2f}×)",
        stored=stored,
        acked=acked,
        slack=slack,
        check="each acknowledged one stored, none twice" if ok_count else "MISMATCH",
    )
    print(text)
    levels = [
        {"concurrency": lv, "rps": r.rps, "p50_ms": r.p50_ms, "p99_ms": r.p99_ms, "errors": r.errors}
        for lv, r in zip(args.levels, sweep, strict=True)
    ]
    record(
        bench="webhook_ingest",
        metric="signed webhooks acknowledged/s",
        value=hook.rps,
        unit="msg/s",
        baseline=bare.rps,
        baseline_label="bare POST endpoint, same server",
        goal=">= 0.6x the bare endpoint",
        extra={"levels": levels, "stored_once": ok_count, "concurrency": args.concurrency},
    )
    record(
        bench="webhook_ingest",
        metric="webhook p99 latency",
        value=hook.p99_ms,
        unit="ms",
        baseline=bare.p99_ms,
        baseline_label="bare POST endpoint, same server",
        goal="at most 2x the bare endpoint's p99",
    )
    record(
        bench="webhook_ingest",
        metric=f"webhooks acknowledged/s at {args.processes} web processes",
        value=many.rps,
        unit="msg/s",
        baseline=one.rps,
        baseline_label="one web process, same run",
        goal=">= 1.6x one process (2 cores)",
    )
    if not ok_count:
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
        "--processes", type=int, default=os.cpu_count() or 2, help="web processes of the N-process server"
    )
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
