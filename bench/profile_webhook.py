"""Where a signed webhook's time goes: a pyinstrument profile of ``POST /webhooks/whatsapp`` in-process.

The same deployment as ``bench/webhook_ingest.py`` (a scratch PostgreSQL database, the app role under
row-level security, 100 businesses), the app built as ``bizzly serve`` builds it, requests sent through
httpx's ``ASGITransport`` one after another (no network, no load generator), profiled with pyinstrument.
Prints the time per request, the database round trips per request and the profile's text tree.

    .venv/bin/python bench/profile_webhook.py [--requests 500] [--html profile.html]
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
from bench.webhook_ingest import post_signed, seed, server_env  # noqa: E402


async def main(args: argparse.Namespace) -> None:
    from pyinstrument import Profiler

    name = f"bizzly_bench_prof_{os.getpid()}"
    data_dir = await harness.create_scratch(name)
    env = server_env(name, data_dir, broker="redis://127.0.0.1:6379/0", namespace=f"prof{os.getpid()}")
    env["BIZZLY_LOG_LEVEL"] = "WARNING"
    try:
        harness.migrate(env)
        numbers = await seed(env, "http://127.0.0.1:9")
        os.environ.update(env)
        from bizzly.app import create_app
        from bizzly.settings import get_settings

        get_settings.cache_clear()
        app = create_app()
        services = app.state.services
        statements = harness.StatementCounter(services.db)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:

            async def send(n: int) -> None:
                for _ in range(n):
                    response = await post_signed(client, numbers)
                    assert response.status_code == 200, response.text

            await send(200)  # warm: the route cache, the pool, prepared statements
            statements.count = 0
            profiler = Profiler(interval=0.0005, async_mode="enabled")
            began = time.perf_counter()
            profiler.start()
            await send(args.requests)
            profiler.stop()
            took = time.perf_counter() - began
        await services.db.dispose()
        print(
            f"{args.requests} webhooks in {took:.2f} s: {took / args.requests * 1000:.2f} ms each, "
            f"{statements.count / args.requests:.1f} database statements each (BEGIN/COMMIT not counted)"
        )
        await harness.print_profile(profiler, args.html)
    finally:
        await harness.drop_scratch(name, data_dir)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--html", help="also write pyinstrument's HTML profile here")
    asyncio.run(main(parser.parse_args()))
