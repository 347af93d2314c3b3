"""A small httpx client for the GA4 Measurement Protocol: ``/mp/collect`` (GA answers 2xx whatever the
body holds) and ``/debug/mp/collect`` (the same request, answered with validation messages instead)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from bizzly.settings import Settings

# GA's limit per request.
MAX_EVENTS = 25


class GaError(Exception):
    """GA could not be reached or answered with an HTTP error (no secrets in the message)."""


@dataclass(frozen=True)
class ValidationMessage:
    field_path: str
    description: str
    code: str

    def short(self) -> str:
        where = f"{self.field_path}: " if self.field_path else ""
        return f"{where}{self.description} ({self.code})"


class MeasurementProtocol:
    def __init__(self, settings: Settings, *, timeout: float = 10.0) -> None:
        self.http = httpx.AsyncClient(base_url=settings.ga_url.rstrip("/"), timeout=timeout)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def _post(
        self, path: str, measurement_id: str, api_secret: str, body: Mapping[str, Any]
    ) -> httpx.Response:
        try:
            response = await self.http.post(
                path, params={"measurement_id": measurement_id, "api_secret": api_secret}, json=body
            )
        except httpx.HTTPError as exc:
            raise GaError(f"Google Analytics could not be reached ({type(exc).__name__}).") from exc
        if response.status_code >= 300:
            raise GaError(f"Google Analytics answered HTTP {response.status_code}.")
        return response

    async def collect(
        self, measurement_id: str, api_secret: str, client_id: str, events: Sequence[Mapping[str, Any]]
    ) -> None:
        """Send events for one client id, at most ``MAX_EVENTS`` a request."""
        for start in range(0, len(events), MAX_EVENTS):
            body = {"client_id": client_id, "events": list(events[start : start + MAX_EVENTS])}
            await self._post("/mp/collect", measurement_id, api_secret, body)

    async def validate(
        self, measurement_id: str, api_secret: str, body: Mapping[str, Any]
    ) -> list[ValidationMessage]:
        response = await self._post("/debug/mp/collect", measurement_id, api_secret, body)
        try:
            data = response.json()
        except ValueError as exc:
            raise GaError("Google Analytics answered the check with something other than JSON.") from exc
        messages = data.get("validationMessages", []) if isinstance(data, dict) else []
        return [
            ValidationMessage(
                field_path=str(m.get("fieldPath", "")),
                description=str(m.get("description", "")),
                code=str(m.get("validationCode", "")),
            )
            for m in messages
            if isinstance(m, dict)
        ]
