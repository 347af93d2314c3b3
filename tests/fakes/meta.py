"""A fake of Meta's Graph API for WhatsApp: a real HTTP server on 127.0.0.1 (an ephemeral port).

It checks the bearer token of every call, checks template sends against the approved templates it holds
(AUTHENTICATION ones as Meta documents them: the code as the body's one parameter and as the copy-code
button's, ``sub_type: url``, ``index: "0"``), records sends, answers with Meta's response and error shapes,
can be told to fail (``fail_next``: throttling 130429, 5xx, an expired token 190, the 24-hour window
131047) and builds and posts signed webhooks (messages, interactive replies, statuses) to the app under test.

    async with running_meta_fake() as meta:
        meta.add_number("1065", token="tok", waba_id="1022")
        settings = settings.model_copy(update={"whatsapp_graph_url": meta.url})
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

# Meta's error answers, by what a test asks for: (HTTP status, code, message).
FAILURES: dict[str, tuple[int, int, str]] = {
    "throttle": (400, 130429, "Rate limit hit"),
    "pair": (400, 131056, "(Business Account, Consumer Account) pair rate limit hit"),
    "http429": (429, 4, "Application request limit reached"),
    "server": (503, 2, "Service temporarily unavailable"),
    "token": (401, 190, "Error validating access token: Session has expired"),
    "window": (400, 131047, "Re-engagement message"),
    "invalid": (400, 100, "Invalid parameter"),
}


@dataclass(frozen=True)
class Template:
    """An approved message template as Meta holds it. AUTHENTICATION templates have Meta's fixed body
    (``<code> is your verification code.``) and a copy-code button, so a send fills exactly one body
    parameter and the button (``sub_type: url``, ``index: "0"``) with the same code; others fill
    ``body_params`` body parameters."""

    name: str
    category: str = "UTILITY"
    language: str = "en_US"
    body_params: int = 0


# The templates a Bizzly business creates (docs/whatsapp.md): the booking notices and the one-time code.
BIZZLY_TEMPLATES = (
    Template("bizzly_booking_confirmed", body_params=3),
    Template("bizzly_booking_reminder", body_params=3),
    Template("bizzly_booking_cancelled", body_params=3),
    Template("bizzly_booking_rescheduled", body_params=3),
    Template("bizzly_otp", category="AUTHENTICATION", body_params=1),
)
# Meta's refusals of a template send.
TEMPLATE_PARAMS = (400, 132000, "Number of parameters does not match the expected number of params")
TEMPLATE_MISSING = (404, 132001, "Template name does not exist in the translation")
AUTH_CODE_MAX = 15


def _texts(component: dict[str, Any]) -> list[str] | None:
    """The text parameters of a component, or None when any parameter is not ``{type: text, text: str}``."""
    params = component.get("parameters")
    if not isinstance(params, list):
        return None
    texts = [
        p["text"]
        for p in params
        if isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("text"), str) and p["text"]
    ]
    return texts if len(texts) == len(params) else None


def template_refusal(template: Template | None, body: dict[str, Any]) -> tuple[int, int, str] | None:
    """Why Meta would refuse this ``type: template`` send (None: it is accepted)."""
    spec = body.get("template")
    if not isinstance(spec, dict) or template is None:
        return TEMPLATE_MISSING
    language = spec.get("language")
    if not isinstance(language, dict) or language.get("code") != template.language:
        return TEMPLATE_MISSING
    components = spec.get("components") or []
    if not isinstance(components, list) or not all(isinstance(c, dict) for c in components):
        return TEMPLATE_PARAMS
    bodies = [c for c in components if c.get("type") == "body"]
    buttons = [c for c in components if c.get("type") == "button"]
    body_texts = _texts(bodies[0]) if len(bodies) == 1 else ([] if not bodies else None)
    if template.category == "AUTHENTICATION":
        # The code goes in twice: the body's one parameter and the copy-code button's (Meta's documented
        # send; a missing button parameter is the usual cause of codes that never arrive).
        if len(components) != 2 or body_texts is None or len(body_texts) != 1 or len(buttons) != 1:
            return TEMPLATE_PARAMS
        button = buttons[0]
        button_texts = _texts(button)
        if button.get("sub_type") != "url" or str(button.get("index")) != "0" or button_texts != body_texts:
            return TEMPLATE_PARAMS
        if len(body_texts[0]) > AUTH_CODE_MAX:
            return TEMPLATE_PARAMS
        return None
    if buttons or body_texts is None or len(body_texts) != template.body_params:
        return TEMPLATE_PARAMS
    return None


@dataclass
class Number:
    phone_number_id: str
    token: str
    waba_id: str
    display: str = "15550001111"
    name: str = "Test Business"


@dataclass
class Send:
    phone_number_id: str
    wamid: str
    body: dict[str, Any]

    @property
    def to(self) -> str:
        return str(self.body.get("to"))

    @property
    def text(self) -> str | None:
        text = self.body.get("text")
        return text.get("body") if isinstance(text, dict) else None


@dataclass
class MetaFake:
    url: str = ""
    numbers: dict[str, Number] = field(default_factory=dict)
    sends: list[Send] = field(default_factory=list)
    subscribed: list[str] = field(default_factory=list)
    # Answers queued for the next send calls (a failure name from FAILURES each).
    failures: list[str] = field(default_factory=list)
    calls: int = 0
    # Seconds the next send calls hang before Meta takes them (a caller that gave up meanwhile sent nothing).
    delays: list[float] = field(default_factory=list)
    # Approved templates by name; a send of any other is refused as Meta does (132001).
    templates: dict[str, Template] = field(default_factory=lambda: {t.name: t for t in BIZZLY_TEMPLATES})
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    # -- set-up --------------------------------------------------------------------------------------

    def add_number(
        self,
        phone_number_id: str,
        *,
        token: str,
        waba_id: str,
        display: str = "15550001111",
        name: str = "Test",
    ) -> Number:
        number = Number(phone_number_id, token, waba_id, display, name)
        self.numbers[phone_number_id] = number
        return number

    def add_template(
        self, name: str, *, category: str = "UTILITY", language: str = "en_US", body_params: int = 0
    ) -> Template:
        template = Template(name, category, language, 1 if category == "AUTHENTICATION" else body_params)
        self.templates[name] = template
        return template

    def fail_next(self, kind: str, times: int = 1) -> None:
        if kind not in FAILURES:
            raise ValueError(f"unknown failure {kind!r}")
        self.failures.extend([kind] * times)

    def expire_token(self, phone_number_id: str) -> None:
        self.numbers[phone_number_id].token = "expired-" + self.numbers[phone_number_id].token

    def new_wamid(self) -> str:
        return f"wamid.FAKE{next(self._ids):08d}"

    # -- the HTTP side --------------------------------------------------------------------------------

    @staticmethod
    def _error(status: int, code: int, message: str) -> JSONResponse:
        return JSONResponse(
            {"error": {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AbCdEf"}},
            status_code=status,
        )

    def _authorized(self, request: Request, number: Number | None) -> bool:
        given = request.headers.get("authorization", "")
        if number is not None:
            return given == f"Bearer {number.token}"
        return any(given == f"Bearer {n.token}" for n in self.numbers.values())

    async def _phone(self, request: Request) -> JSONResponse:
        self.calls += 1
        number = self.numbers.get(request.path_params["object_id"])
        if number is None:
            if not self._authorized(request, None):
                return self._error(401, 190, "Invalid OAuth access token.")
            return self._error(400, 100, "Unsupported get request. Object does not exist")
        if not self._authorized(request, number):
            return self._error(401, 190, "Error validating access token")
        return JSONResponse(
            {
                "verified_name": number.name,
                "display_phone_number": number.display,
                "id": number.phone_number_id,
                "quality_rating": "GREEN",
            }
        )

    async def _subscribe(self, request: Request) -> JSONResponse:
        self.calls += 1
        waba = request.path_params["object_id"]
        owners = [n for n in self.numbers.values() if n.waba_id == waba]
        if not owners or not any(self._authorized(request, n) for n in owners):
            return self._error(401, 190, "Error validating access token")
        self.subscribed.append(waba)
        return JSONResponse({"success": True})

    async def _messages(self, request: Request) -> JSONResponse:
        self.calls += 1
        number = self.numbers.get(request.path_params["object_id"])
        if number is None or not self._authorized(request, number):
            return self._error(401, 190, "Error validating access token")
        try:
            body = await request.json()
        except ValueError:
            return self._error(400, 100, "Invalid JSON")
        if self.delays:
            await asyncio.sleep(self.delays.pop(0))
            if await request.is_disconnected():
                return self._error(503, 2, "Service temporarily unavailable")
        if self.failures:
            status, code, message = FAILURES[self.failures.pop(0)]
            return self._error(status, code, message)
        if body.get("messaging_product") != "whatsapp" or not body.get("to") or not body.get("type"):
            return self._error(400, 100, "Invalid parameter")
        if body["type"] == "template":
            spec = body.get("template")
            name = spec.get("name") if isinstance(spec, dict) else None
            refused = template_refusal(self.templates.get(str(name)), body)
            if refused is not None:
                return self._error(*refused)
        wamid = self.new_wamid()
        self.sends.append(Send(number.phone_number_id, wamid, body))
        return JSONResponse(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": body["to"], "wa_id": body["to"]}],
                "messages": [{"id": wamid, "message_status": "accepted"}],
            }
        )

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/{version}/{object_id}", self._phone, methods=["GET"]),
                Route("/{version}/{object_id}/subscribed_apps", self._subscribe, methods=["POST"]),
                Route("/{version}/{object_id}/messages", self._messages, methods=["POST"]),
            ]
        )

    # -- webhooks to the app ---------------------------------------------------------------------------

    @staticmethod
    def sign(secret: str, raw: bytes) -> str:
        return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()

    async def post_webhook(
        self,
        client: httpx.AsyncClient,
        payload: dict[str, Any] | bytes,
        *,
        secret: str,
        path: str = "/webhooks/whatsapp",
    ) -> httpx.Response:
        """Post a webhook signed with ``secret`` over its exact bytes, as Meta does."""
        raw = payload if isinstance(payload, bytes) else encode(payload)
        return await client.post(
            path,
            content=raw,
            headers={"content-type": "application/json", "x-hub-signature-256": self.sign(secret, raw)},
        )


def encode(payload: dict[str, Any]) -> bytes:
    # Meta sends non-ASCII escaped (``\\u00e9``) and ``/`` escaped; the signature is over these bytes.
    return json.dumps(payload).replace("/", "\\/").encode()


def envelope(phone_number_id: str, value: dict[str, Any], *, waba_id: str = "1022") -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": waba_id,
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "15550001111",
                                "phone_number_id": phone_number_id,
                            },
                            **value,
                        },
                    }
                ],
            }
        ],
    }


def text_message(
    phone_number_id: str,
    *,
    wa_id: str | None,
    text: str,
    wamid: str,
    name: str = "Ada",
    user_id: str | None = None,
    timestamp: int = 1_760_000_000,
) -> dict[str, Any]:
    contact: dict[str, Any] = {"profile": {"name": name}}
    if wa_id:
        contact["wa_id"] = wa_id
    if user_id:
        contact["user_id"] = user_id
    message: dict[str, Any] = {
        "from": wa_id or user_id,
        "id": wamid,
        "timestamp": str(timestamp),
        "type": "text",
        "text": {"body": text},
    }
    return envelope(phone_number_id, {"contacts": [contact], "messages": [message]})


def interactive_reply(
    phone_number_id: str, *, wa_id: str, reply_id: str, title: str, wamid: str, kind: str = "button_reply"
) -> dict[str, Any]:
    message = {
        "from": wa_id,
        "id": wamid,
        "timestamp": "1760000100",
        "type": "interactive",
        "interactive": {"type": kind, kind: {"id": reply_id, "title": title}},
    }
    return envelope(
        phone_number_id, {"contacts": [{"profile": {"name": "Ada"}, "wa_id": wa_id}], "messages": [message]}
    )


def media_message(
    phone_number_id: str, *, wa_id: str, kind: str, media_id: str, wamid: str
) -> dict[str, Any]:
    message = {
        "from": wa_id,
        "id": wamid,
        "timestamp": "1760000200",
        "type": kind,
        kind: {"id": media_id, "mime_type": "audio/ogg", "sha256": "abc", "voice": kind == "audio"},
    }
    return envelope(
        phone_number_id, {"contacts": [{"profile": {"name": "Ada"}, "wa_id": wa_id}], "messages": [message]}
    )


def status_update(
    phone_number_id: str,
    *,
    wamid: str,
    status: str,
    recipient: str = "447700900123",
    timestamp: int = 1_760_000_300,
    error_code: int | None = None,
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": wamid,
        "status": status,
        "timestamp": str(timestamp),
        "recipient_id": recipient,
    }
    if error_code is not None:
        item["errors"] = [{"code": error_code, "title": "Failure", "error_data": {"details": "It failed."}}]
    return envelope(phone_number_id, {"statuses": [item]})


@asynccontextmanager
async def running_meta_fake() -> AsyncIterator[MetaFake]:
    """Serve the fake in the current event loop on 127.0.0.1 and an ephemeral port."""
    fake = MetaFake()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(fake.app(), log_level="warning", lifespan="off", access_log=False)
    server = uvicorn.Server(config)
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
