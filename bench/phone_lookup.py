"""How ``resolve_phone`` scales: p50/p99 with 10k customers, then with 1M customers + 1M CRM contacts.

On PostgreSQL (the production database), in two scratch databases this script creates and drops:

1. *small*: 10 tenants x 1,000 customers + 1,000 CRM contacts (10k + 10k rows);
2. *large*: 1,000 tenants x 1,000 customers + 1,000 CRM contacts (1M + 1M rows).

Each tenant has the same shape in both, so the ratio shows what the *table size* costs (index depth,
cache misses), not a bigger tenant. In every tenant half the CRM contacts share a phone with a customer and
carry that customer's email (so they are linked to it, as the CRM sync would link them), the other half
have phones of their own; every phone is in the lookup index (``phone_index``), as the services keep it.

Rows are bulk-loaded with COPY through the owner role (the tables keep their indexes, then
``VACUUM (ANALYZE)``); the lookups run through the service, ``domain.identity.service.resolve_phone``,
in a tenant session of the *app* role (row-level security on), one transaction per lookup, sequentially,
on random tenants and random customers' phones typed in national format (``07...``). Timed: opening the
session and transaction, setting the tenant, parsing the phone and the 2-3 indexed reads. The two sizes
are measured in alternating rounds, so both see the same background load of a shared machine. Prints
both and the ratio, and writes the marked section of ``docs/performance.md``.

    .venv/bin/python bench/phone_lookup.py              # a few minutes on 2 cores (most of it loading)
    .venv/bin/python bench/phone_lookup.py --no-write   # print only
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import re
import statistics
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import event, insert

from bizzly.db.engine import Database, make_engine
from bizzly.ids import new_id
from bizzly.migrate import migrate
from bizzly.settings import Settings
from domain.identity.service import resolve_phone
from tenants.models import Tenant

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # bench.results, run as a script
from bench.results import record

REPO = Path(__file__).resolve().parent.parent
PERFORMANCE_MD = REPO / "docs" / "performance.md"
START = "<!-- bench/phone_lookup.py: start -->"
END = "<!-- bench/phone_lookup.py: end -->"
NEW_FILE = (
    "# Performance\n\nFigures written by the benchmarks in `bench/`; each section says how to re-run it.\n"
)

PG_HOST = os.environ.get("BIZZLY_BENCH_PG_HOST", "127.0.0.1")
PG_SUPERUSER = os.environ.get("BIZZLY_BENCH_PG_SUPERUSER", "postgres")
SCRATCH_PREFIX = "bizzly_bench_phone_lookup"
PER_TENANT = 1_000
TENANTS_PER_COPY = 50  # rows are generated and copied this many tenants at a time (bounded memory)


@dataclass(frozen=True)
class Scenario:
    name: str
    tenants: int

    @property
    def database(self) -> str:
        return f"{SCRATCH_PREFIX}_{self.name}"

    @property
    def customers(self) -> int:
        return self.tenants * PER_TENANT


@dataclass(frozen=True)
class Timing:
    scenario: Scenario
    samples: int
    p50_ms: float
    p99_ms: float
    mean_ms: float
    load_seconds: float
    statements: float  # reads per lookup (average)


def _url(user: str, db: str, password: str | None = None) -> str:
    auth = f"{user}:{password}" if password else user
    return f"postgresql+asyncpg://{auth}@{PG_HOST}/{db}"


def bench_settings(database: str) -> Settings:
    return Settings(
        env="test",
        secret_keys="bench-key-" + "b" * 40,
        database_owner_url=_url(PG_SUPERUSER, database),
        database_url=_url("bizzly_app", database, "bizzly_app"),
        maintenance_database_url=_url("bizzly_maint", database, "bizzly_maint"),
    )


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(host=PG_HOST, user=PG_SUPERUSER, database="postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def fresh_database(database: str) -> Settings:
    await _admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    await _admin(f'CREATE DATABASE "{database}"')
    settings = bench_settings(database)
    await asyncio.to_thread(migrate, settings)
    return settings


# --- data --------------------------------------------------------------------------------------------------


def _mobile(rng: random.Random) -> str:
    return f"+447{rng.randrange(10**9):09d}"


def _tenant_rows(
    tenant_id: uuid.UUID, rng: random.Random, now: datetime
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]], list[str]]:
    """Customers, CRM contacts and index entries of one tenant, and its customers' phones."""
    phones: set[str] = set()
    while len(phones) < PER_TENANT * 3 // 2:
        phones.add(_mobile(rng))
    ordered = list(phones)
    customer_phones = ordered[:PER_TENANT]
    own_contact_phones = ordered[PER_TENANT:]
    customers: list[tuple[Any, ...]] = []
    contacts: list[tuple[Any, ...]] = []
    index: list[tuple[Any, ...]] = []
    for n, phone in enumerate(customer_phones):
        cid = new_id()
        email = f"customer{n}@example.com"
        raw = "0" + phone[3:]
        customers.append(
            (tenant_id, cid, f"Customer {n}", email, email, raw, phone, False, None, None, now, now)
        )
        index.append((tenant_id, new_id(), phone, "customer", cid))
    for n in range(PER_TENANT):
        contact_id = new_id()
        if n % 2 == 0:  # shares a customer's phone and email: linked by email
            phone = customer_phones[n]
            email = f"customer{n}@example.com"
            linked: uuid.UUID | None = customers[n][1]
            source: str | None = "email"
        else:
            phone = own_contact_phones[n // 2]
            email = f"lead{n}@example.com"
            linked, source = None, None
        contacts.append(
            (
                tenant_id, contact_id, f"hs-{n}", email, email, "Lead", f"#{n}",
                None, None, "0" + phone[3:], phone, None, None,
                linked, source, "SYNCED", False, now, now,
            )
        )  # fmt: skip
        index.append((tenant_id, new_id(), phone, "crm_contact", contact_id))
    return customers, contacts, index, customer_phones


CUSTOMER_COLUMNS = [
    "tenant_id", "id", "name", "email", "email_key", "phone_raw", "phone_e164", "whatsapp_opted_out",
    "meta_user_id", "password_hash", "created_at", "updated_at",
]  # fmt: skip
CONTACT_COLUMNS = [
    "tenant_id", "id", "external_id", "email", "email_key", "first_name", "last_name",
    "phone_raw", "phone_e164", "mobile_raw", "mobile_e164", "whatsapp_raw", "whatsapp_e164",
    "customer_id", "link_source", "sync_status", "archived", "created_at", "updated_at",
]  # fmt: skip
INDEX_COLUMNS = ["tenant_id", "id", "e164", "owner_kind", "owner_id"]


def _chunks(items: list[uuid.UUID], size: int) -> Iterator[list[uuid.UUID]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def load(settings: Settings, scenario: Scenario, rng: random.Random) -> dict[uuid.UUID, list[str]]:
    """Bulk-load the scenario (owner role); returns each tenant's customers' phones."""
    now = datetime.now(UTC)
    tenant_ids = [new_id() for _ in range(scenario.tenants)]
    # Tenants through SQLAlchemy Core, so the model's column defaults apply (a handful of rows).
    engine = make_engine(settings.database_owner_url, null_pool=True)
    async with engine.begin() as conn:
        await conn.execute(
            insert(Tenant.__table__),  # type: ignore[arg-type]
            [
                {
                    "id": tid,
                    "name": f"Bench {n}",
                    "slug": f"bench-{n}",
                    "timezone": "Europe/London",
                    "default_region": "GB",
                    "cancellation_cutoff_hours": 24,
                    "minimum_notice_minutes": 0,
                    "slot_step_minutes": 15,
                    "closed_dates": [],
                    "created_at": now,
                }
                for n, tid in enumerate(tenant_ids)
            ],
        )
    await engine.dispose()

    phones: dict[uuid.UUID, list[str]] = {}
    conn = await asyncpg.connect(host=PG_HOST, user=PG_SUPERUSER, database=scenario.database)
    try:
        for group in _chunks(tenant_ids, TENANTS_PER_COPY):
            customers: list[tuple[Any, ...]] = []
            contacts: list[tuple[Any, ...]] = []
            index: list[tuple[Any, ...]] = []
            for tid in group:
                c, k, i, p = _tenant_rows(tid, rng, now)
                customers += c
                contacts += k
                index += i
                phones[tid] = p
            async with conn.transaction():
                await conn.copy_records_to_table("customers", records=customers, columns=CUSTOMER_COLUMNS)
                await conn.copy_records_to_table("crm_contacts", records=contacts, columns=CONTACT_COLUMNS)
                await conn.copy_records_to_table("phone_index", records=index, columns=INDEX_COLUMNS)
        # As autovacuum would leave them: visibility map and hint bits set, statistics current.
        await conn.execute("VACUUM (ANALYZE) tenants, customers, crm_contacts, phone_index")
    finally:
        await conn.close()
    return phones


# --- measurement -------------------------------------------------------------------------------------------


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered)) - 1))
    return ordered[rank]


