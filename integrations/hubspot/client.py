"""One HubSpot client per connected portal, reused, behind the portal's shared request budget.

    portal = await portals_of(ctx).for_tenant(ctx.tenant_id)   # ConnectionUnavailable if not connected
    page = await portal.call(lambda hs: hs.crm.contacts.basic_api.get_page(limit=100))
    found = await portal.call(lambda hs: hs.crm.contacts.search_api.do_search(request), search=True)

``call`` runs the (sync) SDK in a thread after taking a slot of the portal's budget (and of the search
budget with ``search=True``); it waits for a slot when one frees up soon, else raises ``RateLimited`` (a
``RetryLater`` for the tenant's ``hubspot.*`` rows). A 429 from HubSpot raises ``RateLimited`` too -- it is
not retried in place, so a portal's backlog never spins. A 401 refreshes the token and tries once more; a
second 401 marks the connection ``needs_reauth`` (see ``tokens``).

The SDK's urllib3 retries are set for 5xx only, on every method (urllib3 skips POST by default: HubSpot's
search and batch calls are POSTs); 429 is ours to handle, as above.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import TypeVar

from hubspot import HubSpot
from urllib3.util.retry import Retry

from bizzly import clock
from bizzly.crypto import KeyRing
from bizzly.db.engine import Database
from bizzly.settings import Settings
from bizzly.tasks import TaskContext
from domain.connections.models import ConnectionStatus, Provider
from domain.connections.service import config_of, live_connection
from integrations.hubspot import budget
from integrations.hubspot.errors import ConnectionUnavailable, HubSpotApiError, RateLimited
from integrations.hubspot.oauth import HubSpotOAuth
from integrations.hubspot.tokens import AccessToken, current_token, fresh, mark_needs_reauth

T = TypeVar("T")

# Wait in place for a budget slot up to this long; beyond it the work is pushed back (RetryLater).
MAX_WAIT_SECONDS = 2.0
# Concurrent requests per portal from one event loop, and the threads the sync SDK runs in (shared by the
# loop's portals, so one portal's backlog never takes another's threads).
IN_FLIGHT_PER_PORTAL = 4
SDK_THREADS = 32


def _retry() -> Retry:
    return Retry(
        total=3,
        backoff_factor=0.5,
        status_forcelist=(500, 502, 503, 504),
        allowed_methods=None,
        respect_retry_after_header=True,
        raise_on_status=False,
    )


def _status_of(exc: BaseException) -> int | None:
    # Each SDK sub-package has its own ApiException class; all carry ``status``.
    status = getattr(exc, "status", None)
    return status if isinstance(status, int) else None


def _message_of(exc: BaseException) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, str | bytes):
        try:
            data = json.loads(body)
            if isinstance(data, dict) and data.get("message"):
                return str(data["message"])[:300]
        except ValueError:
            pass
    return type(exc).__name__


class HubSpotPortal:
    """A tenant's connected portal: its SDK client (rebuilt only when the token changes) and budget."""

    def __init__(
        self,
        portals: HubSpotPortals,
        *,
        tenant_id: uuid.UUID,
        connection_id: uuid.UUID,
        portal_id: str,
    ) -> None:
        self.portals = portals
        self.tenant_id = tenant_id
        self.connection_id = connection_id
        self.portal_id = portal_id
        self._token: AccessToken | None = None
        self._client: HubSpot | None = None
        self._token_lock = asyncio.Lock()
        # A slot is taken only when the request can go out at once: a request that queued for a thread after
        # taking its slot would reach HubSpot later than the budget counted it, and bunch up with the next.
        self._in_flight = asyncio.Semaphore(IN_FLIGHT_PER_PORTAL)

    @property
    def settings(self) -> Settings:
        return self.portals.settings

    async def access_token(self, *, rejected: str | None = None) -> AccessToken:
        async with self._token_lock:  # one refresh per event loop; the row lock does it across processes
            if rejected is None and fresh(self._token):
                assert self._token is not None
                return self._token
            if rejected is not None and self._token is not None and self._token.value != rejected:
                return self._token
            self._token = await current_token(
                self.portals.db,
                self.portals.keys,
                self.portals.oauth,
                tenant_id=self.tenant_id,
                connection_id=self.connection_id,
                rejected=rejected,
            )
            self._client = None
            return self._token

    def _sdk(self, token: AccessToken) -> HubSpot:
        if self._client is None or self._token is not token:
            self._client = HubSpot(
                access_token=token.value, host=self.settings.hubspot_api_url.rstrip("/"), retry=_retry()
            )
        return self._client

    async def _slot(self, kind: str, limit: int, window: float) -> float:
        """Wait for a slot of the budget ``kind`` (returns its stamp), or raise ``RateLimited``."""
        waited = 0.0
        while True:
            wait, stamp = await budget.take_slot(
                self.portals.db,
                tenant_id=self.tenant_id,
                portal_id=self.portal_id,
                kind=kind,
                limit=limit,
                window=window,
            )
            if wait <= 0:
                return stamp
            if waited + wait > MAX_WAIT_SECONDS:
                raise RateLimited(clock.now() + timedelta(seconds=wait), "HubSpot request budget spent")
            waited += wait
            await asyncio.sleep(wait)

    async def _settle(self, kind: str, stamp: float) -> None:
        await budget.settle(
            self.portals.db, tenant_id=self.tenant_id, portal_id=self.portal_id, kind=kind, granted=stamp
        )

    async def call(self, fn: Callable[[HubSpot], T], *, search: bool = False) -> T:
        """Run ``fn(sdk_client)`` in a thread within the portal's budget (see the module's doc)."""
        rejected: str | None = None
        for attempt in range(2):
            token = await self.access_token(rejected=rejected)
            client = self._sdk(token)
            try:
                async with self._in_flight:
                    stamps: list[tuple[str, float]] = []
                    if search:
                        limit = self.settings.hubspot_search_rate_per_second
                        stamps.append((budget.SEARCH, await self._slot(budget.SEARCH, limit, 1.0)))
                    window = self.settings.hubspot_rate_window_seconds
                    limit = self.settings.hubspot_rate_limit
                    stamps.append((budget.API, await self._slot(budget.API, limit, window)))
                    loop = asyncio.get_running_loop()
                    try:
                        return await loop.run_in_executor(self.portals.executor, fn, client)
                    finally:
                        for kind, stamp in stamps:
                            await self._settle(kind, stamp)
            except RateLimited:
                raise
            except Exception as exc:
                status = _status_of(exc)
                if status == 429:
                    kind = (
                        budget.SEARCH
                        if search and "SECONDLY" in str(getattr(exc, "body", ""))
                        else budget.API
                    )
                    limit = (
                        self.settings.hubspot_search_rate_per_second
                        if kind == budget.SEARCH
                        else self.settings.hubspot_rate_limit
                    )
                    await budget.saturate(
                        self.portals.db,
                        tenant_id=self.tenant_id,
                        portal_id=self.portal_id,
                        kind=kind,
                        limit=limit,
                    )
                    at = clock.now() + timedelta(seconds=self.settings.hubspot_rate_window_seconds)
                    raise RateLimited(at, "HubSpot answered 429") from exc
                if status == 401:
                    if attempt == 0:
                        rejected = token.value
                        continue
                    await mark_needs_reauth(
                        self.portals.db,
                        self.portals.keys,
                        self.tenant_id,
                        self.connection_id,
                        "HubSpot refused a fresh access token (401).",
                    )
                    self.portals.forget(self.tenant_id)
                    raise ConnectionUnavailable("HubSpot refused the access token.") from exc
                if status is not None and 400 <= status < 500:
                    raise HubSpotApiError(status, _message_of(exc)) from exc
                raise
        raise AssertionError("unreachable")  # pragma: no cover


