"""One-time codes that prove a phone: the rules shared by the WhatsApp chat's verification
(``domain/assistant/codes.py``) and the website's phone confirmation (``domain/customers/phone_proof.py``).

Six digits from ``secrets`` (OWASP ASVS 2.7.6: >= 20 bits), 10 minutes of life (ASVS 2.7.2), 3 wrong entries
end a code, issuance limited per phone and per tenant in any rolling hour (the ``otp_per_*`` settings). Only
a keyed digest is stored, bound by its ``material`` to what it proves, and compared in constant time.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta

from bizzly.crypto import KeyRing

CODE_TTL = timedelta(minutes=10)
MAX_ATTEMPTS = 3
RATE_WINDOW = timedelta(hours=1)
CODE_MINUTES = int(CODE_TTL.total_seconds() // 60)

_CODE = re.compile(r"\d{3} ?\d{3}")


def new_code() -> str:
    return f"{secrets.randbelow(10**6):06d}"


def looks_like_code(text: str) -> bool:
    """Six digits, optionally split 3 + 3 by one space (as people copy them)."""
    return _CODE.fullmatch(text) is not None


def seal(keys: KeyRing, purpose: str, material: str) -> str:
    """The stored form of a code: a keyed digest of ``material`` (which holds the code and what it binds)."""
    return keys.digest(purpose, material)


def matches(keys: KeyRing, purpose: str, material: str, digest: str) -> bool:
    """Constant-time, under every key of the ring (a rotation does not void live codes)."""
    return keys.verify_digest(purpose, material, digest)


def retry_at(count: int, oldest: datetime | None, *, limit: int, now: datetime) -> datetime | None:
    """When issuing may resume, if ``count`` codes since ``now - RATE_WINDOW`` reached ``limit``."""
    if count < limit:
        return None
    return (oldest or now) + RATE_WINDOW