class Lookups:
    """Timed ``resolve_phone`` calls on one scenario's database, through the app role."""

    def __init__(self, scenario: Scenario, phones: dict[uuid.UUID, list[str]], rng: random.Random) -> None:
        self.scenario = scenario
        self.phones = phones
        self.rng = rng
        self.db = Database(bench_settings(scenario.database))
        self.tenants: dict[uuid.UUID, Tenant] = {}
        self.timings: list[float] = []
        self.reads = 0
        self.counting = False
        event.listen(self.db.app_engine.sync_engine, "before_cursor_execute", self._count)

    def _count(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if (
            self.counting
            and statement.lstrip().upper().startswith("SELECT")
            and "set_config" not in statement
        ):
            self.reads += 1

    async def start(self) -> None:
        async with self.db.public_session() as s:
            for tid in self.phones:
                found = await s.get(Tenant, tid)
                assert found is not None
                self.tenants[tid] = found

    async def lookups(self, n: int, *, timed: bool) -> None:
        tenant_ids = list(self.phones)
        self.counting = timed
        for _ in range(n):
            tid = self.rng.choice(tenant_ids)
            phone = self.rng.choice(self.phones[tid])
            raw = "0" + phone[3:6] + " " + phone[6:]  # "07xxx xxxxxx": parsed with the tenant's region
            started = time.perf_counter()
            async with self.db.tenant_session(tid, write=False) as session, session.begin():
                resolution = await resolve_phone(session, tenant=self.tenants[tid], raw=raw)
            elapsed = time.perf_counter() - started
            assert resolution.accounts, "every looked-up phone belongs to a customer"
            if timed:
                self.timings.append(elapsed * 1000)
        self.counting = False

    def timing(self, load_seconds: float) -> Timing:
        return Timing(
            scenario=self.scenario,
            samples=len(self.timings),
            p50_ms=_percentile(self.timings, 50),
            p99_ms=_percentile(self.timings, 99),
            mean_ms=statistics.fmean(self.timings),
            load_seconds=load_seconds,
            statements=self.reads / max(1, len(self.timings)),
        )

    async def close(self) -> None:
        event.remove(self.db.app_engine.sync_engine, "before_cursor_execute", self._count)
        await self.db.dispose()


async def count_rows(database: str) -> dict[str, int]:
    conn = await asyncpg.connect(host=PG_HOST, user=PG_SUPERUSER, database=database)
    try:
        return {
            t: int(await conn.fetchval(f'SELECT count(*) FROM "{t}"'))
            for t in ("tenants", "customers", "crm_contacts", "phone_index")
        }
    finally:
        await conn.close()


# --- report ------------------------------------------------------------------------------------------------

TEMPLATE = """{start}
## Phone lookup (`resolvePhone`)

`bench/phone_lookup.py`, {when} UTC, PostgreSQL {pg_version} (default settings, `shared_buffers` {buffers}),
{cores} cores ({arch}, shared with other work: load average {busy}), Python {python}. Each lookup is one
call of `domain.identity.service.resolve_phone` in its own read transaction of the *app* role under
row-level security: session, `set_config` of the tenant, parsing a national-format phone with the tenant's
region, and {reads:.1f} indexed reads on average (the lookup index; the CRM contacts, when the phone has
any; the customers). Sequential, random tenant and random customer phone each time; {samples:,} timed
lookups per size after {warmup} warm-up ones, on freshly loaded and vacuumed tables. The two sizes live in
two scratch databases and are measured in {rounds} alternating rounds, so both see the same background
load. Every tenant has 1,000 customers and 1,000 CRM contacts (half of them sharing a customer's phone and
email, so linked to it), so the two sizes differ only in how big the tables are.

| data | rows (customers / CRM contacts / index) | load (COPY) | p50 | p99 | mean |
|---|---:|---:|---:|---:|---:|
| 10k: 10 tenants | {s_rows} | {s_load:.0f} s | {s_p50:.2f} ms | {s_p99:.2f} ms | {s_mean:.2f} ms |
| 1M: 1,000 tenants | {l_rows} | {l_load:.0f} s | {l_p50:.2f} ms | {l_p99:.2f} ms | {l_mean:.2f} ms |
| **ratio** (1M / 10k) | 100× | | **{r_p50:.2f}×** | **{r_p99:.2f}×** | **{r_mean:.2f}×** |

Reading it: a lookup is a B-tree range scan on `phone_index (tenant_id, e164, …)` followed by primary-key
reads, so 100× more rows adds at most one index level, and the ratio is the figure to read: it should stay
near 1 (beyond an index level, only buffer misses can add to it: the 1M tables and their indexes, ~1 GB,
do not fit in `shared_buffers` and come from the OS page cache). The absolute times and the p99 include
the load of a shared machine (see the load average), which is why the two sizes are measured in
alternating rounds. Re-run with
`.venv/bin/python bench/phone_lookup.py` (PostgreSQL on 127.0.0.1; it creates and drops its own scratch
databases).
{end}"""


def render(
    small: Timing,
    large: Timing,
    rows: dict[str, dict[str, int]],
    pg: tuple[str, str],
    warmup: int,
    rounds: int,
) -> str:
    def fmt(r: dict[str, int]) -> str:
        return f"{r['customers']:,} / {r['crm_contacts']:,} / {r['phone_index']:,}"

    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return TEMPLATE.format(
        start=START,
        end=END,
        when=f"{datetime.now(UTC):%Y-%m-%d %H:%M}",
        pg_version=pg[0],
        buffers=pg[1],
        cores=os.cpu_count(),
        arch=platform.machine(),
        busy="{:.1f} / {:.1f} / {:.1f}".format(*load),
        python=platform.python_version(),
        reads=large.statements,
        samples=large.samples,
        warmup=warmup,
        rounds=rounds,
        s_rows=fmt(rows["small"]),
        l_rows=fmt(rows["large"]),
        s_load=small.load_seconds,
        l_load=large.load_seconds,
        s_p50=small.p50_ms,
        s_p99=small.p99_ms,
        s_mean=small.mean_ms,
        l_p50=large.p50_ms,
        l_p99=large.p99_ms,
        l_mean=large.mean_ms,
        r_p50=large.p50_ms / small.p50_ms,
        r_p99=large.p99_ms / small.p99_ms,
        r_mean=large.mean_ms / small.mean_ms,
    )


def write(section: str, path: Path = PERFORMANCE_MD) -> None:
    """Replace this benchmark's marked section of ``path`` (other sections are left as they are)."""
    text = path.read_text() if path.exists() else NEW_FILE
    pattern = re.compile(re.escape(START) + r".*?" + re.escape(END), re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: section, text)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text.rstrip("\n") + "\n")


