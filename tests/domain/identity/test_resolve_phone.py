"""resolvePhone: one person behind every format of a number, across website accounts and CRM contacts,
never across businesses."""

from __future__ import annotations

from typing import Any

import pytest

from domain.customers.models import Customer
from domain.customers.service import current_tenant, delete_customer
from domain.identity import service
from domain.identity.models import CrmContact, PhoneIndexEntry
from domain.identity.phones import InvalidPhone
from domain.identity.service import ReachedVia
from tests.support.accounts import SignedUp, sign_up, staff_token
from tests.support.customers import count_rows, create_customer, register, row_id, tenant_session
from tests.support.graphql import GraphQLClient

FORMATS = ["+44 7700 900123", "07700 900123", "447700900123"]
MATCHES = (
    "query($phone: String!) { resolvePhone(phone: $phone) "
    "{ normalized matches { reachedVia customer { id email } } } }"
)


@pytest.fixture
async def owner(gql: GraphQLClient) -> SignedUp:
    return await sign_up(gql, slug="ann-studio", email="owner@ann.example.com")


async def resolve(gql: GraphQLClient, token: str, phone: str) -> dict[str, Any]:
    result = await gql.op("ResolvePhone", {"phone": phone}, token=token)
    found: dict[str, Any] = result.data["resolvePhone"]
    return found


async def upsert_contact(gql: GraphQLClient, owner: SignedUp, **fields: Any) -> CrmContact:
    async with tenant_session(gql, owner) as s:
        tenant = await current_tenant(s)
        return await service.upsert_crm_contact(s, tenant=tenant, **fields)


async def test_the_four_formats_resolve_to_one_person(gql: GraphQLClient, owner: SignedUp) -> None:
    ann = await create_customer(gql, owner, name="Ann", email="ann@example.com", phone="+44 7700 900123")
    for phone in FORMATS:
        found = await resolve(gql, owner.access_token, phone)
        assert found["normalized"] == "+447700900123", phone
        assert found["accounts"] == [ann], phone
        assert found["crmContacts"] == []
    # WhatsApp's sender id (digits, always international) through the service the assistant uses.
    async with tenant_session(gql, owner) as s:
        tenant = await current_tenant(s)
        resolution = await service.resolve_phone(s, tenant=tenant, raw="447700900123", whatsapp=True)
    assert [(str(c.id), via) for c, via in resolution.accounts] == [
        (str(row_id(ann["id"])), ReachedVia.OWN_PHONE)
    ]


async def test_two_accounts_on_one_phone_come_back_as_two(gql: GraphQLClient, owner: SignedUp) -> None:
    mum = await create_customer(gql, owner, name="Mum", email="mum@example.com", phone="07700 900123")
    kid = await register(gql, owner.slug, name="Kid", email="kid@example.com", phone="+447700900123")
    found = await resolve(gql, owner.access_token, "447700900123")
    assert sorted(a["id"] for a in found["accounts"]) == sorted([mum["id"], kid["customer"]["id"]])


async def test_an_account_reached_only_through_a_crm_contact_is_marked_so(
    gql: GraphQLClient, owner: SignedUp
) -> None:
    # The account has no phone of its own; a CRM contact with the same email (any case) has it.
    ann = await create_customer(gql, owner, name="Ann", email="Ann@Example.com")
    contact = await upsert_contact(
        gql, owner, external_id="hs-1", email="ann@example.COM", mobile_phone="07700 900123"
    )
    assert contact.link_source == "email"

    found = await resolve(gql, owner.access_token, "+44 7700 900123")
    assert found["accounts"] == [{**ann, "phone": None}]
    assert found["crmContacts"] == [
        {
            "id": found["crmContacts"][0]["id"],
            "externalId": "hs-1",
            "email": "ann@example.COM",
            "phone": "+447700900123",
            "customer": {"id": ann["id"]},
        }
    ]
    marked = await gql(MATCHES, {"phone": "07700900123"}, token=owner.access_token)
    assert marked.data["resolvePhone"]["matches"] == [
        {"reachedVia": "CRM_CONTACT", "customer": {"id": ann["id"], "email": "Ann@example.com"}}
    ]


