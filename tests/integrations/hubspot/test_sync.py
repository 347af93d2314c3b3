"""HubSpot -> Bizzly sync: a full sync resumes after a worker dies mid-run with every contact exactly once,
the next incremental sync reads only the changes, and a window over HubSpot's 10,000-result search cap is
read completely."""

from __future__ import annotations

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
