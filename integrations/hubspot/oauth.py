"""HubSpot OAuth: the signed, single-use ``state``; the authorization URL; code exchange, refresh and
token info (Authlib's ``AsyncOAuth2Client``, client credentials in the form body as HubSpot documents).

The state is ``<payload>.<signature>``: the payload (base64 JSON) names the tenant, the staff member, a
random nonce and the expiry; the signature is the key ring's HMAC. The nonce's hash is stored when the link
is made and marked used by the callback, so a state works once.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
import warnings
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from authlib.deprecate import AuthlibDeprecationWarning  # type: ignore[import-untyped]

from bizzly import clock
from bizzly.crypto import KeyRing, random_token, token_hash
from bizzly.db.engine import Database
from bizzly.errors import DomainError, ErrorCode
from bizzly.settings import Settings
from integrations.hubspot.models import HubSpotOAuthState
from integrations.hubspot.repository import OAuthStates

# Authlib 1.9 warns when this module is imported without the separate ``httpx2`` package ("please use
# httpx2"), with an "always" filter of its own that no -W or pytest filter overrides: on every ``serve``,
# worker and test run. httpx is what Authlib still supports and what we use; only that one message is muted,
# only for this import (``authlib.deprecate`` is imported first, so its own filter stays for later warnings).
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "The httpx module is deprecated", AuthlibDeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client  # type: ignore[import-untyped]

SCOPES = ("oauth", "crm.objects.contacts.read", "crm.objects.contacts.write", "forms")
CALLBACK_PATH = "/integrations/hubspot/callback"
_STATE_PURPOSE = "hubspot-oauth-state"
_TIMEOUT = httpx.Timeout(15.0)


class HubSpotTokenError(Exception):
    """The token endpoint refused: ``status`` is HubSpot's (``BAD_REFRESH_TOKEN``, ``BAD_AUTH_CODE``...)."""

    def __init__(self, status: str, message: str, http_status: int) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message
        self.http_status = http_status


class StateError(Exception):
    """The callback's state is not one we issued, was used already, or expired (a readable reason)."""


@dataclass(frozen=True)
class StateClaims:
    tenant_id: uuid.UUID
    user_id: uuid.UUID
    nonce: str


def redirect_uri(settings: Settings) -> str:
    return settings.public_url.rstrip("/") + CALLBACK_PATH


def token_url(settings: Settings) -> str:
    return settings.hubspot_api_url.rstrip("/") + "/oauth/v1/token"


def _raise_hubspot_error(resp: httpx.Response) -> httpx.Response:
    """HubSpot answers token errors as ``{"status": ..., "message": ...}`` (no OAuth ``error`` field)."""
    if resp.status_code >= 400:
        try:
            body = resp.json()
        except ValueError:
            body = {}
        status = str(body.get("status") or body.get("error") or f"HTTP_{resp.status_code}")
        message = str(body.get("message") or body.get("error_description") or "token request refused")
        raise HubSpotTokenError(status, message, resp.status_code)
    return resp


def oauth_client(settings: Settings, **kwargs: Any) -> AsyncOAuth2Client:
    client = AsyncOAuth2Client(
        client_id=settings.hubspot_client_id,
        client_secret=settings.hubspot_client_secret,
        token_endpoint_auth_method="client_secret_post",
        redirect_uri=redirect_uri(settings),
        scope=" ".join(SCOPES),
        timeout=_TIMEOUT,
        **kwargs,
    )
    client.register_compliance_hook("access_token_response", _raise_hubspot_error)
    client.register_compliance_hook("refresh_token_response", _raise_hubspot_error)
    return client


# --- state ------------------------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_state(keys: KeyRing, claims: StateClaims, expires_epoch: int) -> str:
    payload = _b64(
        json.dumps(
            {"t": str(claims.tenant_id), "u": str(claims.user_id), "n": claims.nonce, "e": expires_epoch},
            separators=(",", ":"),
        ).encode()
    )
    return f"{payload}.{keys.digest(_STATE_PURPOSE, payload)}"


