"""An async client for the parts of Meta's WhatsApp Cloud API that Bizzly uses (httpx).

Errors come back as ``GraphError`` with Meta's ``error.code`` and the HTTP status, so callers decide how to
retry from the code (docs/design.md section 5), never from the message text.
"""

from __future__ import annotations

from typing import Any

import httpx

from bizzly.settings import Settings

TIMEOUT = httpx.Timeout(10.0, connect=5.0)


class GraphError(Exception):
    """A refusal or failure from the Graph API (or the network, with ``status`` 0 and ``code`` None)."""

    def __init__(self, status: int, code: int | None, message: str, *, retry_after: float | None = None):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after

    @property
    def short(self) -> str:
        """For logs and staff: code and Meta's message, no request data."""
        return f"Meta error {self.code if self.code is not None else self.status}: {self.message}"[:300]


class CloudApi:
    def __init__(self, settings: Settings, *, client: httpx.AsyncClient | None = None) -> None:
        self.base = f"{settings.whatsapp_graph_url.rstrip('/')}/{settings.whatsapp_api_version}"
        self._client = client or httpx.AsyncClient(timeout=TIMEOUT)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _call(
        self, method: str, path: str, token: str, *, json: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        try:
            response = await self._client.request(
                method, f"{self.base}/{path}", json=json, headers={"Authorization": f"Bearer {token}"}
            )
        except httpx.HTTPError as exc:
            raise GraphError(0, None, f"network error: {type(exc).__name__}") from exc
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.is_success and isinstance(body, dict):
            return body
        error = body.get("error") if isinstance(body, dict) else None
        code = error.get("code") if isinstance(error, dict) else None
        message = error.get("message") if isinstance(error, dict) else None
        retry_after: float | None = None
        header = response.headers.get("retry-after")
        if header and header.isdigit():
            retry_after = float(header)
        raise GraphError(
            response.status_code,
            code if isinstance(code, int) else None,
            str(message or response.reason_phrase or "unexpected answer")[:300],
            retry_after=retry_after,
        )

    async def phone_number(self, phone_number_id: str, token: str) -> dict[str, Any]:
        """``GET /{version}/{phone_number_id}``: the number's display number and verified name."""
        return await self._call("GET", phone_number_id, token)

    async def subscribe_app(self, waba_id: str, token: str) -> None:
        """``POST /{version}/{waba_id}/subscribed_apps``: deliver the account's webhooks to the app."""
        await self._call("POST", f"{waba_id}/subscribed_apps", token)

    async def send(self, phone_number_id: str, token: str, payload: dict[str, Any]) -> str:
        """``POST /{version}/{phone_number_id}/messages``; returns the new message's wamid."""
        body = await self._call("POST", f"{phone_number_id}/messages", token, json=payload)
        messages = body.get("messages")
        if isinstance(messages, list) and messages and isinstance(messages[0], dict):
            wamid = messages[0].get("id")
            if isinstance(wamid, str):
                return wamid
        raise GraphError(200, None, "no message id in Meta's answer")
