"""HubSpot -> Bizzly: the contact sync's pages (``hubspot.sync_page``), the scheduler's fan-out, and the
import of one batch of HubSpot contacts (shared with the webhooks' handler).

A run (``domain.crm_sync``) goes page by page, one outbox row each. A page is read from HubSpot, imported,
and the run's checkpoint moved and the next page queued -- all in the worker's one transaction, so a worker
killed mid-page leaves the last committed checkpoint and its row is run again from there: no contact is
imported twice, none is skipped.

- Full run: ``GET /crm/v3/objects/contacts`` by its ``after`` cursor (no 10,000 cap), then the archived list.
- Incremental run: search ``lastmodifieddate`` in ``[window_from, window_to)``, sorted by ``hs_object_id``,
  each page a new search with ``hs_object_id > <last id of the previous page>``: a window of any size is
  split into searches that never page past offset 0, so HubSpot's 10,000-result cap is never reached (and
  many contacts sharing one timestamp cannot loop). Then the archived list for deletions.

A contact we cannot store (an id that is no HubSpot id, an email longer than its column, a NUL in a name:
``domain.identity.crm_import.storable_crm_contact``) is left out and counted in the run's ``failed``, logged
by its HubSpot id only; the rest of its page is imported and the run goes on. Fixed in HubSpot, it comes in
with the next run that reads it. A deleted contact is archived by its id even when its other values cannot
be stored (they are not needed for that).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from hubspot.crm.contacts import Filter, FilterGroup, PublicObjectSearchRequest
from sqlalchemy.ext.asyncio import AsyncSession

from bizzly import clock
from bizzly.crypto import KeyRing
from bizzly.errors import Invalid
from bizzly.outbox import OutboxRow, add_outbox
from bizzly.tasks import JobContext, TaskContext, outbox_handler, periodic
from domain.connections.models import Provider
from domain.connections.service import get_connection, live_connection, record_success
from domain.crm_sync.models import HubSpotSyncRun, Phase, RunKind, RunState
from domain.crm_sync.repository import ACTIVE, SyncRuns, connected_portals
from domain.crm_sync.service import SYNC_PAGE_TOPIC, SYNC_TICK_TOPIC, due_for_schedule, queue_run
from domain.identity.crm_import import (
    CrmContactData,
    ImportCounts,
    archive_crm_contacts,
    crm_phone,
    import_crm_contacts,
    merge_crm_contacts,
    storable_crm_contact,
)
from domain.privacy.tombstones import erased_filter
from integrations.hubspot.client import HubSpotPortal, portals_of
from integrations.hubspot.errors import ConnectionUnavailable, HubSpotApiError
from integrations.hubspot.webhook import digits
from tenants.models import Tenant
from tenants.service import get_tenant

# HubSpot's contact properties we read: names, email, the three phones, and merge history.
WHATSAPP_PROPERTY = "hs_whatsapp_phone_number"
MERGED_PROPERTY = "hs_merged_object_ids"
PROPERTIES = [
    "email",
    "firstname",
    "lastname",
    "phone",
    "mobilephone",
    WHATSAPP_PROPERTY,
    "lastmodifieddate",
    MERGED_PROPERTY,
]
SEARCH_PAGE_MAX = 200  # HubSpot's search page limit (the list endpoint's is 100)

log = logging.getLogger("bizzly.hubspot.sync")


@dataclass
class PageResult:
    counts: ImportCounts
    read: int
    skipped: int  # erased people
    failed: int = 0  # contacts we cannot store (logged by HubSpot id)


def contact_data(obj: Any, *, archived: bool = False) -> tuple[CrmContactData, list[str]]:
    """An SDK contact object -> what we import, and the ids HubSpot merged into it."""
    props: dict[str, Any] = dict(getattr(obj, "properties", None) or {})
    # An entry that is no HubSpot id matches no contact we hold.
    merged = [m.strip() for m in str(props.get(MERGED_PROPERTY) or "").split(";") if digits(m.strip())]
    data = CrmContactData(
        external_id=str(obj.id),
        email=props.get("email"),
        first_name=props.get("firstname"),
        last_name=props.get("lastname"),
        phone=props.get("phone"),
        mobile_phone=props.get("mobilephone"),
        whatsapp_phone=props.get(WHATSAPP_PROPERTY),
        archived=archived or bool(getattr(obj, "archived", False)),
    )
    return data, merged


def _phone_forms(raw: str | None, region: str | None) -> list[str]:
    """The raw value and, when it parses, its E.164 form (tombstones hold E.164)."""
    if not raw:
        return []
    e164 = crm_phone(raw, region)[1]
    return [raw, e164] if e164 else [raw]


Row = tuple[CrmContactData, list[str]]  # a contact and the ids HubSpot merged into it


def _storable(rows: list[Row]) -> tuple[list[Row], list[str], int]:
    """The contacts we can store (cleaned), the ids of deleted contacts to archive by id only, and how many
    failed -- each of those logged by its HubSpot id and the field at fault, never a value."""
    kept: list[Row] = []
    archive_only: list[str] = []
    failed = 0
    for data, merged in rows:
        hubspot_id = data.external_id.strip()
        try:
            if not digits(hubspot_id):
                raise Invalid("A HubSpot contact id is a number.", field="id")
            kept.append((storable_crm_contact(data), merged))
        except Invalid as exc:
            if data.archived and exc.field != "id":
                archive_only.append(hubspot_id)  # deleted in HubSpot: its values are not needed
                continue
            failed += 1
            shown = hubspot_id if exc.field != "id" else ascii(hubspot_id[:32])
            log.warning("HubSpot contact %s not imported: its %s cannot be stored", shown, exc.field)
    return kept, archive_only, failed


async def import_objects(
    session: AsyncSession, *, keys: KeyRing, tenant: Tenant, objects: list[Any], archived: bool = False
) -> PageResult:
    """Import HubSpot contact objects: the ones we cannot store and erased people left out, merges applied,
    the rest upserted."""
    rows, archive_only, failed = _storable([contact_data(o, archived=archived) for o in objects])
    region = tenant.default_region
    erased = await erased_filter(
        session,
        keys=keys,
        tenant_id=tenant.id,
        emails=[d.email for d, _ in rows],
        phones=[
            p
            for d, _ in rows
            for raw in (d.phone, d.mobile_phone, d.whatsapp_phone)
            for p in _phone_forms(raw, region)
        ],
        crm_external_ids=[d.external_id for d, _ in rows],
    )
    kept: list[Row] = []
    skipped = 0
    for data, merged in rows:
        if erased and (
            erased.crm_id(data.external_id)
            or erased.email(data.email)
            or any(
                erased.phone(p)
                for raw in (data.phone, data.mobile_phone, data.whatsapp_phone)
                for p in _phone_forms(raw, region)
            )
        ):
            skipped += 1  # an erased person is never brought back
            continue
        kept.append((data, merged))
    removed = 0
    for data, merged in kept:
        if merged and not data.archived:
            removed += await merge_crm_contacts(
                session, tenant=tenant, survivor_id=data.external_id, merged_ids=merged
            )
    counts = await import_crm_contacts(session, tenant=tenant, contacts=[d for d, _ in kept])
    counts.merged += removed
    if archive_only:
        counts.archived += await archive_crm_contacts(session, tenant=tenant, external_ids=archive_only)
    return PageResult(counts=counts, read=len(objects), skipped=skipped, failed=failed)


# --- a run's pages -------------------------------------------------------------------------------------


def _search_request(run: HubSpotSyncRun, limit: int) -> PublicObjectSearchRequest:
    filters = [Filter(property_name="lastmodifieddate", operator="LT", value=str(run.window_to_ms))]
    if run.window_from_ms is not None:
        filters.append(
            Filter(property_name="lastmodifieddate", operator="GTE", value=str(run.window_from_ms))
        )
    if run.checkpoint:
        # A numeric id as the value: HubSpot compares hs_object_id as a number.
        filters.append(Filter(property_name="hs_object_id", operator="GT", value=str(int(run.checkpoint))))
    return PublicObjectSearchRequest(
        filter_groups=[FilterGroup(filters=filters)],
        properties=PROPERTIES,
        sorts=[{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
        limit=limit,
        after="0",
    )


async def _fetch(portal: HubSpotPortal, run: HubSpotSyncRun, size: int) -> tuple[list[Any], str | None]:
    """One page of the run from its checkpoint: the contacts and the next checkpoint (None: phase done)."""
    if run.phase == Phase.LIVE.value and run.kind == RunKind.INCREMENTAL.value:
        limit = min(SEARCH_PAGE_MAX, size * 2)
        request = _search_request(run, limit)
        found = await portal.call(lambda hs: hs.crm.contacts.search_api.do_search(request), search=True)
        results = list(found.results or [])
        if len(results) < limit:
            return results, None
        # The next search starts after the page's last id (a number: HubSpot compares it as one).
        last = next((str(r.id) for r in reversed(results) if digits(str(r.id))), None)
        if last is None:
            raise HubSpotApiError(200, "a search page held no numeric contact id to continue from")
        return results, last
    archived = run.phase == Phase.ARCHIVED.value
    after = run.checkpoint
    page = await portal.call(
        lambda hs: hs.crm.contacts.basic_api.get_page(
            limit=size, after=after, properties=PROPERTIES, archived=archived
        )
    )
    results = list(page.results or [])
    nxt = page.paging.next.after if page.paging is not None and page.paging.next is not None else None
    return results, (str(nxt) if nxt else None)


def _finish(run: HubSpotSyncRun, state: RunState, error: str | None = None) -> None:
    run.state = state.value
    run.finished_at = clock.now()
    run.last_error = error


@outbox_handler(SYNC_PAGE_TOPIC)
async def sync_page(ctx: TaskContext, row: OutboxRow, data: dict[str, Any]) -> None:
    run_id = uuid.UUID(str(data["run_id"]))
    page_no = int(data.get("page", 0))
    # HubSpot is asked before the handler's transaction writes anything (on SQLite its first statement takes
    # the database's one write lock): the run is read in a separate read-only session first.
    async with ctx.db.tenant_session(ctx.tenant_id, write=False) as reader:
        seen = await SyncRuns(reader).get(run_id)
        if seen is not None:
            reader.expunge(seen)
    if seen is None or seen.state not in ACTIVE or seen.pages != page_no:
        return  # finished, or a duplicate or stale row: the run has moved past this page
    fetched: tuple[list[Any], str | None] | None = None
    error: str | None = None
    try:
        portal = await portals_of(ctx).for_tenant(ctx.tenant_id)
        if portal.connection_id != seen.connection_id:
            error = "HubSpot was reconnected; a new run starts with the new connection."
        else:
            fetched = await _fetch(portal, seen, ctx.settings.hubspot_sync_page_size)
    except (HubSpotApiError, ConnectionUnavailable) as exc:
        # Retrying cannot help; the cursor stays at the last completed run, so the next run covers this one.
        error = str(exc)

    run = await SyncRuns(ctx.session).get(run_id, lock=True)
    if run is None or run.state not in ACTIVE or run.pages != page_no or run.checkpoint != seen.checkpoint:
        return
    if fetched is None:
        _finish(run, RunState.FAILED, error)
        return
    tenant = await get_tenant(ctx.session, ctx.tenant_id)
    if tenant is None:
        return
    if run.state == RunState.QUEUED.value:
        run.state = RunState.RUNNING.value
        run.started_at = clock.now()
    objects, checkpoint = fetched
    archived_phase = run.phase == Phase.ARCHIVED.value
    if archived_phase and run.window_from_ms is not None:
        # Incremental runs only look at contacts archived inside their window.
        since = run.window_from_ms / 1000
        objects = [o for o in objects if (_archived_at(o) or since) >= since]
    result = await import_objects(
        ctx.session, keys=ctx.keys, tenant=tenant, objects=objects, archived=archived_phase
    )
    run.read += result.read
    run.skipped += result.skipped
    run.failed += result.failed
    run.created += result.counts.created
    run.updated += result.counts.updated
    run.linked += result.counts.linked
    run.archived += result.counts.archived
    run.merged += result.counts.merged
    run.pages += 1
    if checkpoint is None and not archived_phase:
        run.phase = Phase.ARCHIVED.value
        run.checkpoint = None
    elif checkpoint is None:
        _finish(run, RunState.DONE)
        record_success(await get_connection(ctx.session, connection_id=run.connection_id))
        return
    else:
        run.checkpoint = checkpoint
    await add_outbox(
        ctx.session,
        topic=SYNC_PAGE_TOPIC,
        payload={"run_id": str(run.id), "page": run.pages},
        dedupe_key=f"{SYNC_PAGE_TOPIC}:{run.id}:{run.pages}",
    )


def _archived_at(obj: Any) -> float | None:
    at = getattr(obj, "archived_at", None) or getattr(obj, "updated_at", None)
    return at.timestamp() if at is not None and hasattr(at, "timestamp") else None


# --- the scheduler ---------------------------------------------------------------------------------------


@periodic("hubspot.sync", every=timedelta(minutes=1))
async def schedule_syncs(ctx: JobContext) -> None:
    """Fan out one ``hubspot.sync_tick`` per connected portal; each decides in its tenant if a run is due."""
    minute = ctx.tick.strftime("%Y%m%d%H%M")
    for tenant_id, connection_id in await connected_portals(ctx.session):
        await add_outbox(
            ctx.session,
            tenant_id=tenant_id,
            topic=SYNC_TICK_TOPIC,
            payload={"connection_id": str(connection_id)},
            dedupe_key=f"{SYNC_TICK_TOPIC}:{connection_id}:{minute}",
        )


@outbox_handler(SYNC_TICK_TOPIC)
async def sync_tick(ctx: TaskContext, row: OutboxRow, data: dict[str, Any]) -> None:
    connection = await live_connection(ctx.session, provider=Provider.HUBSPOT)
    if connection is None or str(connection.id) != str(data.get("connection_id")):
        return
    if await due_for_schedule(
        ctx.session, connection=connection, every_seconds=ctx.settings.hubspot_sync_interval_seconds
    ):
        await queue_run(
            ctx.session,
            connection=connection,
            trigger="schedule",
            lag_seconds=ctx.settings.hubspot_sync_lag_seconds,
        )
