"""What the inner layers need from the outside world. Adapters in ``integrations/`` implement these;
``bizzly.app`` wires them in."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class EmailMessage:
    to: str
    subject: str
    text: str


class Mailer(Protocol):
    async def send(self, message: EmailMessage) -> None: ...


@dataclass(frozen=True)
class OutboundMessage:
    """A channel message: text, optional choices (rendered as buttons or a list), or a template."""

    to: str
    text: str
    choices: Sequence[tuple[str, str]] = ()
    template: str | None = None
    template_params: Sequence[str] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)


class MessageSender(Protocol):
    async def send(self, message: OutboundMessage) -> str:
        """Send and return the provider's message id."""
        ...


class CrmSync(Protocol):
    async def upsert_contacts(self, contacts: Sequence[Mapping[str, Any]]) -> Sequence[str]: ...


class AnalyticsSink(Protocol):
    async def send_events(self, client_id: str, events: Sequence[Mapping[str, Any]]) -> None: ...


class LanguageModel(Protocol):
    async def choose_tool(
        self, messages: Sequence[Mapping[str, str]], tools: Sequence[Mapping[str, Any]]
    ) -> Mapping[str, Any] | None: ...
