"""A portal's request budget, shared by every worker process: a rolling window kept in the database.

Each request takes a slot by updating the portal's ``HubSpotRateWindow`` row under its row lock
(``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's writers are serialised by ``BEGIN IMMEDIATE``). A row
holds the times of the requests still inside the window, so no rolling window ever sees more than the
limit -- unlike a token bucket, which allows twice the limit across a window edge. Times are wall-clock
seconds (``time.time``): they are compared across processes.
"""

from __future__ import annotations

import json
import time
import uuid

from sqlalchemy.exc import IntegrityError

from bizzly.db.engine import Database
from integrations.hubspot.models import HubSpotRateWindow
from integrations.hubspot.repository import RateWindows

API = "api"
SEARCH = "search"


async def take_slot(
    db: Database, *, tenant_id: uuid.UUID, portal_id: str, kind: str, limit: int, window: float
) -> tuple[float, float]:
    """Take one request slot: ``(0.0, stamp)`` when granted, else ``(seconds until one frees up, 0.0)``.

    The slot is stamped with the time it was granted; ``settle`` moves the stamp to when the answer came,
    because HubSpot counts the request when it arrives -- later than we granted it, by a delay that varies."""
    for _ in range(2):  # a second pass only when two processes created the row at the same moment
        try:
            async with db.tenant_session(tenant_id, write=True) as session, session.begin():
                windows = RateWindows(session)
                row = await windows.locked(tenant_id=tenant_id, portal_id=portal_id, kind=kind)
                if row is None:
                    row = HubSpotRateWindow(tenant_id=tenant_id, portal_id=portal_id, kind=kind, stamps="[]")
                    windows.add(row)
                now = time.time()
                stamps = [float(s) for s in json.loads(row.stamps or "[]") if float(s) > now - window]
                if len(stamps) >= limit:
                    return max(sorted(stamps)[len(stamps) - limit] + window - now, 0.001), 0.0
                stamp = round(now, 4)
                stamps.append(stamp)
                row.stamps = json.dumps([round(s, 4) for s in stamps])
                return 0.0, stamp
        except IntegrityError:
            continue
    return 0.01, 0.0


async def saturate(db: Database, *, tenant_id: uuid.UUID, portal_id: str, kind: str, limit: int) -> None:
    """HubSpot answered 429: count the window as full from now on, so every process holds off."""
    async with db.tenant_session(tenant_id, write=True) as session, session.begin():
        row = await RateWindows(session).locked(tenant_id=tenant_id, portal_id=portal_id, kind=kind)
        if row is not None:
            row.stamps = json.dumps([round(time.time(), 4)] * limit)


async def settle(db: Database, *, tenant_id: uuid.UUID, portal_id: str, kind: str, granted: float) -> None:
    """The request granted at ``granted`` is answered: its slot counts from now (see ``take_slot``)."""
    async with db.tenant_session(tenant_id, write=True) as session, session.begin():
        row = await RateWindows(session).locked(tenant_id=tenant_id, portal_id=portal_id, kind=kind)
        if row is None:
            return
        stamps = [float(s) for s in json.loads(row.stamps or "[]")]
        if granted in stamps:
            stamps[stamps.index(granted)] = round(time.time(), 4)
            row.stamps = json.dumps(sorted(stamps))
