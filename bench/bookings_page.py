"""What GraphQL costs on the dashboard's bookings page: the contract's ``Bookings`` query (first: 100, with
each booking's customer and service) against the same rows read by one hand-written SQL join and
serialised to the same JSON, in the same run.

For each database (SQLite, the embedded default, and PostgreSQL, the production one) the script makes a
scratch database, migrates it, signs a business up through the API (a staff token), bulk-loads 10,000
bookings of 1,000 customers and 5 services straight into the tables (the read path is what is measured;
seats and quota are not read by this page), and then alternates, ``--samples`` times each:

- **GraphQL**: ``POST /graphql`` with the contract's ``Bookings`` operation through the ASGI app in-process
  (httpx ``ASGITransport``), the staff token checked, DataLoaders batching customers and services, the
  response parsed back from JSON;
- **hand SQL**: a tenant session of the same app role (row-level security on, on PostgreSQL), one SQL
  join of bookings, customers and services, the same page built as dicts (global ids, cursors, ISO
  times) and ``json.dumps``-ed, then parsed back.

The first round checks that both give the very same JSON. Prints p50, p95 and the ratio, and writes the
marked section of ``docs/performance.md``.

    .venv/bin/python bench/bookings_page.py                    # both databases, ~1 minute
    .venv/bin/python bench/bookings_page.py --db sqlite --no-write
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import platform
import random
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import httpx
from asgi_lifespan import LifespanManager
from graphql import OperationDefinitionNode, parse, print_ast
from sqlalchemy import Integer, String, Uuid, bindparam, event, insert, text
from strawberry.relay import to_base64

from bizzly.app import create_app
from bizzly.db.base import UTCDateTime
from bizzly.db.engine import make_engine
from bizzly.db.paging import encode_cursor
from bizzly.ids import new_id
from bizzly.migrate import migrate
from bizzly.settings import Settings
from domain.catalog.models import Service
from domain.customers.models import Customer
from domain.scheduling.models import Booking

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # bench.results, run as a script
from bench.results import record

REPO = Path(__file__).resolve().parent.parent
PERFORMANCE_MD = REPO / "docs" / "performance.md"
START = "<!-- bench/bookings_page.py: start -->"
END = "<!-- bench/bookings_page.py: end -->"
NEW_FILE = (
    "# Performance\n\nFigures written by the benchmarks in `bench/`; each section says how to re-run it.\n"
)
PG_HOST = os.environ.get("BIZZLY_BENCH_PG_HOST", "127.0.0.1")
PG_SUPERUSER = os.environ.get("BIZZLY_BENCH_PG_SUPERUSER", "postgres")
SCRATCH_DB = "bizzly_bench_bookings_page"
SECRET = "bench-key-" + "b" * 40
CONTRACT_DIR = REPO / "contract"

BOOKINGS, CUSTOMERS, SERVICES, PAGE = 10_000, 1_000, 5, 100

HAND_SQL = (
    text(
        """
    SELECT b.id, b.status, b.source, b.starts_at, b.ends_at,
           c.id AS customer_id, c.name AS customer_name, c.phone_e164,
           s.id AS service_id, s.name AS service_name, s.price_amount, s.price_currency
    FROM bookings b
    JOIN customers c ON c.tenant_id = b.tenant_id AND c.id = b.customer_id
    JOIN services s ON s.tenant_id = b.tenant_id AND s.id = b.service_id
    WHERE b.tenant_id = :tenant
    ORDER BY b.starts_at DESC, b.id DESC
    LIMIT :limit
    """
    )
    .bindparams(bindparam("tenant", type_=Uuid()))
    .columns(
        id=Uuid(),
        status=String(),
        source=String(),
        starts_at=UTCDateTime(),
        ends_at=UTCDateTime(),
        customer_id=Uuid(),
        customer_name=String(),
        phone_e164=String(),
        service_id=Uuid(),
        service_name=String(),
        price_amount=Integer(),
        price_currency=String(),
    )
)


@functools.cache
def contract_operation(name: str) -> str:
    """One operation of the contract (the repository's ``contract/``), as the dashboard sends it."""
    for path in sorted(CONTRACT_DIR.glob("*.graphql")):
        for definition in parse(path.read_text()).definitions:
            if (
                isinstance(definition, OperationDefinitionNode)
                and definition.name
                and definition.name.value == name
            ):
                return print_ast(definition)
    raise LookupError(f"no operation {name} in {CONTRACT_DIR}")


# --- databases ---------------------------------------------------------------------------------------------


def _pg_url(user: str, db: str, password: str | None = None) -> str:
    auth = f"{user}:{password}" if password else user
    return f"postgresql+asyncpg://{auth}@{PG_HOST}/{db}"


async def _pg_admin(sql: str) -> None:
    conn = await asyncpg.connect(host=PG_HOST, user=PG_SUPERUSER, database="postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def scratch_settings(dialect: str, workdir: Path) -> Settings:
    common: dict[str, Any] = {
        "env": "test",
        "secret_keys": SECRET,
        "embedded_workers": False,
        "data_dir": workdir,
    }
    if dialect == "sqlite":
        return Settings(**common)
    await _pg_admin(f'DROP DATABASE IF EXISTS "{SCRATCH_DB}" WITH (FORCE)')
    await _pg_admin(f'CREATE DATABASE "{SCRATCH_DB}"')
    return Settings(
        **common,
        database_owner_url=_pg_url(PG_SUPERUSER, SCRATCH_DB),
        database_url=_pg_url("bizzly_app", SCRATCH_DB, "bizzly_app"),
        maintenance_database_url=_pg_url("bizzly_maint", SCRATCH_DB, "bizzly_maint"),
    )


async def drop_scratch(dialect: str) -> None:
    if dialect == "postgresql":
        await _pg_admin(f'DROP DATABASE IF EXISTS "{SCRATCH_DB}" WITH (FORCE)')


async def database_version(dialect: str, app: Any) -> str:
    async with app.state.services.db.app_engine.connect() as conn:
        if dialect == "sqlite":
            return "SQLite " + str((await conn.execute(text("select sqlite_version()"))).scalar_one())
        return "PostgreSQL " + str((await conn.execute(text("show server_version"))).scalar_one()).split()[0]


# --- data --------------------------------------------------------------------------------------------------


async def sign_up(client: httpx.AsyncClient) -> tuple[str, uuid.UUID]:
    variables = {
        "input": {
            "businessName": "Bench Barbers",
            "slug": "bench-barbers",
            "timezone": "Europe/London",
            "defaultRegion": "GB",
            "name": "Bea Bench",
            "email": "owner@bench.example.com",
            "password": "Bench-Password-42",
        }
    }
    response = await client.post(
        "/graphql", json={"query": contract_operation("SignUp"), "variables": variables}
    )
    payload = response.json()["data"]["signUp"]
    assert payload["errors"] == [], payload
    from strawberry.relay import GlobalID

    return str(payload["accessToken"]), uuid.UUID(GlobalID.from_id(payload["tenant"]["id"]).node_id)


async def load(app: Any, settings: Settings, tenant_id: uuid.UUID, rng: random.Random) -> None:
    """Bulk rows through the app role's tenant session (its own tenant's rows, so RLS lets them in)."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    durations = [30 + 15 * i for i in range(SERVICES)]
    services = [
        {
            "tenant_id": tenant_id,
            "id": new_id(),
            "name": f"Service {i}",
            "description": None,
            "duration_minutes": durations[i],
            "price_amount": 1500 + 500 * i,
            "price_currency": "GBP",
            "capacity": 1 + i,
            "active": True,
            "created_at": now,
            "updated_at": now,
        }
        for i in range(SERVICES)
    ]
    customers = [
        {
            "tenant_id": tenant_id,
            "id": new_id(),
            "name": f"Customer {i}",
            "email": f"customer{i}@bench.example.com",
            "email_key": f"customer{i}@bench.example.com",
            "phone_raw": f"07700 9{i:05d}",
            "phone_e164": f"+4477009{i:05d}",
            "whatsapp_opted_out": False,
            "created_at": now,
            "updated_at": now,
        }
        for i in range(CUSTOMERS)
    ]
    bookings = []
    for i in range(BOOKINGS):
        service = services[i % SERVICES]
        starts = now + timedelta(minutes=15 * rng.randrange(-40_000, 40_000))
        bookings.append(
            {
                "tenant_id": tenant_id,
                "id": new_id(),
                "customer_id": rng.choice(customers)["id"],
                "service_id": service["id"],
                "starts_at": starts,
                "ends_at": starts + timedelta(minutes=durations[i % SERVICES]),
                "status": rng.choice(["CONFIRMED"] * 6 + ["CANCELLED", "COMPLETED", "NO_SHOW"]),
                "source": rng.choice(["DASHBOARD", "WEBSITE", "WHATSAPP"]),
                "created_at": now,
                "updated_at": now,
            }
        )
    db = app.state.services.db
    async with db.tenant_session(tenant_id, write=True) as s, s.begin():
        await s.execute(insert(Service), services)
        await s.execute(insert(Customer), customers)
        for start in range(0, BOOKINGS, 1000):
            await s.execute(insert(Booking), bookings[start : start + 1000])
    # Fresh statistics, as autovacuum would soon give them (only the tables' owner may ANALYZE).
    owner = make_engine(settings.database_owner_url, null_pool=True)
    try:
        async with owner.connect() as conn:
            await conn.execute(
                text("ANALYZE" if db.dialect == "sqlite" else "ANALYZE bookings, customers, services")
            )
            await conn.commit()
    finally:
        await owner.dispose()


# --- the two ways ------------------------------------------------------------------------------------------


def _dt(value: datetime) -> str:
    return value.isoformat()


async def by_hand(app: Any, tenant_id: uuid.UUID) -> dict[str, Any]:
    async with app.state.services.db.tenant_session(tenant_id, write=False) as s:
        rows = (await s.execute(HAND_SQL, {"tenant": tenant_id, "limit": PAGE + 1})).all()
    edges = [
        {
            "node": {
                "id": to_base64("Booking", str(r.id)),
                "status": r.status,
                "source": r.source,
                "startsAt": _dt(r.starts_at),
                "endsAt": _dt(r.ends_at),
                "customer": {
                    "id": to_base64("Customer", str(r.customer_id)),
                    "name": r.customer_name,
                    "phone": r.phone_e164,
                },
                "service": {
                    "id": to_base64("Service", str(r.service_id)),
                    "name": r.service_name,
                    "price": {"amount": r.price_amount, "currency": r.price_currency},
                },
            }
        }
        for r in rows[:PAGE]
    ]
    last = rows[PAGE - 1] if len(rows) >= PAGE else (rows[-1] if rows else None)
    body = {
        "data": {
            "bookings": {
                "pageInfo": {
                    "hasNextPage": len(rows) > PAGE,
                    "endCursor": encode_cursor([last.starts_at, last.id]) if last is not None else None,
                },
                "edges": edges,
            }
        }
    }
    parsed: dict[str, Any] = json.loads(json.dumps(body))
    return parsed


async def by_graphql(client: httpx.AsyncClient, token: str, first: int = PAGE) -> dict[str, Any]:
    response = await client.post(
        "/graphql",
        json={"query": contract_operation("Bookings"), "variables": {"first": first}},
        headers={"Authorization": f"Bearer {token}"},
    )
    body: dict[str, Any] = response.json()
    return body


# --- measuring ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    dialect: str
    version: str
    samples: int
    graphql_ms: list[float]
    sql_ms: list[float]
    statements: int
    statements_small: int  # the same query with first: 5

    @staticmethod
    def pct(values: list[float], pct: float) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]

    @property
    def ratio(self) -> float:
        return statistics.median(self.graphql_ms) / statistics.median(self.sql_ms)


async def _time(call: Callable[[], Awaitable[Any]]) -> float:
    started = time.perf_counter()
    await call()
    return (time.perf_counter() - started) * 1000


async def measure(dialect: str, samples: int, warmup: int) -> Result:
    with tempfile.TemporaryDirectory(prefix="bizzly-bench-") as workdir:
        settings = await scratch_settings(dialect, Path(workdir))
        try:
            await asyncio.to_thread(migrate, settings)
            app = create_app(settings)
            async with LifespanManager(app):
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                    token, tenant_id = await sign_up(client)
                    await load(app, settings, tenant_id, random.Random(7))
                    graphql, hand = await by_graphql(client, token), await by_hand(app, tenant_id)
                    assert graphql == hand, "GraphQL and the hand-written SQL disagree"
                    statements = count_statements(app)
                    await by_graphql(client, token)
                    statements_seen = statements()
                    statements = count_statements(app)
                    await by_graphql(client, token, first=5)
                    statements_small = statements()
                    for _ in range(warmup):
                        await by_graphql(client, token)
                        await by_hand(app, tenant_id)
                    graphql_ms: list[float] = []
                    sql_ms: list[float] = []
                    for i in range(samples):
                        pair = [
                            ("g", lambda: by_graphql(client, token)),
                            ("s", lambda: by_hand(app, tenant_id)),
                        ]
                        for kind, call in pair if i % 2 else reversed(pair):
                            (graphql_ms if kind == "g" else sql_ms).append(await _time(call))
                    version = await database_version(dialect, app)
        finally:
            await drop_scratch(dialect)
    return Result(dialect, version, samples, graphql_ms, sql_ms, statements_seen, statements_small)


def count_statements(app: Any) -> Callable[[], int]:
    """Starts counting data statements on the app engine; the returned function stops and tells."""
    seen: list[str] = []
    target = app.state.services.db.app_engine.sync_engine

    def on_execute(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if (
            not statement.lstrip()
            .upper()
            .startswith(("BEGIN", "COMMIT", "ROLLBACK", "SELECT SET_CONFIG", "PRAGMA"))
        ):
            seen.append(statement)

    event.listen(target, "before_cursor_execute", on_execute)

    def stop() -> int:
        event.remove(target, "before_cursor_execute", on_execute)
        return len(seen)

    return stop


# --- report ------------------------------------------------------------------------------------------------


def render(results: list[Result]) -> str:
    load_avg = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    rows = []
    for r in results:
        rows.append(
            f"| {r.version} | GraphQL `Bookings` (first: 100) | {statistics.median(r.graphql_ms):.2f} ms "
            f"| {Result.pct(r.graphql_ms, 95):.2f} ms | {r.statements} ({r.statements_small} for first: 5) |"
        )
        rows.append(
            f"| {r.version} | hand-written SQL + `json.dumps` | {statistics.median(r.sql_ms):.2f} ms "
            f"| {Result.pct(r.sql_ms, 95):.2f} ms | 1 |"
        )
        rows.append(f"| {r.version} | **ratio** (GraphQL / SQL, p50) | **{r.ratio:.1f}×** | | |")
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    first = results[0]
    per_field = (statistics.median(first.graphql_ms) - statistics.median(first.sql_ms)) * 1000 / 1500
    return f"""{START}
## Bookings page: GraphQL against hand-written SQL

`bench/bookings_page.py`, {when}, {os.cpu_count()} cores ({platform.machine()}, shared with other work:
load average {load_avg[0]:.1f} / {load_avg[1]:.1f} / {load_avg[2]:.1f}), Python {platform.python_version()}.
One business with {BOOKINGS:,} bookings of {CUSTOMERS:,} customers and {SERVICES} services;
{results[0].samples} timed requests of each kind per database, alternating, after a warm-up. **GraphQL**: the
contract's `Bookings` operation with `first: 100` (each booking's customer and service) sent through the ASGI
app in-process (httpx `ASGITransport`) with a staff token: the token's session and membership checked, the
page read by keyset, customers and services batched by DataLoaders, serialised and parsed back. **Hand SQL**:
a tenant session of the same app role, one join of the three tables, the same JSON built by hand (global ids,
cursor, ISO times), `json.dumps`-ed and parsed back. The first round checks both give identical JSON.
"Statements": data statements per request (transaction bookkeeping left out).

| database | way | p50 | p95 | statements |
|---|---|---:|---:|---:|
{chr(10).join(rows)}

Reading it: the ratio is the price of the API layer on a 100-row page. The database work hardly differs
(GraphQL reads two more rows for the token, the session and the membership, and the page's customers and
services in one batch each instead of a join: 5 statements, whatever the page size); the rest is Python
per field: strawberry and graphql-core resolve, check and serialise about 1,500 fields, about
{per_field:.0f} µs each (the difference of the p50s spread over them, first database). The page's
customers and services are loaded with the page, so each row's `customer` and `service` answer without a
task of their own. Re-run with `.venv/bin/python bench/bookings_page.py`.
{END}"""


def write(section: str, path: Path = PERFORMANCE_MD) -> None:
    """Replace this benchmark's marked section of ``path`` (other sections are left as they are)."""
    text_ = path.read_text() if path.exists() else NEW_FILE
    pattern = re.compile(re.escape(START) + r".*?" + re.escape(END), re.DOTALL)
    if pattern.search(text_):
        text_ = pattern.sub(lambda _: section, text_)
    else:
        text_ = text_.rstrip("\n") + "\n\n" + section
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text_.rstrip("\n") + "\n")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/performance.md alone")
    parser.add_argument("--quick", action="store_true", help="a smoke run: few samples, no write")
    args = parser.parse_args()
    if args.quick:
        args.samples, args.warmup, args.no_write = 20, 3, True
    dialects = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    results = []
    for dialect in dialects:
        result = await measure(dialect, args.samples, args.warmup)
        results.append(result)
        print(
            f"{result.version}: GraphQL p50 {statistics.median(result.graphql_ms):.2f} ms "
            f"p95 {Result.pct(result.graphql_ms, 95):.2f} ms ({result.statements} statements) | "
            f"hand SQL p50 {statistics.median(result.sql_ms):.2f} ms "
            f"p95 {Result.pct(result.sql_ms, 95):.2f} ms | "
            f"ratio {result.ratio:.1f}x"
        )
        record(
            bench="bookings_page",
            metric=f"Bookings page of 100, p50 ({result.version})",
            value=statistics.median(result.graphql_ms),
            unit="ms",
            baseline=statistics.median(result.sql_ms),
            baseline_label="the same page by hand-written SQL, same run",
            goal="the API layer at most 3x hand SQL (PostgreSQL)",
            extra={"statements": result.statements},
        )
    section = render(results)
    if not args.no_write:
        write(section)
        print(f"wrote {PERFORMANCE_MD.relative_to(REPO)}")


if __name__ == "__main__":
    asyncio.run(main())
