"""Where an inbound message's time goes once stored: a pyinstrument profile of the workers' path.

The deployment of ``bench/webhook_ingest.py`` (a scratch PostgreSQL database under row-level security, 100
businesses with a connected number, the fake Graph API of ``tests/fakes/meta.py`` in this process): ``N``
signed text messages are stored through the webhook (not profiled), then the outbox is worked off in this
process as a worker does (``claim_due`` then ``process_row`` for each row: the inbox event becomes a
conversation message, the deterministic assistant answers, the reply goes out through the outbox and the
Graph API), profiled. Prints messages fully answered per second on one event loop, the rows and database
statements per message, and the profile's text tree.

    .venv/bin/python bench/profile_processing.py [--messages 300] [--html profile.html]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench import harness  # noqa: E402
from bench.webhook_ingest import post_signed, seed_with_fake, server_env  # noqa: E402


async def main(args: argparse.Namespace) -> None:
    from pyinstrument import Profiler

    from tests.fakes.meta import running_meta_fake

    name = f"bizzly_bench_proc_{os.getpid()}"
    data_dir = await harness.create_scratch(name)
    env = server_env(name, data_dir, broker="redis://127.0.0.1:6379/0", namespace=f"proc{os.getpid()}")
    env["BIZZLY_LOG_LEVEL"] = "WARNING"
    try:
        async with running_meta_fake() as meta:
            numbers = await seed_with_fake(env, meta)
            os.environ.update(env)
            from bizzly.app import create_app
            from bizzly.db.engine import MaintenanceUse
            from bizzly.settings import get_settings
            from bizzly.wiring import build_mailer, import_handlers
            from workers.processing import process_row
            from workers.relay import claim_due
            from workers.resources import Resources

            get_settings.cache_clear()
            settings = get_settings().model_copy(update={"worker_tenant_share": 1000})
            app = create_app(settings)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                for _ in range(args.messages):
                    assert (await post_signed(client, numbers)).is_success
            await app.state.services.db.dispose()
            import_handlers()
            res = Resources.build(settings, build_mailer(settings))
            statements = harness.StatementCounter(res.db)
            rows = 0
            profiler = Profiler(interval=0.0005, async_mode="enabled")
            began = time.perf_counter()
            profiler.start()
            while True:
                async with res.db.maintenance_session(MaintenanceUse.OUTBOX_RELAY) as s, s.begin():
                    batch = await claim_due(s, settings)
                if not batch:
                    break
                for d in batch:
                    await process_row(res, d.tenant_id, d.row_id)
                    rows += 1
            profiler.stop()
            took = time.perf_counter() - began
            await res.aclose()
            await res.db.dispose()
            replies = len(meta.sends)
        print(
            f"{args.messages} messages answered ({replies} replies at the Graph API) in {took:.2f} s: "
            f"{args.messages / took:.0f} messages/s on one event loop; {rows / args.messages:.1f} outbox "
            f"rows and {statements.count / args.messages:.0f} database statements a message "
            "(BEGIN/COMMIT counted)"
        )
        await harness.print_profile(profiler, args.html)
    finally:
        await harness.drop_scratch(name, data_dir)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--html", help="also write pyinstrument's HTML profile here")
    asyncio.run(main(parser.parse_args()))
