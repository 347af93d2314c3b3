"""An OpenAI-compatible chat-completions model, for the assistant's free text (the ``LanguageModel`` port).

The model is only asked which tool to call and with which arguments (``tools`` + ``tool_choice=auto``);
what it returns is handed to the assistant's tool layer, which decides. Any failure (HTTP error, timeout,
unreadable answer) raises ``ModelError`` and the assistant falls back to its deterministic help. The
timeout bounds the whole call (connecting, waiting, reading), not each read: a server that trickles bytes
or never answers costs at most ``timeout`` seconds. The model is called through ``GuardedClient`` only, so
a base URL that reaches inside our network is refused again at call time (``ModelError.error``: INVALID on
``baseUrl``), whenever it was saved.

A tenant's model is never asked inside a database transaction: ``integrations.llm.turns`` defers the
question out of the message's transaction and caps the calls a tenant has in flight.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from bizzly.crypto import KeyRing
from bizzly.egress import check_url
from bizzly.errors import DomainError, Invalid
from bizzly.ports import LanguageModel
from domain.assistant.model_config import model_credentials
from integrations.outbound import DestinationRefused, GuardedClient

MAX_ARGUMENTS = 4000


class ModelError(Exception):
    """The model did not answer usably (never carries the key); ``error`` when its URL was refused."""

    def __init__(self, message: str, *, error: DomainError | None = None) -> None:
        super().__init__(message)
        self.error = error


def _refused(error: Invalid) -> ModelError:
    return ModelError(
        f"model base URL refused: {error.message}", error=Invalid(error.message, field="baseUrl")
    )


class OpenAICompatibleModel:
    def __init__(
        self, *, client: GuardedClient, base_url: str, model: str, api_key: str, timeout: float
    ) -> None:
        self.client = client
        self.base_url = base_url
        self.url = f"{base_url.rstrip('/')}/chat/completions"
        self.model = model
        self.api_key = api_key
        self.timeout = timeout

    async def choose_tool(
        self, messages: Sequence[Mapping[str, str]], tools: Sequence[Mapping[str, Any]]
    ) -> Mapping[str, Any] | None:
        body = {"model": self.model, "messages": list(messages), "tools": list(tools), "tool_choice": "auto"}
        try:
            check_url(self.base_url, self.client.policy, field="baseUrl")
        except Invalid as exc:
            raise _refused(exc) from None
        try:
            async with asyncio.timeout(self.timeout):
                response = await self.client.post(
                    self.url,
                    json=body,
                    headers={"Authorization": f"Bearer {self.api_key}"},
                    timeout=self.timeout,
                )
        except TimeoutError:
            raise ModelError(f"model did not answer within {self.timeout:g} s") from None
        except DestinationRefused as exc:
            raise _refused(exc.error) from None
        except httpx.HTTPError as exc:
            raise ModelError(f"model request failed: {type(exc).__name__}") from None
        if response.status_code != 200:
            raise ModelError(f"model answered HTTP {response.status_code}")
        try:
            data = response.json()
            message = data["choices"][0]["message"]
        except (ValueError, KeyError, IndexError, TypeError):
            raise ModelError("model answer is not a chat completion") from None
        calls = message.get("tool_calls") if isinstance(message, dict) else None
        if not calls:
            return None
        function = calls[0].get("function") if isinstance(calls[0], dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise ModelError("model tool call has no name")
        raw = function.get("arguments") or "{}"
        if not isinstance(raw, str) or len(raw) > MAX_ARGUMENTS:
            raise ModelError("model tool call arguments unreadable")
        try:
            arguments = json.loads(raw)
        except ValueError:
            raise ModelError("model tool call arguments are not JSON") from None
        if not isinstance(arguments, dict):
            raise ModelError("model tool call arguments are not an object")
        return {"name": function["name"][:64], "arguments": arguments}


async def tenant_model(
    session: AsyncSession, *, keys: KeyRing, client: GuardedClient, timeout_seconds: float
) -> LanguageModel | None:
    """The tenant's configured model, or None (deterministic understanding only)."""
    found = await model_credentials(session, keys=keys)
    if found is None:
        return None
    return OpenAICompatibleModel(
        client=client,
        base_url=found.base_url,
        model=found.model,
        api_key=found.api_key,
        timeout=timeout_seconds,
    )
