"""Log-in throttling, shared by staff and customer log-ins.

Failures are counted per account key (a keyed digest of the email, never the email itself) and per client
address in a sliding window; past the limit every attempt is refused until the window moves on.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bizzly import clock
from bizzly.crypto import KeyRing
from bizzly.errors import DomainError, ErrorCode
from bizzly.settings import Settings
from tenants.repository import LoginFailures

# A client address may fail this many times more than one account before it is refused: an office or a
# shared network has several people logging in.
IP_FAILURE_FACTOR = 4


class LoginThrottle:
    def __init__(
        self,
        session: AsyncSession,
        *,
        settings: Settings,
        keys: KeyRing,
        purpose: str,
        scope: str,
        email: str,
        client_ip: str,
    ) -> None:
        self._failures = LoginFailures(session)
        self._limit = settings.login_max_failures
        self._now = clock.now()
        self._window = timedelta(minutes=settings.login_window_minutes)
        # Digests under every key of the ring, so a rotation does not reset anyone's count.
        self._account_keys = [f"{scope}:{d}" for d in keys.digests(purpose, email)]
        self._ip_key = f"ip:{client_ip}"

    @property
    def _since(self) -> datetime:
        return self._now - self._window

    async def refusal(self) -> DomainError | None:
        """LIMIT_REACHED when the account or the address used up its failures in the window."""
        for keys, limit in (
            (self._account_keys, self._limit),
            ([self._ip_key], self._limit * IP_FAILURE_FACTOR),
        ):
            count, oldest = await self._failures.recent(keys, self._since)
            if count >= limit:
                return DomainError(ErrorCode.LIMIT_REACHED, self._message(oldest))
        return None

    async def failed(self) -> None:
        self._failures.add(self._account_keys[0], self._now)
        self._failures.add(self._ip_key, self._now)
        await self._failures.forget([*self._account_keys, self._ip_key], before=self._since)

    async def succeeded(self) -> None:
        await self._failures.forget(self._account_keys)

    def _message(self, oldest: datetime | None) -> str:
        retry_at = (oldest or self._now) + self._window
        minutes = max(1, math.ceil((retry_at - clock.now()).total_seconds() / 60))
        unit = "minute" if minutes == 1 else "minutes"
        return f"Too many failed log-ins. Try again in {minutes} {unit} (after {retry_at:%H:%M} UTC)."
