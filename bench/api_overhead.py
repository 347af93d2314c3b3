"""What the GraphQL layer costs: the ``viewer`` query against a bare Starlette JSON endpoint, same server.

Starts the real server (uvicorn, as ``bizzly serve`` runs it, on the embedded default in a temporary
DATA_DIR) with one extra route, ``GET /bench/bare`` returning ``{"ok": true}`` through the same middleware
(request id, access log, metrics, body limit). The route exists only in this benchmark's app factory, so
production has no bench route. Signs a business up to get a staff token (the ``viewer`` then reads the user
and the tenant from the database, as the dashboard's first call does), then, in the same run, loads each
endpoint with concurrent httpx clients for a few seconds, twice, alternating, and keeps each endpoint's best
round. Prints requests per second, the server's CPU time per request, and their ratios, and writes them
to the marked section of ``docs/performance.md``.

    .venv/bin/python bench/api_overhead.py            # about 35 s on 2 cores; loopback only
    .venv/bin/python bench/api_overhead.py --no-write # print only
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.harness import BARE_PATH, PERFORMANCE_MD, Server, migrate, staff_token, write_section  # noqa: E402
from bench.results import record  # noqa: E402

START = "<!-- bench/api_overhead.py: start -->"
END = "<!-- bench/api_overhead.py: end -->"

VIEWER = """query Viewer {
  viewer { user { id email name } tenant { id slug name timezone defaultRegion } role }
}"""


# --- the server (bench/harness.py) --------------------------------------------------------------------


def embedded_server(data_dir: Path, log_path: Path) -> Server:
    """The server on the embedded default: SQLite in ``data_dir``, ``memory://`` broker, workers inside."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("BIZZLY_DATABASE")},
        "BIZZLY_DATA_DIR": str(data_dir),
        "BIZZLY_ENV": "development",
        "BIZZLY_LOG_LEVEL": "INFO",
        "BIZZLY_BROKER_URL": "memory://",
    }
    env.pop("BIZZLY_MAINTENANCE_DATABASE_URL", None)
    migrate(env)
    return Server(env, log_path)


# --- the load -----------------------------------------------------------------------------------------


@dataclass
class Round:
    name: str
    requests: int
    errors: int
    seconds: float
    server_cpu: float | None

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def cpu_us_per_request(self) -> float | None:
        if self.server_cpu is None or not self.requests:
            return None
        return self.server_cpu / self.requests * 1e6


async def idle_cpu_rate(server: Server, seconds: float = 2.0) -> float | None:
    """CPU seconds per second the server spends with no requests (embedded relay and scheduler polling);
    subtracted from each round so CPU per request is the request's own."""
    before = server.cpu_seconds()
    await asyncio.sleep(seconds)
    after = server.cpu_seconds()
    return (after - before) / seconds if before is not None and after is not None else None


async def load(
    server: Server,
    name: str,
    *,
    seconds: float,
    concurrency: int,
    token: str | None,
    idle_rate: float | None = None,
) -> Round:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    done = 0
    errors = 0
    async with httpx.AsyncClient(base_url=server.url, limits=limits, headers=headers) as client:

        async def one() -> bool:
            if name == "viewer":
                response = await client.post("/graphql", json={"query": VIEWER})
                body = response.json()
                return response.status_code == 200 and not body.get("errors") and "viewer" in body["data"]
            response = await client.get(BARE_PATH)
            return response.status_code == 200 and response.json() == {"ok": True}

        async def worker(deadline: float) -> None:
            nonlocal done, errors
            while time.monotonic() < deadline:
                if await one():
                    done += 1
                else:
                    errors += 1

        cpu_before = server.cpu_seconds()
        started = time.monotonic()
        await asyncio.gather(*(worker(started + seconds) for _ in range(concurrency)))
        elapsed = time.monotonic() - started
        cpu_after = server.cpu_seconds()
    cpu = cpu_after - cpu_before if cpu_before is not None and cpu_after is not None else None
    if cpu is not None and idle_rate is not None:
        cpu = max(cpu - idle_rate * elapsed, 0.0)
    return Round(name=name, requests=done, errors=errors, seconds=elapsed, server_cpu=cpu)


# --- the report ---------------------------------------------------------------------------------------


@dataclass
class Result:
    bare: Round
    viewer: Round
    authenticated: bool
    seconds: float
    concurrency: int
    idle_rate: float | None
    load_average: tuple[float, float, float] | None

    @property
    def ratio(self) -> float:
        return self.bare.rps / self.viewer.rps if self.viewer.rps else float("inf")

    @property
    def cpu_ratio(self) -> float | None:
        bare, viewer = self.bare.cpu_us_per_request, self.viewer.cpu_us_per_request
        return viewer / bare if bare and viewer else None


def _cpu(value: float | None) -> str:
    return f"{value:,.0f} µs" if value is not None else "n/a"


