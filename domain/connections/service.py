"""Rules for connections: one live connection per provider, history kept on reconnect, secrets encrypted,
an external id (WhatsApp phone number id, HubSpot portal id) routed to one tenant at most.

Functions take a tenant-bound session and never commit. ``resolve_route`` is the one cross-tenant read:
it opens its own maintenance session (``MaintenanceUse.WEBHOOK_ROUTING``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bizzly import clock
from bizzly.crypto import KeyRing
from bizzly.db.engine import Database, MaintenanceUse
from bizzly.errors import Conflict, NotFound
from domain.connections.models import ConnectionStatus, Provider, ProviderConnection, RoutingKey
from domain.connections.repository import Connections, RoutingKeys

# Errors stored on a connection are shown to staff; keep them short.
_MAX_ERROR = 500


@dataclass(frozen=True)
class Route:
    provider: str
    external_id: str
    tenant_id: uuid.UUID
    connection_id: uuid.UUID


def config_of(connection: ProviderConnection) -> dict[str, Any]:
    value = json.loads(connection.config or "{}")
    return value if isinstance(value, dict) else {}


def read_secrets(keys: KeyRing, connection: ProviderConnection) -> dict[str, str]:
    if not connection.secrets:
        return {}
    value = json.loads(keys.decrypt(connection.secrets))
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def write_secrets(keys: KeyRing, connection: ProviderConnection, secrets: Mapping[str, str | None]) -> None:
    """Replace the connection's secrets (``None`` values are dropped)."""
    clean = {k: v for k, v in secrets.items() if v is not None}
    connection.secrets = keys.encrypt(json.dumps(clean, sort_keys=True)) if clean else None


async def get_connection(session: AsyncSession, *, connection_id: uuid.UUID) -> ProviderConnection:
    found = await Connections(session).get(connection_id)
    if found is None:
        raise NotFound("No such connection.", field="id")
    return found


async def live_connection(session: AsyncSession, *, provider: Provider | str) -> ProviderConnection | None:
    return await Connections(session).live(str(provider))


async def list_connections(session: AsyncSession) -> list[ProviderConnection]:
    return await Connections(session).current()


async def routes_available(
    session: AsyncSession, *, provider: Provider | str, external_ids: Sequence[str]
) -> bool:
    """True when none of ``external_ids`` is routed to another tenant."""
    repo = Connections(session)
    keys = RoutingKeys(session)
    for external_id in external_ids:
        found = await keys.find(str(provider), external_id)
        if found is not None and found.tenant_id != repo.tenant_id:
            return False
    return True


async def save_connection(
    session: AsyncSession,
    *,
    keys: KeyRing,
    provider: Provider | str,
    display_name: str,
    config: Mapping[str, Any],
    secrets: Mapping[str, str | None],
    routes: Sequence[str] = (),
    field: str | None = None,
    single: bool = True,
) -> ProviderConnection:
    """Connect (or reconnect) the tenant to ``provider`` and claim ``routes`` for the new connection.

    The connections it replaces become history (disconnected, their routes dropped): those holding any of
    ``routes`` and, when ``single`` (one connection per provider: HubSpot, Google Analytics), the provider's
    live one. WhatsApp passes ``single=False``: a business may connect several numbers.

    Raises ``Conflict`` (on ``field``) when a route already belongs to another tenant."""
    repo = Connections(session)
    routing = RoutingKeys(session)
    provider = str(provider)
    if not await routes_available(session, provider=provider, external_ids=routes):
        raise Conflict("This account is already connected to another business.", field=field)
    now = clock.now()
    held = [k.connection_id for r in routes if (k := await routing.find(provider, r)) is not None]
    replaced = await repo.holding(held)
    if single and (live := await repo.live(provider)) is not None:
        replaced.append(live)
    for previous in {c.id: c for c in replaced}.values():
        previous.status = ConnectionStatus.DISCONNECTED
        previous.disconnected_at = now
        previous.secrets = None  # history keeps no credentials, as after a disconnect
        await routing.remove_for_connection(repo.tenant_id, previous.id)
    # Flush the removal first: the new routes may reuse the same external ids (unique key).
    await session.flush()
    connection = ProviderConnection(
        tenant_id=repo.tenant_id,
        provider=provider,
        status=ConnectionStatus.CONNECTED,
        display_name=display_name[:200],
        config=json.dumps(dict(config), sort_keys=True),
        last_success_at=now,
        created_at=now,
        updated_at=now,
    )
    write_secrets(keys, connection, secrets)
    repo.add(connection)
    await session.flush()
    for external_id in dict.fromkeys(routes):
        routing.add(
            RoutingKey(
                provider=provider,
                external_id=external_id,
                tenant_id=repo.tenant_id,
                connection_id=connection.id,
                created_at=now,
            )
        )
    await session.flush()
    return connection


def set_status(connection: ProviderConnection, status: ConnectionStatus, *, error: str | None = None) -> None:
    connection.status = status
    if error is not None:
        connection.last_error = error[:_MAX_ERROR]
        connection.last_error_at = clock.now()


def record_success(connection: ProviderConnection) -> None:
    """A call to the provider worked: a connection in error recovers (needs_reauth waits for a reconnect
    or a successful test, which the caller records with ``set_status``)."""
    connection.last_success_at = clock.now()
    if connection.status == ConnectionStatus.ERROR:
        connection.status = ConnectionStatus.CONNECTED


def record_error(
    connection: ProviderConnection, error: str, *, status: ConnectionStatus | None = None
) -> None:
    """A call to the provider failed; ``status`` (``ERROR``, ``NEEDS_REAUTH``) changes the state too.
    ``error`` is shown to staff: no secrets or personal data."""
    connection.last_error = error[:_MAX_ERROR]
    connection.last_error_at = clock.now()
    if status is not None and connection.status != ConnectionStatus.DISCONNECTED:
        connection.status = status


async def disconnect(session: AsyncSession, *, connection_id: uuid.UUID) -> ProviderConnection:
    """Stop using a connection: its credentials are forgotten (a reconnect asks for new ones), its routes
    dropped; the record stays as history."""
    connection = await get_connection(session, connection_id=connection_id)
    connection.secrets = None
    if connection.status != ConnectionStatus.DISCONNECTED:
        connection.status = ConnectionStatus.DISCONNECTED
        connection.disconnected_at = clock.now()
        await RoutingKeys(session).remove_for_connection(connection.tenant_id, connection.id)
    return connection


async def resolve_route(db: Database, *, provider: Provider | str, external_id: str) -> Route | None:
    """Which tenant and connection an external id belongs to (read before the tenant is known)."""
    async with db.maintenance_session(MaintenanceUse.WEBHOOK_ROUTING, write=False) as session:
        found = await RoutingKeys(session).find(str(provider), external_id)
        if found is None:
            return None
        return Route(found.provider, found.external_id, found.tenant_id, found.connection_id)


async def connection_routes(db: Database, *, connection_id: uuid.UUID) -> list[Route]:
    """The external ids routed to one connection (empty when it is unknown or disconnected); read before
    the tenant is known, for a connection's own webhook route."""
    async with db.maintenance_session(MaintenanceUse.WEBHOOK_ROUTING, write=False) as session:
        rows = await RoutingKeys(session).by_connection(connection_id)
        return [Route(r.provider, r.external_id, r.tenant_id, r.connection_id) for r in rows]
