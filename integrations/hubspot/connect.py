"""Finishing "Connect HubSpot": the callback's state is checked and used up, the code exchanged, the portal
read, and the connection saved (tokens encrypted, the portal routed to this tenant)."""

from __future__ import annotations

import logging
from typing import Any

from bizzly.crypto import KeyRing
from bizzly.db.engine import Database
from bizzly.errors import DomainError
from domain.connections.models import Provider
from domain.connections.service import config_of, live_connection, save_connection
from domain.privacy.audit import record
from integrations.hubspot.budget import API, SEARCH
from integrations.hubspot.models import HubSpotRateWindow
from integrations.hubspot.oauth import HubSpotOAuth, HubSpotTokenError, StateError, consume_state, read_state
from integrations.hubspot.repository import RateWindows
from integrations.hubspot.tokens import store_token
from tenants.models import StaffRole
from tenants.permissions import Permission, role_can
from tenants.repository import Memberships

log = logging.getLogger("bizzly.hubspot")


class ConnectFailed(Exception):
    """A readable reason the connection was not made (shown on the dashboard)."""


async def finish_connect(
    db: Database, keys: KeyRing, oauth: HubSpotOAuth, *, state: str, code: str | None, error: str | None
) -> str:
    """Returns the connected portal's id; raises ``ConnectFailed`` (nothing stored) otherwise."""
    try:
        claims = read_state(keys, state)
    except StateError as exc:
        raise ConnectFailed(str(exc)) from exc
    try:
        await consume_state(db, claims)
    except StateError as exc:
        raise ConnectFailed(str(exc)) from exc
    async with db.tenant_session(claims.tenant_id, write=False) as session:
        member = await Memberships(session).of_user(claims.user_id)
    # The link was made by someone allowed to connect; they must still be when they come back.
    if member is None or not role_can(StaffRole(member.role), Permission.MANAGE_INTEGRATIONS):
        raise ConnectFailed("You are not allowed to connect integrations for this business.")
    if error:
        raise ConnectFailed("HubSpot did not grant access (" + error[:100] + "). Try connecting again.")
    if not code:
        raise ConnectFailed("HubSpot sent no authorization code. Try connecting again.")
    try:
        token = await oauth.exchange_code(code)
        portal_id = str(token.get("hub_id") or "")
        info: dict[str, Any] = await oauth.token_info(str(token["access_token"]))
    except HubSpotTokenError as exc:
        log.info("hubspot code exchange refused: %s", exc.status)
        raise ConnectFailed("HubSpot refused the authorization. Try connecting again.") from exc
    except Exception as exc:  # the network, HubSpot down: say so, never a 500
        log.warning("hubspot code exchange failed: %s", type(exc).__name__)
        raise ConnectFailed("HubSpot could not be reached. Try again in a moment.") from exc
    portal_id = str(info.get("hub_id") or portal_id)
    if not portal_id:
        raise ConnectFailed("HubSpot did not say which account was connected. Try again.")
    hub_domain = str(info.get("hub_domain") or "")
    async with db.tenant_session(claims.tenant_id, write=True) as session, session.begin():
        previous = await live_connection(session, provider=Provider.HUBSPOT)
        kept: dict[str, Any] = {}
        if previous is not None and str(config_of(previous).get("portal_id")) == portal_id:
            # Reconnecting the same portal keeps its settings (the website form).
            kept = {k: v for k, v in config_of(previous).items() if k == "form_guid"}
        try:
            connection = await save_connection(
                session,
                keys=keys,
                provider=Provider.HUBSPOT,
                display_name=hub_domain or f"HubSpot {portal_id}",
                config={
                    "portal_id": portal_id,
                    "hub_domain": hub_domain,
                    "scopes": list(info.get("scopes") or token.get("scopes") or []),
                    **kept,
                },
                secrets={},
                routes=[portal_id],
            )
        except DomainError as exc:
            raise ConnectFailed(
                "This HubSpot account is already connected to another business on Bizzly."
            ) from exc
        store_token(keys, connection, token)
        windows = RateWindows(session)
        for kind in (API, SEARCH):
            if not await windows.exists(tenant_id=claims.tenant_id, portal_id=portal_id, kind=kind):
                windows.add(
                    HubSpotRateWindow(tenant_id=claims.tenant_id, portal_id=portal_id, kind=kind, stamps="[]")
                )
        record(
            session,
            actor=f"staff:{claims.user_id}",
            action="integration.connected",
            subject_type="Integration",
            subject_id=connection.id,
        )
    return portal_id