TEMPLATE = """{start}
## API overhead: `viewer` against a bare Starlette endpoint

Measured {when} UTC by `bench/api_overhead.py`, both endpoints in the same run on the same server: one
uvicorn process started as `bizzly serve` starts it, on the embedded default (SQLite, `memory://` broker,
workers inside the server), logs at INFO. Load: {concurrency} concurrent httpx requests on keep-alive
connections, {seconds:g} s per round, two alternating rounds per endpoint, best round kept. Machine:
{cores} cores ({arch}, Python {python}), shared by the load generator, the server and other work on the
machine while it ran ({busy}).

Caller: {who}.

| endpoint | requests/s | server CPU per request | errors |
|---|---:|---:|---:|
| `GET /bench/bare` (Starlette `JSONResponse`) | {bare_rps:,.0f} | {bare_cpu} | {bare_errors} |
| `POST /graphql` `viewer` | {viewer_rps:,.0f} | {viewer_cpu} | {viewer_errors} |
| **ratio** (bare / viewer) | **{ratio:.1f}×** | **{cpu_ratio}** | |

Reading it: requests per second depend on the load generator too (it shares the two cores); the server's
CPU time per request does not, and is the better measure of what the GraphQL layer, the token check and
the database reads cost. The idle server's own CPU (the embedded relay and scheduler polling: {idle} of a
core) is subtracted from it. Re-run with `.venv/bin/python bench/api_overhead.py`.
{end}"""


def render(result: Result) -> str:
    if result.authenticated:
        who = "a staff token (`viewer` checks the token's session and reads the user and the tenant)"
    else:
        who = "anonymous (`signUp` was not available: `viewer` returns null without touching the database)"
    if result.load_average:
        busy = "load average {:.1f} / {:.1f} / {:.1f} over 1 / 5 / 15 min as the rounds began".format(
            *result.load_average
        )
    else:
        busy = "load average unknown"
    return TEMPLATE.format(
        start=START,
        end=END,
        when=f"{datetime.now(UTC):%Y-%m-%d %H:%M}",
        concurrency=result.concurrency,
        seconds=result.seconds,
        cores=os.cpu_count(),
        arch=platform.machine(),
        python=platform.python_version(),
        busy=busy,
        who=who,
        bare_rps=result.bare.rps,
        bare_cpu=_cpu(result.bare.cpu_us_per_request),
        bare_errors=result.bare.errors,
        viewer_rps=result.viewer.rps,
        viewer_cpu=_cpu(result.viewer.cpu_us_per_request),
        viewer_errors=result.viewer.errors,
        ratio=result.ratio,
        cpu_ratio=f"{result.cpu_ratio:.1f}×" if result.cpu_ratio else "n/a",
        idle=f"{result.idle_rate * 100:.0f}%" if result.idle_rate is not None else "n/a",
    )


async def run(seconds: float, concurrency: int) -> Result:
    with tempfile.TemporaryDirectory(prefix="bizzly-bench-") as tmp:
        server = embedded_server(Path(tmp) / "data", Path(tmp) / "server.log")
        try:
            server.start()
            await server.wait_ready()
            # A staff token when signUp works; None (an anonymous viewer) otherwise, as the report says.
            token = await staff_token(
                server.url, business="Bench Bakery", slug="bench-bakery", name="Bea Bench"
            )
            for name in ("bare", "viewer"):  # warm up: imports, pools, caches
                await load(server, name, seconds=1.0, concurrency=concurrency, token=token)
            idle = await idle_cpu_rate(server)
            load_average = os.getloadavg() if hasattr(os, "getloadavg") else None
            rounds: dict[str, list[Round]] = {"bare": [], "viewer": []}
            for _ in range(2):
                for name in ("bare", "viewer"):
                    found = await load(
                        server, name, seconds=seconds, concurrency=concurrency, token=token, idle_rate=idle
                    )
                    rounds[name].append(found)
        except BaseException:
            server.stop()
            sys.stderr.write(server.tail())
            raise
        server.stop()
    best = {name: max(found, key=lambda r: r.rps) for name, found in rounds.items()}
    return Result(
        bare=best["bare"],
        viewer=best["viewer"],
        authenticated=token is not None,
        seconds=seconds,
        concurrency=concurrency,
        idle_rate=idle,
        load_average=load_average,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=6.0, help="length of each measured round")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/performance.md")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 1 s rounds (make bench --quick)")
    args = parser.parse_args()
    if args.quick:
        args.seconds = 1.0
    if args.seconds * 4 + 2 > 45:
        parser.error("keep the run under a minute: --seconds at most 10")
    result = asyncio.run(run(args.seconds, args.concurrency))
    for found in (result.bare, result.viewer):
        print(
            f"{found.name:>6}: {found.rps:8,.0f} requests/s  "
            f"server CPU {_cpu(found.cpu_us_per_request)}/request  errors {found.errors}"
        )
    print(f" ratio: {result.ratio:.1f}x requests/s (bare / viewer)", end="")
    print(f", {result.cpu_ratio:.1f}x server CPU per request" if result.cpu_ratio else "")
    print("viewer caller:", "staff token" if result.authenticated else "anonymous (no signUp)")
    record(
        bench="api_overhead",
        metric="viewer requests/s",
        value=result.viewer.rps,
        unit="req/s",
        baseline=result.bare.rps,
        baseline_label="bare Starlette endpoint, same server",
        goal="GraphQL costs at most 5x a bare endpoint (ratio >= 0.2)",
    )
    if result.viewer.cpu_us_per_request and result.bare.cpu_us_per_request:
        record(
            bench="api_overhead",
            metric="viewer server CPU per request",
            value=result.viewer.cpu_us_per_request,
            unit="µs",
            baseline=result.bare.cpu_us_per_request,
            baseline_label="bare Starlette endpoint, same server",
            goal="at most 5x the bare endpoint",
        )
    if not args.no_write:
        write_section(START, END, render(result))
        print(f"written to {PERFORMANCE_MD.relative_to(REPO)}")


if __name__ == "__main__":
    main()
