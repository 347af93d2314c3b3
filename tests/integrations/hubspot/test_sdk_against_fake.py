"""The SDK, through a portal's client, against the fake: paging, search with its 10,000 cap, batches of
100, 409 on a duplicate, merged and archived contacts, and the forms endpoint."""

from __future__ import annotations

import httpx
import pytest
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInputUpsert,
    BatchReadInputSimplePublicObjectId,
    Filter,
    FilterGroup,
    PublicObjectSearchRequest,
    SimplePublicObjectBatchInputUpsert,
    SimplePublicObjectId,
    SimplePublicObjectInputForCreate,
)

from bizzly.settings import Settings
from integrations.hubspot.client import HubSpotPortal, HubSpotPortals
from integrations.hubspot.errors import HubSpotApiError
from tests.fakes.hubspot import HubSpotFake
from tests.integrations.hubspot.support import connect, tid
from tests.support.accounts import _services, sign_up
from tests.support.graphql import GraphQLClient


async def _portal(gql: GraphQLClient, fake: HubSpotFake, settings: Settings) -> HubSpotPortal:
    owner = await sign_up(gql, slug="acme")
    await connect(gql, owner, fake, 4242)
    services = _services(gql)
    return await HubSpotPortals(settings, services.db, services.keys).for_tenant(tid(owner))


async def test_contacts_through_the_sdk(
    gql: GraphQLClient, hubspot_fake: HubSpotFake, settings: Settings
) -> None:
    portal = await _portal(gql, hubspot_fake, settings)
    for n in range(5):
        hubspot_fake.add_contact(4242, email=f"p{n}@example.com", firstname=f"P{n}")

    first = await portal.call(lambda hs: hs.crm.contacts.basic_api.get_page(limit=3))
    assert len(first.results) == 3
    after = first.paging.next.after
    second = await portal.call(lambda hs: hs.crm.contacts.basic_api.get_page(limit=3, after=after))
    assert len(second.results) == 2
    assert second.paging is None

    created = await portal.call(
        lambda hs: hs.crm.contacts.basic_api.create(
            SimplePublicObjectInputForCreate(properties={"email": "new@example.com"})
        )
    )
    with pytest.raises(HubSpotApiError) as conflict:
        await portal.call(
            lambda hs: hs.crm.contacts.basic_api.create(
                SimplePublicObjectInputForCreate(properties={"email": "new@example.com"})
            )
        )
    assert conflict.value.status == 409
    assert created.id in conflict.value.message

    upserted = await portal.call(
        lambda hs: hs.crm.contacts.batch_api.upsert(
            BatchInputSimplePublicObjectBatchInputUpsert(
                inputs=[
                    SimplePublicObjectBatchInputUpsert(
                        id="p0@example.com", id_property="email", properties={"phone": "+1"}
                    ),
                    SimplePublicObjectBatchInputUpsert(
                        id="z@example.com", id_property="email", properties={}
                    ),
                ]
            )
        )
    )
    assert len(upserted.results) == 2
    read = await portal.call(
        lambda hs: hs.crm.contacts.batch_api.read(
            BatchReadInputSimplePublicObjectId(
                inputs=[SimplePublicObjectId(id=created.id)], properties=["email"], properties_with_history=[]
            )
        )
    )
    assert read.results[0].properties["email"] == "new@example.com"
    too_many = [
        SimplePublicObjectBatchInputUpsert(id=f"b{n}@x.io", id_property="email", properties={})
        for n in range(101)
    ]
    with pytest.raises(HubSpotApiError):
        await portal.call(
            lambda hs: hs.crm.contacts.batch_api.upsert(
                BatchInputSimplePublicObjectBatchInputUpsert(inputs=too_many)
            )
        )

    found = await portal.call(
        lambda hs: hs.crm.contacts.search_api.do_search(
            PublicObjectSearchRequest(
                filter_groups=[
                    FilterGroup(
                        filters=[Filter(property_name="email", operator="EQ", value="p1@example.com")]
                    )
                ],
                limit=200,
            )
        ),
        search=True,
    )
    assert found.total == 1
    with pytest.raises(HubSpotApiError) as capped:
        await portal.call(
            lambda hs: hs.crm.contacts.search_api.do_search(
                PublicObjectSearchRequest(limit=200, after="9900")
            ),
            search=True,
        )
    assert capped.value.status == 400

    # Merged: the merged-away id answers with the survivor; archived ones list apart.
    a = hubspot_fake.add_contact(4242, email="a@example.com")
    b = hubspot_fake.add_contact(4242, email="b@example.com")
    hubspot_fake.merge(4242, a.id, b.id)
    survivor = await portal.call(lambda hs: hs.crm.contacts.basic_api.get_by_id(b.id))
    assert survivor.id == a.id
    archived = await portal.call(lambda hs: hs.crm.contacts.basic_api.get_page(limit=100, archived=True))
    assert b.id in [c.id for c in archived.results]


def test_forms_submission_and_signed_webhooks(hubspot_fake: HubSpotFake) -> None:
    tokens = hubspot_fake.issue_tokens(4242)
    resp = httpx.post(
        hubspot_fake.url
        + "/submissions/v3/integration/secure/submit/4242/1a2b3c4d-1a2b-1a2b-1a2b-1a2b3c4d5e6f",
        json={"fields": [{"objectTypeId": "0-1", "name": "email", "value": "f@example.com"}]},
        headers={"Authorization": "Bearer " + tokens["access_token"]},
    )
    assert resp.status_code == 200
    assert hubspot_fake.portals[4242].submissions[0]["fields"][0]["value"] == "f@example.com"
    # HubSpot's published v3 test vector.
    fake = HubSpotFake(client_secret="yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy")
    signature = fake.sign_v3(
        "POST", "https://www.example.com/webhook_uri", b"{'example_field':'example_value'}", 15000000
    )
    assert signature == "HPW73RUtKmcYoEDADG0s6MmGFWUzWJKAW07r8RDgcQw="
