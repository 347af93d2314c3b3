"""HubSpot -> Bizzly sync: a full sync resumes after a worker dies mid-run with every contact exactly once,
the next incremental sync reads only the changes, a window over HubSpot's 10,000-result search cap is
read completely, and contacts we cannot store are counted as failed without holding up the others."""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

import pytest

import integrations.hubspot.sync as sync
from bizzly.settings import Settings
from domain.crm_sync.models import RunKind, RunState
from domain.customers.service import current_tenant
from domain.identity.service import ReachedVia, resolve_phone
from domain.privacy.tombstones import add_tombstone
from tests.fakes.hubspot import SEARCH_CAP, HubSpotFake
from tests.integrations.hubspot.support import connect
from tests.integrations.hubspot.sync_support import (
    contact_count,
    contacts,
    fast_settings,
    get_run,
    make_pending_rows_due,
    progress,
    run_all,
    start_run,
)
from tests.support.accounts import SignedUp, _services, sign_up
from tests.support.customers import create_customer, row_id, tenant_session
from tests.support.graphql import GraphQLClient

PORTAL = 5151


@pytest.fixture
def settings(database_settings: dict[str, str], hubspot_fake: HubSpotFake) -> Settings:
    return fast_settings(database_settings, hubspot_fake)


@pytest.fixture
async def owner(gql: GraphQLClient, hubspot_fake: HubSpotFake) -> SignedUp:
    owner = await sign_up(gql, slug="sync-studio", email="owner@sync.example.com")
    await connect(gql, owner, hubspot_fake, PORTAL)
    return owner


def seed(fake: HubSpotFake, count: int, start: int = 0) -> list[str]:
    return [
        fake.add_contact(
            PORTAL, email=f"person{i}@example.com", firstname=f"P{i}", mobilephone=f"+4477009{i:05d}"[:13]
        ).id
        for i in range(start, start + count)
    ]


