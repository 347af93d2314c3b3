"""A connection's access token: used while fresh, refreshed shortly before it expires under the connection
row's lock, so that however many worker processes need it at once, HubSpot sees one refresh.

The lock is the database's: ``SELECT ... FOR UPDATE`` of the connection row on PostgreSQL (held until the
refreshed token is committed), the single writer (``BEGIN IMMEDIATE``) on SQLite. Whoever gets the lock
second finds the new token and does not refresh again.

A refused refresh token (``BAD_REFRESH_TOKEN``: the app was uninstalled or access revoked) or an access
token HubSpot refuses right after a refresh marks the connection ``needs_reauth``, writes one owner alert
(``notifications.owner_alert``) and raises ``ConnectionUnavailable``; nothing retries it until staff
reconnect.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bizzly import clock
from bizzly.crypto import KeyRing
from bizzly.db.engine import Database
from bizzly.outbox import add_outbox
from domain.connections.models import ConnectionStatus, ProviderConnection
from domain.connections.service import config_of, read_secrets, record_error, record_success, write_secrets
from domain.notifications import OWNER_ALERT_TOPIC as OWNER_ALERT_TOPIC  # the topic lives there
from integrations.hubspot.errors import ConnectionUnavailable
from integrations.hubspot.oauth import HubSpotOAuth, HubSpotTokenError
from integrations.hubspot.repository import locked_connection

log = logging.getLogger("bizzly.hubspot")

# Refresh this long before HubSpot's expiry (tokens live 30 minutes).
REFRESH_LEEWAY = timedelta(minutes=5)
REAUTH_MESSAGE = "HubSpot no longer accepts Bizzly's access. Reconnect HubSpot in Settings > Integrations."


@dataclass(frozen=True)
class AccessToken:
    value: str
    expires_at: float  # epoch seconds


def stored_token(keys: KeyRing, connection: ProviderConnection) -> AccessToken | None:
    secrets = read_secrets(keys, connection)
    token = secrets.get("access_token")
    if not token:
        return None
    return AccessToken(token, float(config_of(connection).get("expires_at") or 0))


def store_token(keys: KeyRing, connection: ProviderConnection, token: dict[str, object]) -> AccessToken:
    """Write a token response onto the connection (HubSpot may omit the refresh token: keep ours)."""
    secrets = read_secrets(keys, connection)
    access = str(token["access_token"])
    refresh = str(token.get("refresh_token") or secrets.get("refresh_token") or "")
    # From our clock (which tests move), not Authlib's ``expires_at``.
    expires_at = clock.now().timestamp() + float(str(token.get("expires_in") or 1800))
    write_secrets(keys, connection, {"access_token": access, "refresh_token": refresh})
    config = config_of(connection)
    config["expires_at"] = expires_at
    connection.config = json.dumps(config, sort_keys=True)
    return AccessToken(access, expires_at)


def fresh(token: AccessToken | None) -> bool:
    return token is not None and token.expires_at - REFRESH_LEEWAY.total_seconds() > clock.now().timestamp()


async def mark_needs_reauth(
    db: Database, keys: KeyRing, tenant_id: uuid.UUID, connection_id: uuid.UUID, reason: str
) -> None:
    """Own transaction: the state change and the alert stand whatever the caller's transaction does."""
    async with db.tenant_session(tenant_id, write=True) as session, session.begin():
        row = await _locked(session, tenant_id, connection_id)
        if row is not None:
            await _needs_reauth(session, row, reason)


async def _needs_reauth(session: AsyncSession, connection: ProviderConnection, reason: str) -> None:
    if connection.status in (ConnectionStatus.NEEDS_REAUTH, ConnectionStatus.DISCONNECTED):
        return  # alerted already (or gone): one alert per breakage
    record_error(connection, reason, status=ConnectionStatus.NEEDS_REAUTH)
    await add_outbox(
        session,
        topic=OWNER_ALERT_TOPIC,
        payload={"kind": "integration_error", "provider": "HUBSPOT", "message": REAUTH_MESSAGE},
        dedupe_key=f"hubspot.needs_reauth:{connection.id}",
    )
    log.warning("hubspot connection %s needs re-authorisation: %s", connection.id, reason)


async def _locked(
    session: AsyncSession, tenant_id: uuid.UUID, connection_id: uuid.UUID
) -> ProviderConnection | None:
    return await locked_connection(session, tenant_id, connection_id)


async def current_token(
    db: Database,
    keys: KeyRing,
    oauth: HubSpotOAuth,
    *,
    tenant_id: uuid.UUID,
    connection_id: uuid.UUID,
    rejected: str | None = None,
) -> AccessToken:
    """A fresh access token for the connection, refreshing it (once across every process) when due.

    ``rejected``: a token HubSpot just refused with 401 -- refresh even if it looks fresh, unless another
    process already replaced it."""
    reauth: str | None = None
    async with db.tenant_session(tenant_id, write=True) as session, session.begin():
        connection = await _locked(session, tenant_id, connection_id)
        if connection is None or connection.status in (
            ConnectionStatus.DISCONNECTED,
            ConnectionStatus.NEEDS_REAUTH,
        ):
            raise ConnectionUnavailable("HubSpot is not connected.")
        token = stored_token(keys, connection)
        if fresh(token) and (rejected is None or token is None or token.value != rejected):
            assert token is not None
            return token
        refresh_token = read_secrets(keys, connection).get("refresh_token")
        if not refresh_token:
            reauth = "HubSpot gave no refresh token."
        else:
            try:
                answer = await oauth.refresh(refresh_token)
            except HubSpotTokenError as exc:
                if exc.status == "BAD_REFRESH_TOKEN" or exc.http_status in (400, 401):
                    reauth = f"HubSpot refused the refresh token ({exc.status})."
                else:
                    record_error(connection, f"Refreshing the HubSpot token failed ({exc.status}).")
                    raise
            else:
                token = store_token(keys, connection, answer)
                record_success(connection)
                return token
        await _needs_reauth(session, connection, reauth)
    raise ConnectionUnavailable(reauth)
