"""Log-in throttling that an attacker cannot turn on the victim (staff and customers alike).

Failures are counted in a sliding window under three keys (an account key is a keyed digest of the email,
never the email itself):

- the account *from one client address*: past ``login_max_failures`` that client is refused for this
  account, so a guesser locks out only itself;
- the client address, for every account: past four times as many it is refused (an office or a phone
  carrier shares an address, so it gets more room than one account);
- the account from everywhere: past ``login_account_slow_after`` every attempt on it is *delayed*
  (``login_account_delay_seconds``), never refused, so guessing from rotating addresses slows down while
  the owner's right password, from a client that has not failed, still logs in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Verdict:
    """Before checking a password: refused (with the error to return), or allowed after ``delay``."""

    refusal: DomainError | None = None
    delay: float = 0.0


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
        self._settings = settings
        self._limit = settings.login_max_failures
        self._now = clock.now()
        self._window = timedelta(minutes=settings.login_window_minutes)
        # Digests under every key of the ring, so a rotation does not reset anyone's count.
        self._account_keys = [f"{scope}:{d}" for d in keys.digests(purpose, email)]
        self._pair_keys = [f"{key}@{client_ip}" for key in self._account_keys]
        self._ip_key = f"ip:{client_ip}"

    @property
    def _since(self) -> datetime:
        return self._now - self._window

    async def verdict(self) -> Verdict:
        """LIMIT_REACHED when this client used up its failures (for this account, or for all accounts);
        else a delay when the account itself is under attack from everywhere."""
        for keys, limit in (
            (self._pair_keys, self._limit),
            ([self._ip_key], self._limit * IP_FAILURE_FACTOR),
        ):
            count, oldest = await self._failures.recent(keys, self._since)
            if count >= limit:
                return Verdict(refusal=DomainError(ErrorCode.LIMIT_REACHED, self._message(oldest)))
        count, _ = await self._failures.recent(self._account_keys, self._since)
        if count >= self._settings.login_account_slow_after:
            return Verdict(delay=self._settings.login_account_delay_seconds)
        return Verdict()

    async def failed(self) -> None:
        for key in (self._account_keys[0], self._pair_keys[0], self._ip_key):
            self._failures.add(key, self._now)
        await self._failures.forget([*self._account_keys, *self._pair_keys, self._ip_key], before=self._since)

    async def succeeded(self) -> None:
        """This client's failures for the account are forgiven; the account's count from everywhere stays
        until the window passes (the attack on it has not stopped because its owner logged in)."""
        await self._failures.forget(self._pair_keys)

    def _message(self, oldest: datetime | None) -> str:
        retry_at = (oldest or self._now) + self._window
        minutes = max(1, math.ceil((retry_at - clock.now()).total_seconds() / 60))
        unit = "minute" if minutes == 1 else "minutes"
        return f"Too many failed log-ins. Try again in {minutes} {unit} (after {retry_at:%H:%M} UTC)."
