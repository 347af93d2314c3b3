"""The HubSpot form that website contact forms are submitted to (kept in the HubSpot connection's config)."""

from __future__ import annotations

import json
import re

from sqlalchemy.ext.asyncio import AsyncSession

from bizzly.errors import DomainError, ErrorCode, Invalid
from domain.connections.models import Provider
from domain.connections.service import config_of, live_connection
from domain.privacy.audit import record

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


async def configure_hubspot_form(session: AsyncSession, *, form_guid: str | None, actor: str) -> None:
    """Set (or with ``None`` clear) the form; HubSpot must be connected."""
    guid = (form_guid or "").strip() or None
    if guid is not None and not _GUID.match(guid):
        raise Invalid("A HubSpot form id looks like 1a2b3c4d-1a2b-1a2b-1a2b-1a2b3c4d5e6f.", field="formGuid")
    connection = await live_connection(session, provider=Provider.HUBSPOT)
    if connection is None:
        raise DomainError(ErrorCode.UNAVAILABLE, "Connect HubSpot first.", field="formGuid")
    config = config_of(connection)
    if guid is None:
        config.pop("form_guid", None)
    else:
        config["form_guid"] = guid.lower()
    connection.config = json.dumps(config, sort_keys=True)
    record(
        session,
        actor=actor,
        action="integration.hubspot_form_configured",
        subject_type="Integration",
        subject_id=connection.id,
    )
    await session.flush()


async def hubspot_form_guid(session: AsyncSession) -> str | None:
    connection = await live_connection(session, provider=Provider.HUBSPOT)
    if connection is None:
        return None
    value = config_of(connection).get("form_guid")
    return str(value) if value else None
