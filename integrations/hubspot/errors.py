"""What the HubSpot adapter raises to its callers (handlers, the API's ports)."""

from __future__ import annotations

from datetime import datetime

from bizzly.outbox import RetryLater

TOPIC_PREFIX = "hubspot."


class RateLimited(RetryLater):
    """The portal's budget is spent (or HubSpot answered 429): a handler lets it propagate, and the
    worker moves this row and the tenant's other ``hubspot.*`` rows to ``at`` -- no other tenant waits."""

    def __init__(self, at: datetime, reason: str = "HubSpot rate limit") -> None:
        super().__init__(at, reason, topic_prefix=TOPIC_PREFIX)


class ConnectionUnavailable(Exception):
    """The tenant has no usable HubSpot connection (none, disconnected, or waiting for a reconnect).

    Its jobs stop: a handler returns without retrying (the owner was alerted when it broke)."""


class HubSpotApiError(Exception):
    """HubSpot refused a call for a reason retrying will not fix (4xx other than 401/429)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HubSpot answered {status}: {message}")
        self.status = status
        self.message = message