async def test_own_phone_wins_over_a_crm_contact_and_accounts_are_distinct(
    gql: GraphQLClient, owner: SignedUp
) -> None:
    ann = await create_customer(gql, owner, name="Ann", email="ann@example.com", phone="07700 900123")
    await upsert_contact(gql, owner, external_id="hs-1", email="ann@example.com", phone="07700 900123")
    await upsert_contact(
        gql, owner, external_id="hs-2", email="ann@example.com", whatsapp_phone="447700900123"
    )
    marked = await gql(MATCHES, {"phone": "07700900123"}, token=owner.access_token)
    assert marked.data["resolvePhone"]["matches"] == [
        {"reachedVia": "OWN_PHONE", "customer": {"id": ann["id"], "email": "ann@example.com"}}
    ]
    found = await resolve(gql, owner.access_token, "07700900123")
    assert len(found["crmContacts"]) == 2


async def test_a_contact_saved_before_the_account_is_linked_when_the_customer_registers(
    gql: GraphQLClient, owner: SignedUp
) -> None:
    await upsert_contact(gql, owner, external_id="hs-9", email="zoe@example.com", phone="+447700900999")
    before = await resolve(gql, owner.access_token, "07700 900999")
    assert before["accounts"] == []  # a contact without an account is never invented into one
    assert before["crmContacts"][0]["customer"] is None

    zoe = await register(gql, owner.slug, name="Zoe", email="ZOE@example.com")
    after = await resolve(gql, owner.access_token, "07700 900999")
    assert [a["id"] for a in after["accounts"]] == [zoe["customer"]["id"]]
    assert after["crmContacts"][0]["customer"] == {"id": zoe["customer"]["id"]}


async def test_changing_the_email_moves_email_links_but_keeps_manual_ones(
    gql: GraphQLClient, owner: SignedUp
) -> None:
    ann = await create_customer(gql, owner, name="Ann", email="ann@example.com")
    await upsert_contact(gql, owner, external_id="hs-1", email="ann@example.com", phone="07700900001")
    manual = await upsert_contact(
        gql, owner, external_id="hs-2", email="other@example.com", phone="07700900002"
    )
    async with tenant_session(gql, owner) as s:
        await service.link_crm_contact(s, contact_id=manual.id, customer_id=row_id(ann["id"]), actor="system")
    await upsert_contact(gql, owner, external_id="hs-3", email="new@example.com", phone="07700900003")

    await gql.op(
        "UpdateCustomer", {"input": {"id": ann["id"], "email": "new@example.com"}}, token=owner.access_token
    )

    async def account_ids(phone: str) -> list[str]:
        return [a["id"] for a in (await resolve(gql, owner.access_token, phone))["accounts"]]

    assert await account_ids("07700900001") == []  # the old email's contact is released
    assert await account_ids("07700900002") == [ann["id"]]  # the manual link stays
    assert await account_ids("07700900003") == [ann["id"]]  # the new email's contact is linked


async def test_contact_phone_changes_and_archiving_keep_the_index_current(
    gql: GraphQLClient, owner: SignedUp
) -> None:
    await upsert_contact(gql, owner, external_id="hs-1", phone="07700900001", mobile_phone="07700900002")
    await upsert_contact(gql, owner, external_id="hs-1", phone=None)  # the CRM cleared one property
    assert (await resolve(gql, owner.access_token, "07700900001"))["crmContacts"] == []
    assert len((await resolve(gql, owner.access_token, "07700900002"))["crmContacts"]) == 1
    await upsert_contact(gql, owner, external_id="hs-1", archived=True)
    assert (await resolve(gql, owner.access_token, "07700900002"))["crmContacts"] == []
    assert await count_rows(gql, PhoneIndexEntry) == 0


async def test_a_crm_phone_that_does_not_parse_is_kept_raw_and_not_indexed(
    gql: GraphQLClient, owner: SignedUp
) -> None:
    contact = await upsert_contact(
        gql, owner, external_id="hs-1", phone="ask reception", mobile_phone="07700900002"
    )
    assert (contact.phone_raw, contact.phone_e164) == ("ask reception", None)
    assert contact.mobile_e164 == "+447700900002"


async def test_a_deleted_customer_leaves_the_index_and_its_contacts(
    gql: GraphQLClient, owner: SignedUp
) -> None:
    ann = await create_customer(gql, owner, name="Ann", email="ann@example.com", phone="07700900001")
    await upsert_contact(gql, owner, external_id="hs-1", email="ann@example.com", phone="07700900002")
    async with tenant_session(gql, owner) as s:
        await delete_customer(s, customer_id=row_id(ann["id"]), actor="system")
    assert (await resolve(gql, owner.access_token, "07700900001"))["accounts"] == []
    found = await resolve(gql, owner.access_token, "07700900002")
    assert found["accounts"] == []
    assert found["crmContacts"][0]["customer"] is None
    assert await count_rows(gql, CrmContact) == 1


