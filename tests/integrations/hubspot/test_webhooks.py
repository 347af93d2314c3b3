"""HubSpot webhooks: signed (v3) over the public URL within 5 minutes or nothing is stored; each event is
stored once and processed once; a merge and a deletion end the same way by webhook as by sync."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bizzly import clock
from bizzly.outbox import InboxEvent, OutboxRow, OutboxStatus
from bizzly.settings import Settings
from domain.customers.models import Customer
from domain.identity.models import PhoneIndexEntry
from domain.identity.service import link_crm_contact
from tests.fakes.hubspot import HubSpotFake
from tests.integrations.hubspot.support import connect
from tests.integrations.hubspot.sync_support import (
    contacts,
    event,
    fast_settings,
    post_events,
    run_all,
    start_run,
)
from tests.support.accounts import SignedUp, sign_up
from tests.support.customers import count_rows, create_customer, row_id, tenant_session
from tests.support.graphql import GraphQLClient

PORTAL = 6161
OTHER_PORTAL = 6262


@pytest.fixture
def settings(database_settings: dict[str, str], hubspot_fake: HubSpotFake) -> Settings:
    return fast_settings(database_settings, hubspot_fake, max_body_bytes=64 * 1024)


@pytest.fixture
async def owner(gql: GraphQLClient, hubspot_fake: HubSpotFake) -> SignedUp:
    owner = await sign_up(gql, slug="hook-studio", email="owner@hook.example.com")
    await connect(gql, owner, hubspot_fake, PORTAL)
    return owner


async def test_bad_stale_malformed_or_oversized_deliveries_store_nothing(
    gql: GraphQLClient, http: httpx.AsyncClient, owner: SignedUp, hubspot_fake: HubSpotFake
) -> None:
    contact = hubspot_fake.add_contact(PORTAL, email="ann@example.com")
    events = [event(PORTAL, "contact.creation", contact.id, 1)]
    now_ms = int(clock.now().timestamp() * 1000)

    forged = await post_events(http, hubspot_fake, events, signature="bm90IHRoZSBzaWduYXR1cmU=")
    stale = await post_events(http, hubspot_fake, events, timestamp_ms=now_ms - 6 * 60 * 1000)
    future = await post_events(http, hubspot_fake, events, timestamp_ms=now_ms + 6 * 60 * 1000)
    malformed = await post_events(http, hubspot_fake, events, body=b'[{"eventId": 1,')
    not_a_batch = await post_events(http, hubspot_fake, events, body=b'{"eventId": 1}')
    huge = await post_events(http, hubspot_fake, events * 2000)

    assert [r.status_code for r in (forged, stale, future)] == [401, 401, 401]
    assert [r.status_code for r in (malformed, not_a_batch)] == [400, 400]
    assert huge.status_code == 413
    assert await count_rows(gql, InboxEvent) == 0


async def test_a_signature_over_the_proxied_url_is_refused(
    gql: GraphQLClient, http: httpx.AsyncClient, owner: SignedUp, hubspot_fake: HubSpotFake
) -> None:
    contact = hubspot_fake.add_contact(PORTAL, email="ann@example.com")
    raw = b'[{"subscriptionType": "contact.creation", "objectId": %s, "portalId": %d}]' % (
        contact.id.encode(),
        PORTAL,
    )
    ts = int(clock.now().timestamp() * 1000)
    internal = hubspot_fake.sign_v3("POST", "http://10.0.0.5:8000/webhooks/hubspot", raw, ts)
    response = await post_events(http, hubspot_fake, [], body=raw, timestamp_ms=ts, signature=internal)
    assert response.status_code == 401
    assert await count_rows(gql, InboxEvent) == 0


async def test_a_duplicate_delivery_is_stored_and_processed_once(
    gql: GraphQLClient,
    http: httpx.AsyncClient,
    owner: SignedUp,
    hubspot_fake: HubSpotFake,
    settings: Settings,
) -> None:
    contact = hubspot_fake.add_contact(PORTAL, email="ann@example.com", mobilephone="+447700900321")
    batch = [
        event(PORTAL, "contact.creation", contact.id, 1),
        event(OTHER_PORTAL, "contact.creation", "5", 2),
    ]
    first = await post_events(http, hubspot_fake, batch)
    again = await post_events(http, hubspot_fake, batch)  # HubSpot retries a batch it thinks failed
    assert (first.status_code, again.status_code) == (200, 200)
    assert await count_rows(gql, InboxEvent) == 1  # the unknown portal's event is not stored

    await run_all(settings)
    reads = [p for m, p, _ in hubspot_fake.requests if m == "GET" and f"/contacts/{contact.id}" in p]
    assert len(reads) == 1
    imported = await contacts(gql, owner)
    assert list(imported) == [contact.id]
    assert imported[contact.id].mobile_e164 == "+447700900321"


async def test_a_contact_that_cannot_be_stored_is_skipped_and_logged_not_retried(
    gql: GraphQLClient,
    http: httpx.AsyncClient,
    owner: SignedUp,
    hubspot_fake: HubSpotFake,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="bizzly")
    bad = hubspot_fake.add_contact(PORTAL, email="b" * 330 + "@example.com")
    nul = hubspot_fake.add_contact(PORTAL, email="zed@example.com", firstname="Zed\x00")
    good = hubspot_fake.add_contact(PORTAL, email="ann@example.com")
    batch = [event(PORTAL, "contact.creation", c.id, n) for n, c in enumerate((bad, nul, good), 1)]
    assert (await post_events(http, hubspot_fake, batch)).status_code == 200

    await run_all(settings)

    assert list(await contacts(gql, owner)) == [good.id]
    async with tenant_session(gql, owner) as s:
        rows = list((await s.execute(select(OutboxRow.topic, OutboxRow.status))).all())
    refreshes = [status for topic, status in rows if topic == "hubspot.contact_refresh"]
    assert refreshes == [OutboxStatus.DONE.value] * 3  # none left to retry
    warnings = [r.getMessage() for r in caplog.records if r.name == "bizzly.hubspot.sync"]
    assert sorted(warnings) == sorted(
        [
            f"HubSpot contact {bad.id} not imported: its email cannot be stored",
            f"HubSpot contact {nul.id} not imported: its firstName cannot be stored",
        ]
    )
    assert "zed@example.com" not in caplog.text


async def _snapshot(gql: GraphQLClient, owner: SignedUp) -> list[tuple[Any, ...]]:
    """What a user would see of the CRM contacts: id, archived, linked account (by email), how, and the
    phones a lookup finds them by."""
    rows = await contacts(gql, owner)
    out = []
    async with tenant_session(gql, owner) as s:
        emails = {c.id: c.email_key for c in (await s.execute(select(Customer))).scalars()}
        indexed: dict[Any, list[str]] = {}
        for entry in (await s.execute(select(PhoneIndexEntry).order_by(PhoneIndexEntry.e164))).scalars():
            indexed.setdefault(entry.owner_id, []).append(entry.e164)
    for external_id, c in sorted(rows.items()):
        out.append(
            (
                external_id,
                c.archived,
                emails.get(c.customer_id) if c.customer_id else None,
                c.link_source,
                indexed.get(c.id, []),  # what a phone lookup finds
            )
        )
    return out


async def _scenario(
    gql: GraphQLClient, owner: SignedUp, fake: HubSpotFake, portal: int, settings: Settings
) -> dict[str, str]:
    """Contacts in HubSpot, a full sync, an account linked by hand to the contact about to be merged away."""
    keep = fake.add_contact(portal, email="keep@example.com", mobilephone="+447700900111")
    dup = fake.add_contact(portal, email="dup@example.com", phone="+447700900222")
    gone = fake.add_contact(portal, email="gone@example.com", mobilephone="+447700900333")
    await create_customer(gql, owner, name="Keep", email="keep@example.com")
    await create_customer(gql, owner, name="Gone", email="gone@example.com")
    other = await create_customer(gql, owner, name="Hand Linked", email="hand@example.com")
    await start_run(gql, owner)
    await run_all(settings)
    imported = await contacts(gql, owner)
    async with tenant_session(gql, owner) as s:
        await link_crm_contact(
            s, contact_id=imported[dup.id].id, customer_id=row_id(other["id"]), actor="staff"
        )
    return {"keep": keep.id, "dup": dup.id, "gone": gone.id}


async def test_merge_and_deletion_end_the_same_by_webhook_and_by_sync(
    gql: GraphQLClient,
    http: httpx.AsyncClient,
    owner: SignedUp,
    hubspot_fake: HubSpotFake,
    settings: Settings,
) -> None:
    by_sync = await sign_up(gql, slug="sync-twin", email="owner@twin.example.com")
    await connect(gql, by_sync, hubspot_fake, OTHER_PORTAL)
    ids = await _scenario(gql, owner, hubspot_fake, PORTAL, settings)
    twin_ids = await _scenario(gql, by_sync, hubspot_fake, OTHER_PORTAL, settings)
    assert ids == twin_ids  # each fake portal numbers its contacts alike

    for portal in (PORTAL, OTHER_PORTAL):
        hubspot_fake.merge(portal, ids["keep"], ids["dup"])
        hubspot_fake.delete_contact(portal, ids["gone"])

    # One tenant hears it by webhook...
    events = [
        event(
            PORTAL,
            "contact.merge",
            ids["keep"],
            1,
            primaryObjectId=int(ids["keep"]),
            mergedObjectIds=[int(ids["dup"])],
            newObjectId=int(ids["keep"]),
        ),
        event(PORTAL, "contact.deletion", ids["gone"], 2),
    ]
    assert (await post_events(http, hubspot_fake, events)).status_code == 200
    await run_all(settings)
    # ...the other by its next sync.
    clock.advance(timedelta(seconds=1))
    await start_run(gql, by_sync)
    await run_all(settings)

    hooked = await _snapshot(gql, owner)
    synced = await _snapshot(gql, by_sync)
    assert hooked == synced
    assert hooked == [
        (ids["keep"], False, "hand@example.com", "manual", ["+447700900111"]),  # the hand-made link moved
        (ids["gone"], True, None, None, []),  # archived: out of the lookup index, unlinked
    ]