async def test_full_sync_killed_mid_run_resumes_with_every_contact_once_then_incremental_reads_changes(
    gql: GraphQLClient,
    owner: SignedUp,
    hubspot_fake: HubSpotFake,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    total = 25_000
    ids = seed(hubspot_fake, total)

    real = sync.import_objects
    pages = {"n": 0}

    async def dies_on_page_90(*args: Any, **kwargs: Any) -> Any:
        pages["n"] += 1
        result = await real(*args, **kwargs)  # the page's contacts are written...
        if pages["n"] == 90:
            raise RuntimeError("worker killed")  # ...and lost with the transaction, as with a SIGKILL
        return result

    monkeypatch.setattr(sync, "import_objects", dies_on_page_90)
    run = await start_run(gql, owner)
    await run_all(settings)

    halfway = await get_run(gql, owner, run.id)
    assert halfway.state == RunState.RUNNING.value
    assert (halfway.pages, halfway.read) == (89, 89 * 100)
    assert await contact_count(gql, owner) == (8_900, 8_900)  # only committed pages

    monkeypatch.setattr(sync, "import_objects", real)
    await make_pending_rows_due(gql)  # the retry waits out its backoff
    await run_all(settings)

    done = await get_run(gql, owner, run.id)
    assert done.state == RunState.DONE.value, done.last_error
    assert done.kind == RunKind.FULL.value
    assert (done.read, done.created, done.updated) == (total, total, 0)
    assert await contact_count(gql, owner) == (total, total)
    imported = await contacts(gql, owner)
    assert set(imported) == set(ids)

    # The next run is incremental: only what changed since the full run started.
    hubspot_fake.update_contact(PORTAL, ids[7], firstname="Renamed")
    hubspot_fake.update_contact(PORTAL, ids[24_000], mobilephone="+447700911111")
    new = seed(hubspot_fake, 2, start=total)
    second = await start_run(gql, owner)
    await run_all(settings)
    after = await get_run(gql, owner, second.id)
    assert after.kind == RunKind.INCREMENTAL.value
    assert after.state == RunState.DONE.value, after.last_error
    assert (after.read, after.created, after.updated) == (4, 2, 2)
    imported = await contacts(gql, owner)
    assert imported[ids[7]].first_name == "Renamed"
    assert imported[ids[24_000]].mobile_e164 == "+447700911111"
    assert set(new) <= set(imported)
    assert await contact_count(gql, owner) == (total + 2, total + 2)


async def test_a_window_over_the_search_cap_is_split_and_complete(
    gql: GraphQLClient, owner: SignedUp, hubspot_fake: HubSpotFake, settings: Settings
) -> None:
    first = await start_run(gql, owner)  # an empty portal: the full run only sets the cursor
    await run_all(settings)
    assert (await get_run(gql, owner, first.id)).state == RunState.DONE.value

    many = SEARCH_CAP + 2_000
    ids = seed(hubspot_fake, many)  # all modified after the cursor, many in the same millisecond
    run = await start_run(gql, owner)
    await run_all(settings)

    done = await get_run(gql, owner, run.id)
    assert done.kind == RunKind.INCREMENTAL.value
    assert done.state == RunState.DONE.value, done.last_error
    assert (done.read, done.created) == (many, many)
    assert set(await contacts(gql, owner)) == set(ids)
    searches = [p for m, p, _ in hubspot_fake.requests if p.endswith("/contacts/search")]
    assert len(searches) >= many // 200  # split into searches, none paging past the cap (else a 400)


async def test_after_sync_a_phone_lookup_finds_the_account_through_its_crm_contacts_mobile(
    gql: GraphQLClient, owner: SignedUp, hubspot_fake: HubSpotFake, settings: Settings
) -> None:
    await create_customer(gql, owner, name="Mia", email="Mia@Example.com")  # no phone on the account
    contact = hubspot_fake.add_contact(
        PORTAL, email="mia@example.com", mobilephone="07700 900456", hs_whatsapp_phone_number="+447700900789"
    )
    run = await start_run(gql, owner)
    await run_all(settings)
    assert (await get_run(gql, owner, run.id)).linked == 1

    async with tenant_session(gql, owner) as s:
        tenant = await current_tenant(s)
        by_mobile = await resolve_phone(s, tenant=tenant, raw="+44 7700 900456")
        by_whatsapp = await resolve_phone(s, tenant=tenant, raw="447700900789", whatsapp=True)
    for found in (by_mobile, by_whatsapp):
        assert [(a.customer.email, a.reached_via) for a in found.accounts] == [
            ("Mia@example.com", ReachedVia.CRM_CONTACT)
        ]
        assert [c.contact.external_id for c in found.crm_contacts] == [contact.id]


async def test_an_erased_person_is_never_imported_again(
    gql: GraphQLClient, owner: SignedUp, hubspot_fake: HubSpotFake, settings: Settings
) -> None:
    erased = hubspot_fake.add_contact(PORTAL, email="Gone@Example.com", mobilephone="+447700900999")
    by_phone = hubspot_fake.add_contact(PORTAL, email="new-address@example.com", phone="+447700900999")
    kept = hubspot_fake.add_contact(PORTAL, email="stays@example.com")
    async with tenant_session(gql, owner) as s:
        await add_tombstone(
            s,
            keys=_services(gql).keys,
            tenant_id=row_id(owner.tenant_id),
            emails=["gone@example.com"],
            phones=["+447700900999"],
            crm_external_ids=[],
        )
    run = await start_run(gql, owner)
    await run_all(settings)
    done = await get_run(gql, owner, run.id)
    assert (done.read, done.created, done.skipped) == (3, 1, 2)
    assert set(await contacts(gql, owner)) == {kept.id}
    assert erased.id != by_phone.id


async def test_contacts_that_cannot_be_stored_are_counted_failed_and_the_rest_of_the_page_is_imported(
    gql: GraphQLClient,
    owner: SignedUp,
    hubspot_fake: HubSpotFake,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="bizzly")
    long_email = "a" * 388 + "@example.com"  # 400 characters: over the 320 an email column holds
    good = seed(hubspot_fake, 4)
    too_long = hubspot_fake.add_contact(PORTAL, email=long_email, firstname="Long")
    nul = hubspot_fake.add_contact(PORTAL, email="nul@example.com", firstname="Zelda\x00")
    surrogate = hubspot_fake.add_contact(PORTAL, email="half@example.com", lastname="Smythe\ud800")
    padded = hubspot_fake.add_contact(PORTAL, email="  Pad@Example.com ", firstname="  Pat ")
    odd_phone = hubspot_fake.add_contact(PORTAL, email="odd@example.com", phone="call me after 6")
    good += [padded.id, odd_phone.id]
    good += seed(hubspot_fake, 2, start=10)  # after the bad ones, on the same page

    await start_run(gql, owner)
    await run_all(settings)

    done = await progress(gql, owner.access_token)
    assert done is not None
    assert done["state"] == "done", done["lastError"]
    assert (done["read"], done["created"], done["failed"], done["skipped"]) == (11, 8, 3, 0)
    imported = await contacts(gql, owner)
    assert sorted(imported) == sorted(good)  # every good contact once, none of the bad ones
    assert await contact_count(gql, owner) == (8, 8)
    assert (imported[padded.id].email, imported[padded.id].first_name) == ("Pad@Example.com", "Pat")
    assert (imported[odd_phone.id].phone_raw, imported[odd_phone.id].phone_e164) == ("call me after 6", None)

    # The logs name the failed contacts by HubSpot id, and hold none of their data.
    warnings = [r.getMessage() for r in caplog.records if r.name == "bizzly.hubspot.sync"]
    assert len(warnings) == 3
    for bad in (too_long, nul, surrogate):
        assert sum(f"contact {bad.id} " in w for w in warnings) == 1
    for data in (long_email, "nul@example.com", "half@example.com", "Zelda", "Smythe"):
        assert data not in caplog.text

    # Fixed in HubSpot, a contact comes in with the next run.
    hubspot_fake.update_contact(PORTAL, too_long.id, email="short@example.com")
    await start_run(gql, owner)
    await run_all(settings)
    after = await progress(gql, owner.access_token)
    assert after is not None
    assert (after["state"], after["kind"]) == ("done", "incremental"), after["lastError"]
    assert (after["read"], after["created"], after["failed"]) == (1, 1, 0)
    assert (await contacts(gql, owner))[too_long.id].email == "short@example.com"


async def test_a_deleted_contact_is_archived_even_when_its_values_cannot_be_stored(
    gql: GraphQLClient, owner: SignedUp, hubspot_fake: HubSpotFake, settings: Settings
) -> None:
    [gone] = seed(hubspot_fake, 1)
    await start_run(gql, owner)
    await run_all(settings)
    assert not (await contacts(gql, owner))[gone].archived

    hubspot_fake.update_contact(PORTAL, gone, lastname="\x00")
    hubspot_fake.delete_contact(PORTAL, gone)
    await start_run(gql, owner)
    await run_all(settings)

    done = await progress(gql, owner.access_token)
    assert done is not None
    assert (done["state"], done["kind"]) == ("done", "incremental"), done["lastError"]
    assert (done["archived"], done["failed"]) == (1, 0)
    kept = (await contacts(gql, owner))[gone]
    assert (kept.archived, kept.last_name) == (True, None)  # out of lookups, its last stored values kept


async def test_contacts_with_ids_that_are_no_hubspot_ids_fail_alone(
    gql: GraphQLClient, owner: SignedUp, hubspot_fake: HubSpotFake
) -> None:
    """The fake numbers its contacts, so odd ids go straight to the page's import."""

    def contact(contact_id: str, email: str) -> SimpleNamespace:
        return SimpleNamespace(id=contact_id, properties={"email": email}, archived=False)

    page = [
        contact("9" * 65, "long-id@example.com"),
        contact("12ab", "letters@example.com"),
        contact("", "no-id@example.com"),
        contact("4242", "fine@example.com"),
    ]
    page[3].properties[sync.MERGED_PROPERTY] = "x\x00;" + "1" * 70  # entries that match nothing: ignored
    async with tenant_session(gql, owner) as s:
        tenant = await current_tenant(s)
        result = await sync.import_objects(s, keys=_services(gql).keys, tenant=tenant, objects=page)
    assert (result.read, result.failed, result.counts.created) == (4, 3, 1)
    assert set(await contacts(gql, owner)) == {"4242"}
