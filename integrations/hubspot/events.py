"""Processing HubSpot's webhook events (stored by ``webhook``), in workers.

The inbox handler runs inside the event's transaction and so never calls HubSpot (on SQLite the transaction
holds the database's write lock, and a HubSpot call takes budget slots in transactions of its own): a
deletion archives the contact, a merge folds the merged contacts into the survivor, and anything that needs
the contact's current properties queues ``hubspot.contact_refresh``, whose handler reads HubSpot first and
writes after -- the same import as the sync's pages, so an event and a sync end the same way.
"""

from __future__ import annotations

import json
from typing import Any

from bizzly.outbox import InboxEvent, OutboxRow, add_outbox
from bizzly.tasks import TaskContext, inbox_handler, outbox_handler
from domain.identity.crm_import import archive_crm_contacts, merge_crm_contacts
from integrations.hubspot.client import portals_of
from integrations.hubspot.errors import ConnectionUnavailable, HubSpotApiError
from integrations.hubspot.sync import PROPERTIES, import_objects
from integrations.hubspot.webhook import SOURCE, digits
from tenants.service import get_tenant

REFRESH_TOPIC = "hubspot.contact_refresh"


async def _refresh(ctx: TaskContext, contact_id: str) -> None:
    await add_outbox(ctx.session, topic=REFRESH_TOPIC, payload={"contact_id": contact_id})


@inbox_handler(SOURCE)
async def on_hubspot_event(ctx: TaskContext, event: InboxEvent) -> None:
    data: dict[str, Any] = json.loads(event.payload)
    tenant = await get_tenant(ctx.session, ctx.tenant_id)
    if tenant is None:
        return
    kind = data.get("type")
    object_id = str(data.get("object_id"))
    if kind in ("contact.deletion", "contact.privacyDeletion"):
        await archive_crm_contacts(ctx.session, tenant=tenant, external_ids=[object_id])
    elif kind == "contact.merge":
        primary = str(data.get("primary_id") or object_id)
        merged = [m for m in data.get("merged_ids") or [] if m != primary]
        await merge_crm_contacts(ctx.session, tenant=tenant, survivor_id=primary, merged_ids=merged)
        await _refresh(ctx, primary)
    else:  # creation, property change, restore
        await _refresh(ctx, object_id)


@outbox_handler(REFRESH_TOPIC)
async def refresh_contact(ctx: TaskContext, row: OutboxRow, data: dict[str, Any]) -> None:
    """Read one contact from HubSpot (before any write) and import it like a sync page would."""
    contact_id = str(data.get("contact_id"))
    try:
        portal = await portals_of(ctx).for_tenant(ctx.tenant_id)
        found = await portal.call(
            lambda hs: hs.crm.contacts.basic_api.get_by_id(contact_id, properties=PROPERTIES, archived=False)
        )
    except ConnectionUnavailable:
        return  # the owner was alerted when the connection broke; the next full sync catches up
    except HubSpotApiError as exc:
        if exc.status == 404:
            return  # deleted meanwhile: its deletion event archives it
        raise
    tenant = await get_tenant(ctx.session, ctx.tenant_id)
    if tenant is None:
        return
    if str(found.id) != contact_id and digits(str(found.id)):
        # HubSpot answers a merged-away id with the contact it was merged into. (An id that is no HubSpot
        # id is not merged; the import below counts the contact as one it cannot store, and logs it.)
        await merge_crm_contacts(
            ctx.session, tenant=tenant, survivor_id=str(found.id), merged_ids=[contact_id]
        )
    await import_objects(ctx.session, keys=ctx.keys, tenant=tenant, objects=[found])
