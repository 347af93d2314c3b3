"""Soak: webhook and GraphQL load for a set time against the production shape, watching for slow decay.

The deployment of ``bench/webhook_ingest.py`` (a scratch PostgreSQL database, the app role under RLS, the
Redis broker, the server as ``bizzly serve`` runs it, ``--workers`` worker processes replying through the
fake Graph API, 100 businesses with a connected number each), loaded for ``--seconds`` by signed
WhatsApp messages (``--webhook-concurrency`` senders) and staff GraphQL reads (``viewer``, the bookings
page; ``--graphql-concurrency`` clients) at once. Every ``--interval`` seconds it samples throughput and
the resident memory (RSS) of the server and each worker.

Reports: requests per second and p50/p95/p99 latency per kind, errors, RSS at the start (after the first
interval, once imports and pools are warm) and at the end with the growth per hour, the outbox backlog at
the end and after draining, and whether every acknowledged message was stored once. Not part of
``make test`` or ``make bench``; exits 1 on errors, lost messages or a backlog that does not drain.

    .venv/bin/python bench/soak.py --seconds 600            # ten minutes
    .venv/bin/python bench/soak.py --seconds 60 --json out.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench import harness  # noqa: E402
from bench.webhook_ingest import _sign, seed_with_fake, server_env, stored_count, webhook  # noqa: E402

VIEWER = "query { viewer { user { id } tenant { id slug } role } }"
BOOKINGS = "query { bookings(first: 20) { edges { node { id startsAt status } } } }"


@dataclass
class Kind:
    name: str
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)

    def failed(self, what: str) -> None:
        self.errors += 1
        if len(self.error_samples) < 5:
            self.error_samples.append(what[:200])

    def pct(self, p: float) -> float:
        return harness.percentile_ms(self.latencies, p)


@dataclass
class Sample:
    at: float
    done: dict[str, int]
    rss: dict[str, int | None]


async def outbox_backlog(env: dict[str, str]) -> int:
    from sqlalchemy import func, select
    from sqlalchemy.ext.asyncio import AsyncSession

    from bizzly.db.engine import make_engine
    from bizzly.outbox import OutboxRow, OutboxStatus

    engine = make_engine(env["BIZZLY_DATABASE_OWNER_URL"], null_pool=True)
    async with AsyncSession(engine) as s:
        stmt = select(func.count()).select_from(OutboxRow).where(OutboxRow.status != OutboxStatus.DONE)
        count = int((await s.execute(stmt)).scalar_one())
    await engine.dispose()
    return count


async def soak(args: argparse.Namespace) -> dict[str, Any]:
    from tests.fakes.meta import running_meta_fake

    name = f"bizzly_soak_{os.getpid()}"
    data_dir = await harness.create_scratch(name, prefix="bizzly-soak-")
    env = server_env(name, data_dir, broker=args.broker, namespace=f"soak{os.getpid()}", log_level="WARNING")
    server: harness.Server | None = None
    workers: list[subprocess.Popen[bytes]] = []
    kinds = {k: Kind(k) for k in ("webhook", "graphql")}
    samples: list[Sample] = []
    acked = 0
    try:
        async with running_meta_fake() as meta:
            numbers = await seed_with_fake(env, meta)
            server = harness.Server(env, data_dir / "server.log")
            server.start()
            for i in range(args.workers):
                log = data_dir / f"worker{i}.log"
                workers.append(harness.start_process(harness.bizzly_command("worker"), env, log))
            await server.wait_ready()
            token = await harness.staff_token(
                server.url, business="Soak Studio", slug="soak-studio", name="Sam Soak"
            )
            assert token is not None, "signUp refused the soak's business"
            deadline = time.monotonic() + args.seconds

            async def sender(client: httpx.AsyncClient) -> None:
                nonlocal acked
                kind = kinds["webhook"]
                while time.monotonic() < deadline:
                    raw = webhook(random.choice(numbers))
                    headers = {"content-type": "application/json", "x-hub-signature-256": _sign(raw)}
                    began = time.perf_counter()
                    try:
                        response = await client.post("/webhooks/whatsapp", content=raw, headers=headers)
                    except httpx.HTTPError as exc:
                        kind.failed(repr(exc))
                        continue
                    if response.status_code == 200:
                        kind.latencies.append(time.perf_counter() - began)
                        acked += 1
                    else:
                        kind.failed(f"{response.status_code} {response.text}")

            async def reader(client: httpx.AsyncClient, n: int) -> None:
                kind = kinds["graphql"]
                query = VIEWER if n % 2 == 0 else BOOKINGS
                while time.monotonic() < deadline:
                    began = time.perf_counter()
                    try:
                        response = await client.post(
                            "/graphql", json={"query": query}, headers={"authorization": f"Bearer {token}"}
                        )
                        body = response.json()
                    except (httpx.HTTPError, ValueError) as exc:
                        kind.failed(repr(exc))
                        continue
                    if response.status_code == 200 and not body.get("errors"):
                        kind.latencies.append(time.perf_counter() - began)
                    else:
                        kind.failed(f"{response.status_code} {json.dumps(body)}")

            async def sampler() -> None:
                started = time.monotonic()
                while time.monotonic() < deadline:
                    await asyncio.sleep(args.interval)
                    rss: dict[str, int | None] = {}
                    if server is not None and server.process is not None:
                        rss["server"] = harness.rss_bytes(server.process.pid)
                    for i, w in enumerate(workers):
                        rss[f"worker{i}"] = harness.rss_bytes(w.pid)
                    done = {k: len(v.latencies) for k, v in kinds.items()}
                    samples.append(Sample(time.monotonic() - started, done, rss))
                    line = "  ".join(f"{k} {n:,}" for k, n in done.items())
                    mem = "  ".join(f"{k} {v / 2**20:.0f} MiB" for k, v in rss.items() if v)
                    print(f"{samples[-1].at:6.0f} s  {line}  |  {mem}", flush=True)

            limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
            async with httpx.AsyncClient(base_url=server.url, limits=limits, timeout=30) as client:
                await asyncio.gather(
                    sampler(),
                    *(sender(client) for _ in range(args.webhook_concurrency)),
                    *(reader(client, n) for n in range(args.graphql_concurrency)),
                )
            backlog_at_end = await outbox_backlog(env)
            drain_deadline = time.monotonic() + args.drain_seconds
            backlog = backlog_at_end
            while backlog and time.monotonic() < drain_deadline:
                await asyncio.sleep(1)
                backlog = await outbox_backlog(env)
            stored = await stored_count(env)
            alive = {
                "server": server.process is not None and server.process.poll() is None,
                **{f"worker{i}": w.poll() is None for i, w in enumerate(workers)},
            }
    finally:
        if server is not None:
            server.stop()
        for w in workers:
            harness.stop_process(w)
        await harness.drop_scratch(name, data_dir)
    return report(args, kinds, samples, acked, stored, backlog_at_end, backlog, alive)


def report(
    args: argparse.Namespace,
    kinds: dict[str, Kind],
    samples: list[Sample],
    acked: int,
    stored: int,
    backlog_at_end: int,
    backlog_after_drain: int,
    alive: dict[str, bool],
) -> dict[str, Any]:
    memory: dict[str, Any] = {}
    if len(samples) >= 2:
        first, last = samples[0], samples[-1]
        hours = max(last.at - first.at, 1e-9) / 3600
        for proc, start in first.rss.items():
            end = last.rss.get(proc)
            if start and end:
                memory[proc] = {
                    "start_mib": start / 2**20,
                    "end_mib": end / 2**20,
                    "growth_mib_per_hour": (end - start) / 2**20 / hours,
                }
    return {
        "seconds": args.seconds,
        "throughput_per_second": {k: len(v.latencies) / args.seconds for k, v in kinds.items()},
        "latency_ms": {
            k: {p: v.pct(q) for p, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))}
            for k, v in kinds.items()
        },
        "errors": {k: v.errors for k, v in kinds.items()},
        "error_samples": {k: v.error_samples for k, v in kinds.items() if v.error_samples},
        "memory": memory,
        "acknowledged": acked,
        "stored": stored,
        "outbox_backlog_at_end": backlog_at_end,
        "outbox_backlog_after_drain": backlog_after_drain,
        "processes_alive": alive,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=300.0, help="how long the load runs")
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between samples")
    parser.add_argument("--webhook-concurrency", type=int, default=8)
    parser.add_argument("--graphql-concurrency", type=int, default=4)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--drain-seconds", type=float, default=120.0, help="wait for the backlog after")
    parser.add_argument("--broker", default=os.environ.get("BIZZLY_BENCH_BROKER", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--json", type=Path, help="also write the report here")
    args = parser.parse_args()
    args.interval = min(args.interval, max(args.seconds / 4, 1.0))
    result = asyncio.run(soak(args))
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    healthy = (
        not any(result["errors"].values())
        and result["stored"] == result["acknowledged"]
        and result["outbox_backlog_after_drain"] == 0
        and all(result["processes_alive"].values())
    )
    if not healthy:
        raise SystemExit("soak: errors, lost messages, a backlog left or a process gone (see above)")


if __name__ == "__main__":
    main()