def read_state(keys: KeyRing, state: str) -> StateClaims:
    """Check the signature and the expiry (not yet the single use: see ``consume_state``)."""
    payload, _, signature = state.partition(".")
    if not payload or not signature or not keys.verify_digest(_STATE_PURPOSE, payload, signature):
        raise StateError("This HubSpot link is not valid. Start connecting again from the dashboard.")
    try:
        data = json.loads(_unb64(payload))
        claims = StateClaims(uuid.UUID(data["t"]), uuid.UUID(data["u"]), str(data["n"]))
        expires = int(data["e"])
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise StateError(
            "This HubSpot link is not valid. Start connecting again from the dashboard."
        ) from exc
    if clock.now().timestamp() >= expires:
        raise StateError("This HubSpot link has expired. Start connecting again from the dashboard.")
    return claims


async def consume_state(db: Database, claims: StateClaims) -> None:
    """Mark the state used, once: a second callback with it (a replay) is refused. Commits at once."""
    now = clock.now()
    async with db.tenant_session(claims.tenant_id, write=True) as session, session.begin():
        used = await OAuthStates(session).use(
            tenant_id=claims.tenant_id, nonce_hash=token_hash(claims.nonce), user_id=claims.user_id, now=now
        )
        if not used:
            raise StateError("This HubSpot link was already used. Start connecting again from the dashboard.")


class HubSpotOAuth:
    """The ``OAuthStarter`` port for HubSpot, and the token calls the rest of the adapter makes."""

    def __init__(self, settings: Settings, db: Database | None = None, keys: KeyRing | None = None) -> None:
        # ``db`` and ``keys`` only for ``start`` (the state); the token calls need settings only.
        self.settings = settings
        self.db = db
        self.keys = keys

    async def start(self, *, tenant_id: uuid.UUID, user_id: uuid.UUID) -> str:
        if not self.settings.hubspot_client_id or not self.settings.hubspot_client_secret:
            raise DomainError(ErrorCode.UNAVAILABLE, "HubSpot is not set up on this Bizzly server.")
        assert self.db is not None
        assert self.keys is not None
        nonce = random_token(24)
        now = clock.now()
        expires = now + timedelta(seconds=self.settings.hubspot_state_ttl_seconds)
        async with self.db.tenant_session(tenant_id, write=True) as session, session.begin():
            OAuthStates(session).add(
                HubSpotOAuthState(
                    tenant_id=tenant_id,
                    nonce_hash=token_hash(nonce),
                    user_id=user_id,
                    expires_at=expires,
                    created_at=now,
                )
            )
        state = sign_state(self.keys, StateClaims(tenant_id, user_id, nonce), int(expires.timestamp()))
        async with oauth_client(self.settings) as client:
            url, _ = client.create_authorization_url(self.settings.hubspot_auth_url, state=state)
        return str(url)

    async def exchange_code(self, code: str) -> dict[str, Any]:
        async with oauth_client(self.settings) as client:
            token = await client.fetch_token(token_url(self.settings), code=code)
        return dict(token)

    async def refresh(self, refresh_token: str) -> dict[str, Any]:
        async with oauth_client(self.settings) as client:
            token = await client.refresh_token(token_url(self.settings), refresh_token=refresh_token)
        return dict(token)

    async def token_info(self, access_token: str) -> dict[str, Any]:
        """``GET /oauth/v1/access-tokens/{token}``: the portal (``hub_id``) and scopes of a token."""
        url = self.settings.hubspot_api_url.rstrip("/") + "/oauth/v1/access-tokens/" + access_token
        async with httpx.AsyncClient(timeout=_TIMEOUT) as client:
            resp = await client.get(url)
        if resp.status_code != 200:
            raise HubSpotTokenError(
                "BAD_ACCESS_TOKEN", "HubSpot did not recognise the access token.", resp.status_code
            )
        body = resp.json()
        return body if isinstance(body, dict) else {}
