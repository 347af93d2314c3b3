"""The contact-form throttle: accepted submissions per client address and per tenant in a sliding window.

It counts in the log-in throttle's table and repository (``tenants.repository.LoginFailures``: keyed
timestamps, counted since the window's start, old ones forgotten), under its own ``form-`` key prefix."""

from __future__ import annotations

import math
import uuid
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bizzly import clock
from bizzly.errors import DomainError, ErrorCode
from bizzly.settings import Settings
from tenants.repository import LoginFailures


class FormThrottle:
    def __init__(
        self, session: AsyncSession, *, settings: Settings, tenant_id: uuid.UUID, client_ip: str
    ) -> None:
        self._counts = LoginFailures(session)
        self._now = clock.now()
        self._window = timedelta(minutes=settings.contact_form_window_minutes)
        # Per address across every business (a bot spraying many sites), and per business.
        self._limits = [
            (f"form-ip:{client_ip}", settings.contact_form_per_ip),
            (f"form-tenant:{tenant_id}", settings.contact_form_per_tenant),
        ]

    async def refusal(self) -> DomainError | None:
        """LIMIT_REACHED when the address or the business used up its submissions in the window."""
        since = self._now - self._window
        for key, limit in self._limits:
            count, oldest = await self._counts.recent([key], since)
            if count >= limit:
                retry_at = (oldest or self._now) + self._window
                minutes = max(1, math.ceil((retry_at - self._now).total_seconds() / 60))
                unit = "minute" if minutes == 1 else "minutes"
                return DomainError(
                    ErrorCode.LIMIT_REACHED,
                    f"Too many messages were sent from here. Try again in {minutes} {unit}.",
                )
        return None

    async def accepted(self) -> None:
        keys = [key for key, _ in self._limits]
        for key in keys:
            self._counts.add(key, self._now)
        await self._counts.forget(keys, before=self._now - self._window)