async def test_another_tenants_customers_are_never_found(gql: GraphQLClient, owner: SignedUp) -> None:
    ann = await create_customer(gql, owner, name="Ann", email="ann@example.com", phone="07700 900123")
    await upsert_contact(gql, owner, external_id="hs-1", email="ann@example.com", phone="07700 900123")
    other = await sign_up(gql, slug="bob-gym", email="owner@bob.example.com")
    await create_customer(gql, other, name="Bob", email="bob@example.com")

    for phone in FORMATS:
        found = await resolve(gql, other.access_token, phone)
        assert found["accounts"] == []
        assert found["crmContacts"] == []
    for search in ["Ann", "ann@example.com", "07700 900123"]:
        result = await gql.op("Customers", {"first": 10, "search": search}, token=other.access_token)
        assert result.data["customers"]["edges"] == []
    node = await gql("query($id: ID!) { node(id: $id) { id } }", {"id": ann["id"]}, token=other.access_token)
    assert node.error_codes == ["NOT_FOUND"]
    update = await gql.op(
        "UpdateCustomer", {"input": {"id": ann["id"], "name": "Hacked"}}, token=other.access_token
    )
    assert [e["code"] for e in update.data["updateCustomer"]["errors"]] == ["NOT_FOUND"]
    mine = await gql.op("Customers", {"first": 10}, token=owner.access_token)
    assert [e["node"]["name"] for e in mine.data["customers"]["edges"]] == ["Ann"]


async def test_an_unparseable_phone_is_a_top_level_bad_user_input(
    gql: GraphQLClient, owner: SignedUp
) -> None:
    for phone in ["call me", "", "123", "+" + "9" * 30]:
        result = await gql.op("ResolvePhone", {"phone": phone}, token=owner.access_token)
        assert result.error_codes == ["BAD_USER_INPUT"], phone
        assert result.body["data"] is None
    async with tenant_session(gql, owner) as s:
        tenant = await current_tenant(s)
        with pytest.raises(InvalidPhone):
            await service.resolve_phone(s, tenant=tenant, raw="call me")


async def test_only_staff_resolve_phones(gql: GraphQLClient, owner: SignedUp) -> None:
    staff = await staff_token(gql, owner, "STAFF")
    assert (await resolve(gql, staff, "07700900123"))["normalized"] == "+447700900123"
    customer = await register(gql, owner.slug, name="Ann", email="ann@example.com")
    refused = await gql.op("ResolvePhone", {"phone": "07700900123"}, token=customer["accessToken"])
    assert refused.error_codes == ["FORBIDDEN"]
    anonymous = await gql.op("ResolvePhone", {"phone": "07700900123"}, tenant=owner.slug)
    assert anonymous.error_codes == ["UNAUTHENTICATED"]


async def test_resolution_reads_a_bounded_number_of_statements(
    app: Any, gql: GraphQLClient, owner: SignedUp
) -> None:
    from tests.support.queries import count_queries

    for n in range(5):
        await create_customer(gql, owner, name=f"C{n}", email=f"c{n}@example.com", phone="07700900123")
        await upsert_contact(
            gql, owner, external_id=f"hs-{n}", email=f"c{n}@example.com", phone="07700900123"
        )
    async with tenant_session(gql, owner) as s:
        tenant = await current_tenant(s)
        with count_queries(app.state.services.db.app_engine) as log:
            resolution = await service.resolve_phone(s, tenant=tenant, raw="07700900123")
    assert len(resolution.accounts) == 5
    assert len(resolution.crm_contacts) == 5
    assert log.count == 3  # index, contacts, customers: whatever the number of matches
    assert await count_rows(gql, Customer) == 5


async def test_a_contact_unlinked_by_hand_stays_unlinked(gql: GraphQLClient, owner: SignedUp) -> None:
    ann = await create_customer(gql, owner, name="Ann", email="ann@example.com")
    contact = await upsert_contact(
        gql, owner, external_id="hs-1", email="ann@example.com", phone="07700900001"
    )
    assert contact.customer_id == row_id(ann["id"])
    async with tenant_session(gql, owner) as s:
        await service.link_crm_contact(s, contact_id=contact.id, customer_id=None, actor="staff:owner@x")
    # Neither the next sync of the contact nor a change to the account links it again by email.
    await upsert_contact(gql, owner, external_id="hs-1", email="ANN@example.com", first_name="Ann")
    await gql.op("UpdateCustomer", {"input": {"id": ann["id"], "name": "Ann L"}}, token=owner.access_token)
    found = await resolve(gql, owner.access_token, "07700900001")
    assert found["accounts"] == []
    assert found["crmContacts"][0]["customer"] is None
