"""Staff password hashing (Argon2id) and the strength rule every new password must pass.

Hashing costs ~0.1 s of CPU on purpose, so callers run it off the event loop (``hash_password`` and
``verify_password`` are async and use a worker thread).
"""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from bizzly.errors import DomainError, ErrorCode

MIN_LENGTH = 10
# Argon2 hashes whatever it gets; a cap keeps a megabyte "password" from burning CPU.
MAX_LENGTH = 256

_hasher = PasswordHasher()

# The most common passwords of at least MIN_LENGTH characters with two classes of characters (the rest are
# already refused by the length and class rules). Compared case-insensitively.
COMMON_PASSWORDS = frozenset(
    {
        "password1!",
        "password12",
        "password123",
        "password1234",
        "password12345",
        "passw0rd123",
        "p@ssw0rd123",
        "p@ssword123",
        "qwerty1234",
        "qwerty12345",
        "qwerty123456",
        "qwertyuiop1",
        "qwertyuiop123",
        "1q2w3e4r5t",
        "1q2w3e4r5t6y",
        "q1w2e3r4t5",
        "1qaz2wsx3edc",
        "zaq12wsxcde3",
        "abc1234567",
        "abcd123456",
        "abcdef1234",
        "a123456789",
        "1234567890a",
        "123456789a",
        "iloveyou12",
        "iloveyou123",
        "welcome123",
        "welcome1234",
        "letmein123",
        "admin12345",
        "admin123456",
        "administrator1",
        "changeme123",
        "sunshine123",
        "football123",
        "baseball123",
        "princess123",
        "dragon1234",
        "monkey12345",
        "superman123",
        "trustno1234",
        "starwars123",
        "computer123",
        "michael123",
        "bizzly1234",
        "bizzly12345",
    }
)


def _classes(password: str) -> int:
    return sum(
        (
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        )
    )


def check_strength(password: str, *, field: str = "password") -> None:
    """Refuse a weak password with ``WEAK_PASSWORD`` (the message says what to change)."""
    if len(password) < MIN_LENGTH:
        raise DomainError(
            ErrorCode.WEAK_PASSWORD, f"Use at least {MIN_LENGTH} characters for your password.", field=field
        )
    if len(password) > MAX_LENGTH:
        raise DomainError(
            ErrorCode.WEAK_PASSWORD, f"Use at most {MAX_LENGTH} characters for your password.", field=field
        )
    if _classes(password) < 2:
        raise DomainError(
            ErrorCode.WEAK_PASSWORD,
            "Mix at least two kinds of characters (lower case, upper case, digits, symbols).",
            field=field,
        )
    if password.lower() in COMMON_PASSWORDS:
        raise DomainError(
            ErrorCode.WEAK_PASSWORD, "This password is too common. Choose another one.", field=field
        )


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


def _verify(stored: str | None, password: str) -> bool:
    if stored is None or len(password) > MAX_LENGTH:
        # Same work as a real check, so a missing account cannot be told apart by timing.
        _hasher.hash(password[:MAX_LENGTH])
        return False
    try:
        return _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def verify_password(stored: str | None, password: str) -> bool:
    """True when ``password`` matches ``stored``; a missing hash costs the same time and says False."""
    return await asyncio.to_thread(_verify, stored, password)


def needs_rehash(stored: str) -> bool:
    try:
        return _hasher.check_needs_rehash(stored)
    except InvalidHashError:
        return True
