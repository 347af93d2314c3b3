"""Operations endpoints and the request middleware: request ids, access logs, Prometheus metrics.

``/healthz`` says the process answers (no I/O); ``/readyz`` says it can serve (the database roles it uses
and the broker answer within a short timeout; 503 naming the failed check otherwise); ``/metrics`` is the
Prometheus exposition of :mod:`bizzly.metrics`. These three should be reachable from the orchestrator and
the metrics scraper only (the reverse proxy's job); they show no tenant data and no secrets.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bizzly.db.engine import Database, MaintenanceUse
from bizzly.logs import log_context, request_id_from
from bizzly.metrics import HTTP_LATENCY, HTTP_REQUESTS
from bizzly.settings import Settings

access_log = logging.getLogger("bizzly.access")
log = logging.getLogger("bizzly.health")

REQUEST_ID_HEADER = b"x-request-id"
UNMATCHED = "<unmatched>"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Probes and scrapes arrive every few seconds: counted, but logged only at DEBUG.
_QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


class Observability:
    """Pure ASGI (no task group, so context variables set downstream stay visible here).

    Gives each request an id (the caller's ``X-Request-ID`` when sane, else a new one; echoed in the
    response), opens the log context that carries it and the tenant id, and after the response writes one
    access-log line (method, path without query string, status, duration; never headers or bodies) and
    the request's metrics, labelled by route template so ids in paths never become label values.

    An exception that escapes the app is answered here with a JSON 500 carrying the request id (when no
    response has started) and logged once, with its traceback, on the request's access line.
    """

    def __init__(self, app: ASGIApp, *, routes: Sequence[BaseRoute] = ()) -> None:
        self.app = app
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(_header(scope, REQUEST_ID_HEADER))
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = int(message["status"])
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != REQUEST_ID_HEADER]
                message = {**message, "headers": [*headers, (REQUEST_ID_HEADER, request_id.encode())]}
            await send(message)

        with log_context(request_id=request_id):
            failure: BaseException | None = None
            try:
                await self.app(scope, receive, send_with_id)
            except Exception as exc:
                failure = exc
                if response_started:
                    raise  # too late to answer: the server closes the connection
                await _internal_error(send_with_id, request_id)
            except BaseException as exc:  # cancelled: the client went away or the server is stopping
                failure = exc
                raise
            finally:
                self._record(scope, status, time.perf_counter() - started, failure)

    def _record(self, scope: Scope, status: int, seconds: float, failure: BaseException | None) -> None:
        method = scope.get("method", "GET")
        method = method if method in _METHODS else "OTHER"
        route = self._route_template(scope)
        HTTP_REQUESTS.labels(method=method, route=route, status=str(status)).inc()
        HTTP_LATENCY.labels(method=method, route=route).observe(seconds)
        path = str(scope.get("path", ""))
        if status >= 500 or isinstance(failure, Exception):
            level = logging.ERROR
        elif path in _QUIET_PATHS:
            level = logging.DEBUG
        else:
            level = logging.INFO
        access_log.log(
            level,
            "%s %s %s",
            method,
            path,
            status,
            exc_info=(type(failure), failure, failure.__traceback__) if failure is not None else None,
            extra={
                "method": method,
                "path": path,
                "route": route,
                "status": status,
                "duration_ms": round(seconds * 1000, 2),
            },
        )

    def _route_template(self, scope: Scope) -> str:
        route = scope.get("route")
        if route is None:
            # Refused before routing (413 on a declared length): find the route the request was for.
            for candidate in self.routes:
                match, _ = candidate.matches(scope)
                if match is not Match.NONE:
                    route = candidate
                    break
        path = getattr(route, "path", None)
        return path if isinstance(path, str) and path else UNMATCHED


async def _internal_error(send: Send, request_id: str) -> None:
    body = json.dumps(
        {
            "errors": [
                {
                    "message": "Internal server error.",
                    "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id},
                }
            ]
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 500,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers") or ():
        if key.lower() == name:
            return bytes(value)
    return None


# --- health and readiness -----------------------------------------------------------------------------

Check = Callable[[], Awaitable[None]]


async def check_database(db: Database) -> None:
    """``SELECT 1`` as each role the web process uses: the app role, and the maintenance role if distinct."""
    async with db.public_session() as session:
        await session.execute(text("SELECT 1"))
    if db.maintenance_engine is not db.app_engine:
        async with db.maintenance_session(MaintenanceUse.HEALTH, write=False) as session:
            await session.execute(text("SELECT 1"))


async def check_broker(url: str, *, socket_timeout: float) -> None:
    """The broker answers: Redis ``PING``, an AMQP connection opened and closed; ``memory://`` is the
    in-process stub broker, up while the process is."""
    scheme = url.split(":", 1)[0].lower()
    if scheme == "memory":
        return
    if scheme in {"redis", "rediss"}:
        import redis.asyncio as aioredis

        client = aioredis.Redis.from_url(
            url, socket_connect_timeout=socket_timeout, socket_timeout=socket_timeout
        )
        try:
            await client.ping()
        finally:
            await client.aclose()
        return
    if scheme in {"amqp", "amqps"}:
        await asyncio.to_thread(_amqp_ping, url, socket_timeout)
        return
    raise ValueError(f"unsupported broker scheme {scheme!r}")


def _amqp_ping(url: str, timeout: float) -> None:
    import pika

    params = pika.URLParameters(url)
    params.connection_attempts = 1
    params.retry_delay = 0
    params.socket_timeout = timeout
    params.stack_timeout = timeout
    params.blocked_connection_timeout = timeout
    pika.BlockingConnection(params).close()


class Readiness:
    """Runs the checks concurrently, each under the timeout; concurrent probes share one run, and a result
    is reused for a second, so a flood of probes cannot open a flood of connections."""

    REUSE_SECONDS = 1.0

    def __init__(self, checks: dict[str, Check], *, timeout: float) -> None:
        self.checks = checks
        self.timeout = timeout
        self._lock = asyncio.Lock()
        self._last: tuple[float, dict[str, str]] | None = None

    async def run(self) -> dict[str, str]:
        async with self._lock:
            if self._last is not None and time.monotonic() - self._last[0] < self.REUSE_SECONDS:
                return self._last[1]
            names = list(self.checks)
            outcomes = await asyncio.gather(*(self._one(name) for name in names))
            result = dict(zip(names, outcomes, strict=True))
            self._last = (time.monotonic(), result)
            return result

    async def _one(self, name: str) -> str:
        try:
            async with asyncio.timeout(self.timeout):
                await self.checks[name]()
        except TimeoutError:
            log.warning("readiness check %s timed out after %ss", name, self.timeout, extra={"check": name})
            return "timeout"
        except Exception as exc:  # noqa: BLE001 - any failure means "not ready", with the reason logged
            log.warning("readiness check %s failed: %s", name, exc, extra={"check": name})
            return "failed"
        return "ok"


def operations_routes(settings: Settings, db: Database) -> list[BaseRoute]:
    """``/healthz``, ``/readyz`` and ``/metrics`` for the app's router."""
    timeout = settings.health_timeout_seconds
    readiness = Readiness(
        {
            "database": lambda: check_database(db),
            "broker": lambda: check_broker(settings.broker_url, socket_timeout=timeout),
        },
        timeout=timeout,
    )

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        checks = await readiness.run()
        ready = all(outcome == "ok" for outcome in checks.values())
        body: dict[str, Any] = {"status": "ok" if ready else "unavailable", "checks": checks}
        return JSONResponse(body, status_code=200 if ready else 503, headers={"cache-control": "no-store"})

    async def metrics(request: Request) -> Response:
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
