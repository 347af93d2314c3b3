"""Short-lived signed access tokens (JOSE, HS256 with keys from the key ring).

An access token names its subject (a staff user or a customer), the tenant and the log-in session (refresh
family) it came from; revoking that session makes the access token useless at once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey

from bizzly import clock
from bizzly.crypto import KeyRing
from bizzly.errors import DomainError, ErrorCode
from tenants.models import SubjectKind

ISSUER = "bizzly"
_PURPOSE = "access-token"
_ALG = "HS256"


def audience(kind: SubjectKind) -> str:
    return f"bizzly:{kind.value}"


class TokenError(DomainError):
    """The bearer token cannot be used: expired, tampered, wrong audience or revoked."""

    def __init__(self, reason: str) -> None:
        super().__init__(ErrorCode.UNAUTHENTICATED, f"Your access token is {reason}. Log in again.")
        self.reason = reason


@dataclass(frozen=True)
class AccessClaims:
    kind: SubjectKind
    subject_id: uuid.UUID
    tenant_id: uuid.UUID
    session_id: uuid.UUID


class AccessTokens:
    def __init__(self, keys: KeyRing, *, ttl: timedelta) -> None:
        self._keys = [OctKey.import_key(k) for k in keys.signing_keys(_PURPOSE)]
        self._ttl = ttl

    def issue(self, claims: AccessClaims) -> str:
        now = clock.now()
        payload = {
            "iss": ISSUER,
            "aud": audience(claims.kind),
            "sub": str(claims.subject_id),
            "tid": str(claims.tenant_id),
            "sid": str(claims.session_id),
            "iat": int(now.timestamp()),
            "exp": int((now + self._ttl).timestamp()),
        }
        return jwt.encode({"alg": _ALG, "kid": "0"}, payload, self._keys[0], algorithms=[_ALG])

    def verify(self, token: str, *, kinds: tuple[SubjectKind, ...] = tuple(SubjectKind)) -> AccessClaims:
        decoded = None
        for key in self._keys:
            try:
                decoded = jwt.decode(token, key, algorithms=[_ALG])
                break
            except (JoseError, ValueError):
                continue
        if decoded is None:
            raise TokenError("invalid")
        claims = decoded.claims
        if claims.get("iss") != ISSUER:
            raise TokenError("invalid")
        allowed = {audience(k): k for k in kinds}
        kind = allowed.get(str(claims.get("aud")))
        if kind is None:
            raise TokenError("not valid here")
        exp = claims.get("exp")
        if not isinstance(exp, int) or exp <= int(clock.now().timestamp()):
            raise TokenError("expired")
        try:
            return AccessClaims(
                kind=kind,
                subject_id=uuid.UUID(str(claims["sub"])),
                tenant_id=uuid.UUID(str(claims["tid"])),
                session_id=uuid.UUID(str(claims["sid"])),
            )
        except (KeyError, ValueError) as exc:
            raise TokenError("invalid") from exc