async def pg_facts() -> tuple[str, str]:
    conn = await asyncpg.connect(host=PG_HOST, user=PG_SUPERUSER, database="postgres")
    try:
        version = str(await conn.fetchval("SHOW server_version")).split()[0]
        buffers = str(await conn.fetchval("SHOW shared_buffers"))
    finally:
        await conn.close()
    return version, buffers


async def run(
    samples: int, warmup: int, rounds: int, keep: bool, large_tenants: int = 1_000
) -> tuple[Timing, Timing, dict[str, dict[str, int]]]:
    """Load both sizes (one scratch database each), then measure them in alternating rounds."""
    rng = random.Random(20240601)
    scenarios = [Scenario("small", 10), Scenario("large", large_tenants)]
    rows: dict[str, dict[str, int]] = {}
    loaded: dict[str, float] = {}
    runners: list[Lookups] = []
    try:
        for scenario in scenarios:
            settings = await fresh_database(scenario.database)
            started = time.perf_counter()
            phones = await load(settings, scenario, rng)
            loaded[scenario.name] = time.perf_counter() - started
            rows[scenario.name] = await count_rows(scenario.database)
            print(
                f"{scenario.name}: loaded {rows[scenario.name]} in {loaded[scenario.name]:.0f} s", flush=True
            )
            runners.append(Lookups(scenario, phones, rng))
        for runner in runners:
            await runner.start()
            await runner.lookups(warmup, timed=False)
        for _ in range(rounds):
            for runner in runners:
                await runner.lookups(max(1, samples // rounds), timed=True)
        results = [runner.timing(loaded[runner.scenario.name]) for runner in runners]
        for timing in results:
            print(
                f"{timing.scenario.name}: p50 {timing.p50_ms:.2f} ms  p99 {timing.p99_ms:.2f} ms  "
                f"mean {timing.mean_ms:.2f} ms  ({timing.statements:.1f} reads/lookup)",
                flush=True,
            )
    finally:
        for runner in runners:
            await runner.close()
        if not keep:
            for scenario in scenarios:
                await _admin(f'DROP DATABASE IF EXISTS "{scenario.database}" WITH (FORCE)')
    return results[0], results[1], rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--samples", type=int, default=2000, help="timed lookups per size")
    parser.add_argument("--warmup", type=int, default=200, help="untimed lookups first, per size")
    parser.add_argument("--rounds", type=int, default=10, help="alternating rounds of each size")
    parser.add_argument("--keep", action="store_true", help="leave the scratch databases for inspection")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/performance.md")
    parser.add_argument("--large-tenants", type=int, default=1_000, help=argparse.SUPPRESS)  # dry runs
    parser.add_argument("--quick", action="store_true", help="a smoke run: 50k rows, few samples, no write")
    args = parser.parse_args()
    if args.quick:
        args.samples, args.warmup, args.rounds, args.large_tenants = 200, 20, 2, 50
        args.no_write = True
    if args.large_tenants != 1_000 and not args.no_write:
        parser.error("--large-tenants is for dry runs: add --no-write")
    small, large, rows = asyncio.run(
        run(args.samples, args.warmup, args.rounds, args.keep, args.large_tenants)
    )
    print(
        f"ratio (1M / 10k): p50 {large.p50_ms / small.p50_ms:.2f}x  p99 {large.p99_ms / small.p99_ms:.2f}x  "
        f"mean {large.mean_ms / small.mean_ms:.2f}x"
    )
    sizes = f"{args.large_tenants * 1000:,} rows vs 10,000"
    for label, value, baseline in (
        ("p50", large.p50_ms, small.p50_ms),
        ("p99", large.p99_ms, small.p99_ms),
    ):
        record(
            bench="phone_lookup",
            metric=f"phone lookup {label} ({sizes})",
            value=value,
            unit="ms",
            baseline=baseline,
            baseline_label="the same lookup on 10,000 rows, same run",
            goal="ratio near 1 (an index level at most): under 2x",
        )
    if not args.no_write:
        write(render(small, large, rows, asyncio.run(pg_facts()), args.warmup, args.rounds))
        print(f"written to {PERFORMANCE_MD.relative_to(REPO)}")


if __name__ == "__main__":
    main()
