"""What the inner layers need from the outside world. Adapters in ``integrations/`` implement these;
``bizzly.app`` wires them in."""

from __future__ import annotations

import uuid
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


@dataclass(frozen=True)
class CheckResult:
    """What a provider said about a connection's credentials.

    ``needs_reauth``: the credentials were refused (expired or revoked token); ``field``: the input the
    problem is about (e.g. ``phoneNumberId``), when one is; ``error``: a short message for staff, no secrets.
    """

    ok: bool
    display_name: str = ""
    error: str | None = None
    needs_reauth: bool = False
    field: str | None = None


class ConnectionChecker(Protocol):
    """Checks one provider's connection against the provider (``testConnection``, and before saving).

    ``setup=True`` (on connect) also does the provider's one-time set-up, such as subscribing a WhatsApp
    business account to the app. One checker per provider, keyed by ``Provider`` value in ``AppServices``."""

    async def check(
        self, config: Mapping[str, Any], secrets: Mapping[str, str], *, setup: bool = False
    ) -> CheckResult: ...


class OAuthStarter(Protocol):
    """Starts a provider's OAuth install (HubSpot): returns the URL to send the staff member to, with a
    signed, single-use ``state`` bound to the tenant and to them. Raises ``DomainError`` (``UNAVAILABLE``)
    when the platform's app is not configured."""

    async def start(self, *, tenant_id: uuid.UUID, user_id: uuid.UUID) -> str: ...
