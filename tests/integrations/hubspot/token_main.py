"""One worker process that needs a tenant's HubSpot access token (run by test_tokens.py).

    python -m tests.integrations.hubspot.token_main <tenant uuid> <start at (epoch seconds)>

Settings come from BIZZLY_* variables. Waits until the start time (so that several processes ask at the
same moment), then prints the access token it got.
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid

from bizzly.crypto import KeyRing
from bizzly.db.engine import Database
from bizzly.settings import Settings
from bizzly.wiring import import_handlers
from integrations.hubspot.client import HubSpotPortals


async def main(tenant_id: uuid.UUID, start_at: float) -> None:
    import_handlers()  # as every worker process does: the whole metadata
    settings = Settings()
    db = Database(settings)
    try:
        portals = HubSpotPortals(settings, db, KeyRing(settings.key_ring()))
        portal = await portals.for_tenant(tenant_id)
        await asyncio.sleep(max(start_at - time.time(), 0))
        token = await portal.access_token()
        print(token.value, flush=True)
    finally:
        await db.dispose()


if __name__ == "__main__":
    asyncio.run(main(uuid.UUID(sys.argv[1]), float(sys.argv[2])))
