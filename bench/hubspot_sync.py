"""HubSpot -> Bizzly initial sync against a fake HubSpot that enforces HubSpot's window.

The fake (``tests/fakes/hubspot.py``) answers like HubSpot for an OAuth app: at most 110 requests per rolling
10 s per portal, 429 past it. Our budget is ``BIZZLY_HUBSPOT_RATE_LIMIT`` (100) per 10 s, so the ceiling of a
full sync is 100 contacts a page x 100 pages per 10 s = 1,000 contacts/s. The bench seeds the fake portal,
connects a tenant through the real OAuth round trip, queues a full run and works its outbox rows one after
another as a worker does (each page is a row: fetched, imported and checkpointed in one transaction). It
prints contacts/s beside the ceiling, the ratio, the 429 count, and the progress over time.

    .venv/bin/python bench/hubspot_sync.py              # 100,000 contacts, writes docs/performance.md
    .venv/bin/python bench/hubspot_sync.py --quick      # 10,000 contacts, print only
    .venv/bin/python bench/hubspot_sync.py --no-write   # print only
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import platform
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path

import httpx
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # bench.*, tests.* when run as a script

from bench.harness import write_section
from bench.results import record
from bizzly.app import create_app
from bizzly.db.engine import MaintenanceUse
from bizzly.migrate import migrate
from bizzly.settings import Settings
from bizzly.wiring import build_mailer, import_handlers
from domain.crm_sync.models import HubSpotSyncRun, RunState
from domain.identity.models import CrmContact
from tests.fakes.hubspot import HubSpotFake
from tests.integrations.hubspot.support import connect
from tests.integrations.hubspot.sync_support import start_run
from tests.support.accounts import sign_up
from tests.support.graphql import GraphQLClient
from workers.processing import process_row
from workers.relay import claim_due
from workers.resources import Resources

START = "<!-- bench/hubspot_sync.py: start -->"
END = "<!-- bench/hubspot_sync.py: end -->"
PORTAL = 9090
CLIENT_ID, CLIENT_SECRET = "bench-client", "bench-secret"


class RemoteFake:
    """The fake HubSpot served by another process (in this one it would share the GIL with the worker being
    measured, and its own per-request scans would count as ours): its URLs and the 429s it sent."""

    def __init__(self, count: int) -> None:
        self._conn, child = multiprocessing.Pipe()
        self._process = multiprocessing.Process(target=_serve_fake, args=(count, child), daemon=True)
        self._process.start()
        self.url: str = self._conn.recv()
        self.authorize_url = self.url + "/oauth/authorize"

    def install_into(self, portal_id: int) -> None:
        pass  # the seeded portal is the one the authorize page installs into

    def rate_limited(self) -> int:
        self._conn.send("count")
        return int(self._conn.recv())

    def reset(self) -> None:
        self._conn.send("reset")
        self._conn.recv()

    def close(self) -> None:
        self._conn.send("stop")
        self._process.join(timeout=10)


def _serve_fake(count: int, conn: Connection) -> None:
    with HubSpotFake(client_id=CLIENT_ID, client_secret=CLIENT_SECRET) as hubspot:
        for i in range(count):
            hubspot.add_contact(
                PORTAL, email=f"p{i}@example.com", firstname=f"P{i}", mobilephone=f"+4477{i:08d}"
            )
        conn.send(hubspot.url)
        while (command := conn.recv()) != "stop":
            if command == "reset":
                hubspot.rate_limited.clear()
                conn.send(True)
            else:
                conn.send(hubspot.rate_limited.get(PORTAL, 0))


def bench_settings(fake: RemoteFake, data_dir: Path) -> Settings:
    return Settings(
        env="test",
        secret_keys="bench-key-" + "b" * 40,
        data_dir=str(data_dir),
        embedded_workers=False,
        hubspot_client_id=CLIENT_ID,
        hubspot_client_secret=CLIENT_SECRET,
        hubspot_api_url=fake.url,
        hubspot_auth_url=fake.authorize_url,
        public_url="http://testserver",
        dashboard_url="http://dashboard.test",
    )


async def run(fake: RemoteFake, settings: Settings) -> dict[str, object]:
    # The fake and the database are set up by main, outside the event loop (alembic runs its own).
    import_handlers()
    app = create_app(settings)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as http:
        gql = GraphQLClient(http)
        owner = await sign_up(gql, slug="bench-studio", email="owner@bench.example.com")
        await connect(gql, owner, fake, PORTAL)  # type: ignore[arg-type]  # a stand-in for the fake
        limit, window = settings.hubspot_rate_limit, settings.hubspot_rate_window_seconds
        await asyncio.sleep(window)  # the OAuth round trip's requests leave the window first
        fake.reset()
        run_row = await start_run(gql, owner)

        res = Resources.build(settings, build_mailer(settings))
        progress: list[tuple[float, int]] = [(0.0, 0)]
        started = time.monotonic()
        last_sample = started
        try:
            while True:
                async with res.db.maintenance_session(MaintenanceUse.TESTS) as s, s.begin():
                    batch = await claim_due(s, settings)
                if not batch:
                    async with res.db.maintenance_session(MaintenanceUse.TESTS, write=False) as s:
                        state = await s.scalar(
                            select(HubSpotSyncRun.state).where(HubSpotSyncRun.id == run_row.id)
                        )
                    if state in (RunState.DONE.value, RunState.FAILED.value):
                        break
                    await asyncio.sleep(0.05)  # a page pushed back by the budget (RetryLater)
                    continue
                for d in batch:
                    await process_row(res, d.tenant_id, d.row_id)
                if time.monotonic() - last_sample >= 1.0:
                    last_sample = time.monotonic()
                    async with res.db.maintenance_session(MaintenanceUse.TESTS, write=False) as s:
                        read = await s.scalar(
                            select(HubSpotSyncRun.read).where(HubSpotSyncRun.id == run_row.id)
                        )
                    progress.append((round(last_sample - started, 2), int(read or 0)))
            elapsed = time.monotonic() - started
            async with res.db.maintenance_session(MaintenanceUse.TESTS, write=False) as s:
                done = (
                    await s.execute(select(HubSpotSyncRun).where(HubSpotSyncRun.id == run_row.id))
                ).scalar_one()
                rows = int(await s.scalar(select(func.count()).select_from(CrmContact)) or 0)
        finally:
            await res.aclose()
        progress.append((round(elapsed, 2), done.read))
        return {
            "state": done.state,
            "error": done.last_error,
            "read": done.read,
            "rows": rows,
            "elapsed": elapsed,
            "rate": done.read / elapsed,
            "ceiling": settings.hubspot_sync_page_size * limit / window,
            "budget": f"{limit} per {window:g} s",
            "http_429": fake.rate_limited(),
            "progress": progress,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="10,000 contacts, print only")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/performance.md")
    args = parser.parse_args()
    if args.quick:
        args.contacts, args.no_write = 10_000, True
    fake = RemoteFake(args.contacts)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-hubspot-") as tmp:
            settings = bench_settings(fake, Path(tmp))
            migrate(settings)  # alembic runs its own event loop
            out = asyncio.run(run(fake, settings))
    finally:
        fake.close()
    rate, ceiling, elapsed = float(str(out["rate"])), float(str(out["ceiling"])), float(str(out["elapsed"]))
    ratio = rate / ceiling
    print(
        f"{out['read']:,} contacts in {elapsed:.1f} s ({out['state']}, {out['rows']:,} rows): "
        f"{rate:,.0f} contacts/s, ceiling {ceiling:,.0f}/s ({out['budget']}), ratio {ratio:.0%}, "
        f"429s: {out['http_429']}"
    )
    if out["state"] != RunState.DONE.value or out["rows"] != args.contacts:
        raise SystemExit(f"the sync did not complete: {out['error']}")
    record(
        bench="hubspot_sync",
        metric=f"initial HubSpot sync ({args.contacts:,} contacts)",
        value=rate,
        unit="contacts/s",
        baseline=ceiling,
        baseline_label=f"the ceiling HubSpot's window allows: 100 a page x our budget ({out['budget']})",
        goal="ratio >= 0.9, no 429 storms",
        extra={
            "http_429": out["http_429"],
            "elapsed_s": round(elapsed, 1),
            "progress": out["progress"],
        },
    )
    if args.no_write:
        return
    section = "\n".join(
        [
            START,
            "## HubSpot → Bizzly initial sync (`bench/hubspot_sync.py`)",
            "",
            f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()} / Python"
            f" {platform.python_version()},"
            " SQLite, one worker working the run's pages in order; a fake HubSpot (its own process)"
            " enforcing 110 requests per rolling 10 s per portal (429 past it).",
            "",
            "| contacts | time | contacts/s | ceiling (100 a page × budget) | ratio | 429s |",
            "|---|---|---|---|---|---|",
            f"| {args.contacts:,} | {elapsed:.1f} s | {rate:,.0f} | {ceiling:,.0f} ({out['budget']}) |"
            f" {ratio:.0%} | {out['http_429']} |",
            "",
            "Re-run: `.venv/bin/python bench/hubspot_sync.py` (`--quick` for 10,000 contacts, print only)."
            " The progress over time is in the results file (`extra.progress`, (seconds, contacts)) for"
            " `make bench`.",
            END,
        ]
    )
    write_section(START, END, section)


if __name__ == "__main__":
    main()