class HubSpotPortals:
    """Every portal this event loop talks to (``TaskContext.shared`` keeps one per worker loop)."""

    def __init__(self, settings: Settings, db: Database, keys: KeyRing) -> None:
        self.settings = settings
        self.db = db
        self.keys = keys
        self.oauth = HubSpotOAuth(settings, db, keys)
        self.executor = ThreadPoolExecutor(max_workers=SDK_THREADS, thread_name_prefix="hubspot")
        self._by_tenant: dict[uuid.UUID, HubSpotPortal] = {}

    async def aclose(self) -> None:
        """``TaskContext.shared`` objects with ``aclose`` are closed with their event loop."""
        self._by_tenant.clear()
        self.executor.shutdown(wait=False)

    def forget(self, tenant_id: uuid.UUID) -> None:
        self._by_tenant.pop(tenant_id, None)

    async def for_tenant(self, tenant_id: uuid.UUID) -> HubSpotPortal:
        """The tenant's connected portal (re-read each time: a reconnect or a disconnect shows at once)."""
        async with self.db.tenant_session(tenant_id, write=False) as session:
            connection = await live_connection(session, provider=Provider.HUBSPOT)
            if connection is None or connection.status not in (
                ConnectionStatus.CONNECTED,
                ConnectionStatus.ERROR,
            ):
                self.forget(tenant_id)
                raise ConnectionUnavailable("HubSpot is not connected.")
            portal_id = str(config_of(connection).get("portal_id") or "")
            connection_id = connection.id
        known = self._by_tenant.get(tenant_id)
        if known is None or known.connection_id != connection_id:
            known = self._by_tenant[tenant_id] = HubSpotPortal(
                self, tenant_id=tenant_id, connection_id=connection_id, portal_id=portal_id
            )
        return known


def portals_of(ctx: TaskContext) -> HubSpotPortals:
    """The worker loop's ``HubSpotPortals`` (one per loop, made on first use)."""
    return ctx.shared("hubspot.portals", lambda: HubSpotPortals(ctx.settings, ctx.db, ctx.keys))
