"""A fake GA4 Measurement Protocol: a real HTTP server on 127.0.0.1 (an ephemeral port).

    async with running_ga_fake() as ga:
        settings = make_settings(..., ga_url=ga.url)
        ...
        ga.collected        # every accepted /mp/collect body, with its measurement id and secret

Behaves like GA where the app can tell: ``/mp/collect`` answers 204 whatever the body (GA never reports
errors there) and records only bodies GA would keep; ``/debug/mp/collect`` answers 200 with
``validationMessages`` (fieldPath, description, validationCode) for a missing measurement id or client id,
more than 25 events, bad or reserved event and param names, over-long values. Like GA, the debug endpoint
does not check the API secret; ``/mp/collect`` drops events sent without one.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,39}$")
_RESERVED_EVENTS = {
    "ad_activeview", "ad_click", "ad_exposure", "ad_query", "ad_reward", "adunit_exposure", "app_clear_data",
    "app_exception", "app_install", "app_remove", "app_store_refund", "app_update", "app_upgrade",
    "dynamic_link_app_open", "dynamic_link_app_update", "dynamic_link_first_open", "error", "first_open",
    "first_visit", "in_app_purchase", "notification_dismiss", "notification_foreground", "notification_open",
    "notification_receive", "os_update", "session_start", "screen_view", "user_engagement",
}  # fmt: skip
_RESERVED_PREFIXES = ("_", "firebase_", "ga_", "google_", "gtag.")
MAX_EVENTS = 25
MAX_PARAMS = 25
MAX_VALUE = 100


@dataclass
class Collected:
    measurement_id: str
    api_secret: str
    body: dict[str, Any]


@dataclass
class GaFake:
    url: str = ""
    collected: list[Collected] = field(default_factory=list)
    debug_requests: list[dict[str, Any]] = field(default_factory=list)
    # Event names this stream's debug endpoint flags (a test hook standing in for GA rules the fake does
    # not model, such as ENFORCE_RECOMMENDATIONS checks).
    flagged_events: set[str] = field(default_factory=set)

    def events(self) -> list[dict[str, Any]]:
        """Every collected event with its request's client id (``client_id`` key added)."""
        return [
            {**event, "client_id": c.body.get("client_id")}
            for c in self.collected
            for event in c.body.get("events", [])
        ]

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/mp/collect", self._collect, methods=["POST"]),
                Route("/debug/mp/collect", self._debug, methods=["POST"]),
            ]
        )

    async def _body(self, request: Request) -> dict[str, Any] | None:
        try:
            value = json.loads(await request.body())
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    async def _collect(self, request: Request) -> Response:
        body = await self._body(request)
        mid = request.query_params.get("measurement_id", "")
        secret = request.query_params.get("api_secret", "")
        if body is not None and mid and secret and not validate(mid, body):
            self.collected.append(Collected(measurement_id=mid, api_secret=secret, body=body))
        return Response(status_code=204)

    async def _debug(self, request: Request) -> Response:
        body = await self._body(request)
        mid = request.query_params.get("measurement_id", "")
        if body is None:
            messages = [_message("", "Unable to parse the request body as JSON.", "VALUE_INVALID")]
        else:
            self.debug_requests.append(body)
            messages = validate(mid, body) + [
                _message(f"events[{i}].name", f"Event {e.get('name')!r} is not recommended.", "VALUE_INVALID")
                for i, e in enumerate(body.get("events") or [])
                if isinstance(e, dict) and e.get("name") in self.flagged_events
            ]
        return JSONResponse({"validationMessages": messages})


def _message(path: str, description: str, code: str) -> dict[str, str]:
    return {"fieldPath": path, "description": description, "validationCode": code}


def _name_problem(name: Any, path: str, what: str) -> dict[str, str] | None:
    if not isinstance(name, str) or not _NAME.match(name):
        return _message(path, f"{what} name {name!r} is invalid.", "NAME_INVALID")
    if name.startswith(_RESERVED_PREFIXES) or (what == "Event" and name in _RESERVED_EVENTS):
        return _message(path, f"{what} name {name!r} is reserved.", "NAME_RESERVED")
    return None


def validate(measurement_id: str, body: dict[str, Any]) -> list[dict[str, str]]:
    """GA's debug answer for a body (empty when GA would accept it)."""
    out: list[dict[str, str]] = []
    if not measurement_id:
        out.append(_message("measurement_id", "Measurement ID is required.", "VALUE_REQUIRED"))
    if not isinstance(body.get("client_id"), str) or not body.get("client_id"):
        out.append(_message("client_id", "client_id is required.", "VALUE_REQUIRED"))
    events = body.get("events")
    if not isinstance(events, list) or not events:
        out.append(_message("events", "At least one event is required.", "VALUE_REQUIRED"))
        return out
    if len(events) > MAX_EVENTS:
        out.append(_message("events", f"At most {MAX_EVENTS} events a request.", "EXCEEDED_MAX_ENTITIES"))
    for i, event in enumerate(events):
        if not isinstance(event, dict):
            out.append(_message(f"events[{i}]", "An event is an object.", "VALUE_INVALID"))
            continue
        if (problem := _name_problem(event.get("name"), f"events[{i}].name", "Event")) is not None:
            out.append(problem)
        params = event.get("params", {})
        if not isinstance(params, dict):
            out.append(_message(f"events[{i}].params", "params is an object.", "VALUE_INVALID"))
            continue
        if len(params) > MAX_PARAMS:
            out.append(_message(f"events[{i}].params", "Too many params.", "EXCEEDED_MAX_ENTITIES"))
        for key, value in params.items():
            path = f"events[{i}].params.{key}"
            if (problem := _name_problem(key, path, "Param")) is not None:
                out.append(problem)
            elif isinstance(value, str) and len(value) > MAX_VALUE:
                out.append(_message(path, "Value is too long.", "VALUE_OUT_OF_BOUNDS"))
    return out


@asynccontextmanager
async def running_ga_fake() -> AsyncIterator[GaFake]:
    """Serve the fake in the current event loop on 127.0.0.1 and an ephemeral port."""
    fake = GaFake()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(fake.app(), log_level="warning", lifespan="off", access_log=False))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    fake.url = f"http://127.0.0.1:{port}"
    try:
        yield fake
    finally:
        server.should_exit = True
        await task
        sock.close()
