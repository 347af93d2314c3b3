"""Secrets at rest, keyed digests and random tokens, all from the one key ring in settings.

The first key encrypts and signs; every key decrypts and verifies, so keys rotate by prepending a new one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class DecryptionError(Exception):
    """A ciphertext that no key in the ring can open."""


def _derive(key: str, purpose: str) -> bytes:
    return hashlib.sha256(f"bizzly:{purpose}:{key}".encode()).digest()


class KeyRing:
    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError("the key ring needs at least one key")
        self._keys = list(keys)
        self._fernet = MultiFernet(
            [Fernet(base64.urlsafe_b64encode(_derive(k, "fernet"))) for k in self._keys]
        )

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        try:
            return self._fernet.decrypt(ciphertext.encode()).decode()
        except InvalidToken as exc:
            raise DecryptionError("cannot decrypt with any key in the ring") from exc

    def signing_keys(self, purpose: str) -> list[bytes]:
        """Keys for one purpose (JWT, state, codes), newest first: sign with [0], verify with any."""
        return [_derive(k, purpose) for k in self._keys]

    def digest(self, purpose: str, value: str) -> str:
        """A keyed digest made with the newest key (for lookups use :meth:`digests`)."""
        return _hmac_hex(self.signing_keys(purpose)[0], value)

    def digests(self, purpose: str, value: str) -> list[str]:
        """The digest under every key, so a value digested before a rotation still matches."""
        return [_hmac_hex(k, value) for k in self.signing_keys(purpose)]

    def verify_digest(self, purpose: str, value: str, digest: str) -> bool:
        return any(hmac.compare_digest(d, digest) for d in self.digests(purpose, value))


def _hmac_hex(key: bytes, value: str) -> str:
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def random_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def token_hash(token: str) -> str:
    """Stored form of a high-entropy bearer token (refresh, invitation, reset): a plain SHA-256 suffices."""
    return hashlib.sha256(token.encode()).hexdigest()
