"""The server side of the HTTP benchmarks (``api_overhead.py``, ``webhook_ingest.py``, ``soak.py``): the app
``bizzly serve`` builds plus one bare route, served by the same uvicorn call in a subprocess whose CPU time
can be read, and the small helpers every benchmark repeated (free port, migrate, the scratch PostgreSQL
database, a staff token, percentiles, marked sections).

The bare route (``GET``/``POST /bench/bare``, ``{"ok": true}``) sits behind the same middleware as every
other route (request id, access log, metrics, body limit): the same-run baseline of a benchmark. It exists
only in this factory, so production has no bench route.

    python bench/harness.py --serve PORT   # what Server.start runs
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
PERFORMANCE_MD = REPO / "docs" / "performance.md"
BARE_PATH = "/bench/bare"
# PostgreSQL of the benchmarks that need one (``make bench`` points libpq at its private server with PGPORT).
PG_HOST = os.environ.get("BIZZLY_BENCH_PG_HOST", "127.0.0.1")
SIGN_UP = """mutation SignUp($input: SignUpInput!) {
  signUp(input: $input) { accessToken errors { field message code } }
}"""
NEW_FILE = (
    "# Performance\n\nFigures written by the benchmarks in `bench/`; each section says how to re-run it.\n"
)


def create_bench_app() -> Any:
    """``create_app()`` plus the bare endpoint, behind the same middleware."""
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from bizzly.app import create_app

    async def bare(request: Request) -> JSONResponse:
        await request.body()  # read the body as a real endpoint would
        return JSONResponse({"ok": True})

    app = create_app()
    app.router.routes.append(Route(BARE_PATH, bare, methods=["GET", "POST"]))
    return app


def serve(port: int, workers: int = 1) -> None:
    """The same uvicorn call as ``bizzly serve --workers N`` (bizzly/cli.py), with the bench factory."""
    import uvicorn

    from bizzly.logs import configure_logging
    from bizzly.settings import get_settings

    configure_logging(get_settings().log_level)
    uvicorn.run(
        "bench.harness:create_bench_app",
        factory=True,
        host="127.0.0.1",
        port=port,
        log_config=None,
        access_log=False,
        proxy_headers=True,
        workers=workers,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bizzly_command(*args: str) -> list[str]:
    bizzly = Path(sys.executable).with_name("bizzly")
    if bizzly.exists():
        return [str(bizzly), *args]
    return [sys.executable, "-c", "from bizzly.cli import main; main()", *args]


def migrate(env: dict[str, str]) -> None:
    subprocess.run(bizzly_command("migrate"), env=env, cwd=REPO, check=True, capture_output=True, timeout=120)


def start_process(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(command, env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)


def stop_process(process: subprocess.Popen[bytes] | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far (Linux), to attribute cost per request."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of the whole line)
    return ticks / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def rss_bytes(pid: int) -> int | None:
    """Resident memory of a process now (Linux)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


class Server:
    """The bench app in a subprocess (``python bench/harness.py --serve PORT``) with ``env``."""

    def __init__(self, env: dict[str, str], log_path: Path, *, workers: int = 1) -> None:
        self.workers = workers
        self.port = free_port()
        self.env = {**env, "PYTHONPATH": str(REPO)}
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        command = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--serve",
            str(self.port),
            str(self.workers),
        ]
        self.process = start_process(command, self.env, self.log_path)

    async def wait_ready(self, within: float = 30.0) -> None:
        deadline = time.monotonic() + within
        async with httpx.AsyncClient(base_url=self.url) as client:
            while time.monotonic() < deadline:
                if self.process is not None and self.process.poll() is not None:
                    raise RuntimeError(f"the server exited; see {self.log_path}")
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError("the server did not start in time")

    def cpu_seconds(self) -> float | None:
        """CPU time of the server so far, its web processes included (``--workers N`` forks them)."""
        if self.process is None:
            return None
        pids = [self.process.pid, *_children(self.process.pid)]
        times = [cpu_seconds(pid) for pid in pids]
        return sum(t for t in times if t is not None) if times[0] is not None else None

    def stop(self) -> None:
        stop_process(self.process)

    def tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""


def pg_url(user: str, db: str, password: str | None = None) -> str:
    auth = f"{user}:{password}" if password else user
    return f"postgresql+asyncpg://{auth}@{PG_HOST}/{db}"


async def admin_sql(sql: str) -> None:
    """One statement as the superuser, outside a transaction (``CREATE``/``DROP DATABASE``)."""
    from sqlalchemy import text

    from bizzly.db.engine import make_engine

    engine = make_engine(pg_url("postgres", "postgres"), null_pool=True)
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(sql))
    await engine.dispose()


async def create_scratch(name: str, *, prefix: str = "bizzly-bench-") -> Path:
    """A new scratch database ``name`` and a new data folder (returned); undo with :func:`drop_scratch`."""
    await admin_sql(f'CREATE DATABASE "{name}"')
    return Path(tempfile.mkdtemp(prefix=prefix))


async def drop_scratch(name: str, data_dir: Path) -> None:
    await admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    shutil.rmtree(data_dir, ignore_errors=True)


class StatementCounter:
    """The SQL statements a ``Database`` sends through either of its engines, counted as they go."""

    def __init__(self, db: Any) -> None:
        from sqlalchemy import event

        self.count = 0
        for engine in {db.app_engine, db.maintenance_engine}:
            event.listen(engine.sync_engine, "before_cursor_execute", self._one)

    def _one(self, *_: object) -> None:
        self.count += 1


async def print_profile(profiler: Any, html: str | None) -> None:
    """A pyinstrument profile's text tree on stdout, and its HTML page at ``html`` when given."""
    print(profiler.output_text(unicode=False, color=False, show_all=False))
    if html:
        await asyncio.to_thread(Path(html).write_text, profiler.output_html())


def pg_version() -> str:
    found = subprocess.run(
        ["psql", "-h", PG_HOST, "-U", "postgres", "-tAc", "SHOW server_version"],
        capture_output=True,
        text=True,
    )
    return found.stdout.strip() or "?"


async def staff_token(url: str, *, business: str, slug: str, name: str) -> str | None:
    """A new business's owner token from ``signUp`` (as ``owner@<slug>.example.com``); ``None`` if refused."""
    variables = {
        "input": {
            "businessName": business,
            "slug": slug,
            "timezone": "Europe/London",
            "defaultRegion": "GB",
            "name": name,
            "email": f"owner@{slug}.example.com",
            "password": "Bench-Password-2024!",
        }
    }
    async with httpx.AsyncClient(base_url=url) as client:
        response = await client.post("/graphql", json={"query": SIGN_UP, "variables": variables})
    payload = (response.json().get("data") or {}).get("signUp")
    if not payload or payload.get("errors") or not payload.get("accessToken"):
        return None
    return str(payload["accessToken"])


def percentile_ms(seconds: list[float], p: float) -> float:
    """The ``p`` quantile (0 to 1) of latencies in seconds, in milliseconds; NaN for none."""
    if not seconds:
        return float("nan")
    ordered = sorted(seconds)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000


def write_section(start: str, end: str, section: str, path: Path = PERFORMANCE_MD) -> None:
    """Replace one benchmark's marked section of ``path`` (other sections are left as they are)."""
    text = path.read_text() if path.exists() else NEW_FILE
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: section, text)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text.rstrip("\n") + "\n")


if __name__ == "__main__":
    if len(sys.argv) in (3, 4) and sys.argv[1] == "--serve":
        sys.path.insert(0, str(REPO))
        serve(int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) == 4 else 1)
