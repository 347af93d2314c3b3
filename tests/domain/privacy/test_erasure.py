"""eraseCustomerData: afterwards no table of the tenant holds the person's phone, email, name or message
text; bookings stay, anonymised; a tombstone keeps the CRM from bringing them back; twice, unknown or
another tenant's id is a typed error that changes nothing."""

from __future__ import annotations

import asyncio
import itertools
import re
import uuid
from typing import Any

import httpx
from sqlalchemy import String, Text, select
from strawberry import relay

from bizzly.db.base import Base
from bizzly.db.engine import MaintenanceUse
from bizzly.ids import new_id
from bizzly.model_registry import import_all
from bizzly.outbox import OutboxRow
from domain.customers.models import Customer
from domain.identity.models import CrmContact, OwnerKind, PhoneIndexEntry
from domain.privacy.audit import AuditEntry
from domain.privacy.tombstones import is_erased
from domain.scheduling.models import Booking
from tenants.mail import queue_email
from tests.fakes.meta import MetaFake, text_message
from tests.integrations.whatsapp.conftest import APP_SECRET, Business, business
from tests.support.accounts import _services, emails_to, staff_token
from tests.support.customers import create_customer, register, row_id, tenant_session
from tests.support.graphql import GraphQLClient
from tests.support.outbox import drain_outbox
from tests.support.scheduling import book, create_service, local, next_weekday, set_hours

PHONE = "+447700900123"
WA_ID = "447700900123"
EMAIL = "sarah.erasable@example.com"
NAME = "Sarah Erasable"
TEXT = "my dog Biscuitcrumb needs a trim"
_wamids = itertools.count(1)


async def say(gql: GraphQLClient, http: httpx.AsyncClient, meta: MetaFake, biz: Business, text: str) -> None:
    payload = text_message(biz.numbers[0], wa_id=WA_ID, text=text, wamid=f"wamid.erase{next(_wamids)}")
    response = await meta.post_webhook(http, payload, secret=APP_SECRET)
    assert response.status_code == 200
    await drain_outbox(_services(gql).settings)


def code_of(meta: MetaFake) -> str:
    text = meta.sends[-1].text or ""
    digits = "".join(ch for ch in text if ch.isdigit())
    assert len(digits) >= 6, text
    return digits[:6]


async def emailed_code(gql: GraphQLClient) -> str:
    services = _services(gql)
    *_, last = await emails_to(services.db, services.keys, EMAIL)
    match = re.search(r"on WhatsApp is: (\d{6})", str(last["text"]))
    assert match, last["text"]
    return match.group(1)


async def erase(gql: GraphQLClient, token: str, customer_id: str) -> dict[str, Any]:
    result = await gql.op("EraseCustomerData", {"customerId": customer_id}, token=token)
    assert not result.errors, result.errors
    payload: dict[str, Any] = result.data["eraseCustomerData"]
    return payload


async def mentions(gql: GraphQLClient, tenant_id: uuid.UUID, needles: list[str]) -> list[str]:
    """Every (table, column) of the tenant's rows -- and of the system tables -- holding a needle."""
    import_all()
    found: list[str] = []
    async with _services(gql).db.maintenance_session(MaintenanceUse.TESTS, write=False) as s:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, (String, Text))]
            if not columns:
                continue
            stmt = select(*columns)
            if "tenant_id" in table.columns:
                stmt = stmt.where(table.c.tenant_id == tenant_id)
            for row in (await s.execute(stmt)).all():
                for column, value in zip(columns, row, strict=True):
                    text = str(value or "").lower()
                    found += [f"{table.name}.{column.name}: {n}" for n in needles if n.lower() in text]
        # Encrypted outbox payloads (emails, WhatsApp sends) are read as their handlers would read them.
        keys = _services(gql).keys
        sealed = select(OutboxRow).where(OutboxRow.tenant_id == tenant_id, OutboxRow.encrypted.is_(True))
        for outbox_row in (await s.execute(sealed)).scalars():
            text = keys.decrypt(outbox_row.payload).lower()
            found += [f"outbox.payload (decrypted): {n}" for n in needles if n.lower() in text]
    return found


async def everything_of_sarah(
    gql: GraphQLClient, http: httpx.AsyncClient, meta: MetaFake, biz: Business
) -> dict[str, Any]:
    """Sarah registers on the website, books, sends the contact form, is a CRM contact, verifies on
    WhatsApp, chats, says STOP; Tom (same business) and Sarah at another business are bystanders."""
    owner = biz.owner
    sarah = (await register(gql, owner.slug, name=NAME, email=EMAIL, phone="07700 900123"))["customer"]
    tom = await create_customer(
        gql, owner, name="Tom Bystander", email="tom@example.com", phone="07700 900999"
    )
    await set_hours(gql, owner.access_token)
    service = await create_service(gql, owner.access_token)
    day = next_weekday(2)
    starts = local(day, 10)
    booked = await book(
        gql,
        owner.access_token,
        service_id=service["id"],
        starts_at=starts,
        customer_id=sarah["id"],
    )
    assert booked["errors"] == [], booked["errors"]
    form = await gql.op(
        "SubmitContactForm",
        {
            "input": {
                "tenantSlug": owner.slug,
                "email": EMAIL,
                "firstName": "Sarah",
                "lastName": "Erasable",
                "phone": PHONE,
                "message": TEXT,
            }
        },
    )
    assert form.data["submitContactForm"]["errors"] == []
    tid = biz.tenant_id
    async with tenant_session(gql, owner) as s:
        contact = CrmContact(
            id=new_id(),
            tenant_id=tid,
            external_id="90177",
            email=EMAIL,
            email_key=EMAIL,
            first_name="Sarah",
            last_name="Erasable",
            mobile_raw="07700 900123",
            mobile_e164=PHONE,
            customer_id=row_id(sarah["id"]),
            link_source="email",
        )
        s.add(contact)
        s.add(
            PhoneIndexEntry(
                id=new_id(), tenant_id=tid, e164=PHONE, owner_kind=OwnerKind.CRM_CONTACT, owner_id=contact.id
            )
        )
    await say(gql, http, meta, biz, "Hi")
    # She typed her phone on the website (unproven): her first code comes by email, she types it in the chat.
    await say(gql, http, meta, biz, await emailed_code(gql))
    await say(gql, http, meta, biz, TEXT)
    await say(gql, http, meta, biz, "STOP")
    # An email to Sarah still waiting in the outbox (written after the last drain).
    async with tenant_session(gql, owner) as s:
        pending = await queue_email(
            s, keys=_services(gql).keys, to=EMAIL, subject="See you soon", text=f"Hi {NAME}!"
        )
    return {"sarah": sarah, "tom": tom, "booking": booked["booking"], "email_row": pending.id}


async def test_after_erasure_no_table_holds_the_person(
    gql: GraphQLClient, http: httpx.AsyncClient, meta: MetaFake
) -> None:
    biz = await business(gql, meta, "erase-salon")
    elsewhere = await business(gql, meta, "other-salon")
    await create_customer(gql, elsewhere.owner, name=NAME, email=EMAIL, phone=PHONE)
    people = await everything_of_sarah(gql, http, meta, biz)
    needles = [PHONE, WA_ID, EMAIL, NAME, "Biscuitcrumb"]
    before = await mentions(gql, biz.tenant_id, needles)
    bystanders = [EMAIL, PHONE, NAME]
    elsewhere_before = await mentions(gql, elsewhere.tenant_id, bystanders)
    tom_before = await mentions(gql, biz.tenant_id, ["tom@example.com", "+447700900999"])
    # The scenario really spread the person everywhere (else the check below proves nothing).
    tables = {m.split(".")[0] for m in before}
    assert {
        "customers",
        "conversations",
        "messages",
        "inbox",
        "outbox",
        "leads",
        "crm_contacts",
        "phone_index",
        "auth_events",
        "whatsapp_opt_outs",
        "audit_log",
    } <= tables, sorted(tables)

    assert await erase(gql, biz.owner.access_token, people["sarah"]["id"]) == {"ok": True, "errors": []}

    assert await mentions(gql, biz.tenant_id, needles) == []
    # The email waiting for Sarah is cancelled, not sent.
    async with tenant_session(gql, biz.owner) as s:
        row = await s.get(OutboxRow, (biz.tenant_id, people["email_row"]))
        assert row is not None
        assert (row.status, row.payload) == ("dead", "{}")
    await drain_outbox(_services(gql).settings)
    # The other business's Sarah and this business's Tom are untouched.
    assert len(elsewhere_before) >= 3
    assert await mentions(gql, elsewhere.tenant_id, bystanders) == elsewhere_before
    assert tom_before != []
    assert await mentions(gql, biz.tenant_id, ["tom@example.com", "+447700900999"]) == tom_before
    services = _services(gql)
    async with tenant_session(gql, biz.owner) as s:
        sarah = await s.get(Customer, (biz.tenant_id, row_id(people["sarah"]["id"])))
        assert sarah is not None
        assert (sarah.name, sarah.phone_e164, sarah.password_hash) == ("Erased customer", None, None)
        # The booking stays for the books, still the (anonymised) account's.
        booking = await s.get(Booking, (biz.tenant_id, row_id(people["booking"]["id"])))
        assert booking is not None
        assert booking.customer_id == sarah.id
        # The CRM may not bring Sarah back.
        for value in ({"email": EMAIL}, {"phone": PHONE}, {"crm_external_id": "90177"}):
            assert await is_erased(s, keys=services.keys, tenant_id=biz.tenant_id, **value)
        entries = (
            (await s.execute(select(AuditEntry).where(AuditEntry.action == "customer.erased")))
            .scalars()
            .all()
        )
        assert [(e.actor, e.subject_id) for e in entries] == [(f"staff:{biz.owner.email}", sarah.id)]
    # Sarah can no longer log in on the website.
    login = await gql.op(
        "CustomerLogIn",
        {"input": {"tenantSlug": biz.owner.slug, "email": EMAIL, "password": "Correct-Horse-42"}},
    )
    assert login.data["customerLogIn"]["errors"][0]["code"] == "INVALID_CREDENTIALS"
    # Writing again from the phone starts afresh, as a stranger.
    await say(gql, http, meta, biz, "Hi")
    assert "No account found" in (meta.sends[-1].text or "")


async def test_twice_unknown_or_foreign_ids_are_typed_errors_that_change_nothing(
    gql: GraphQLClient, http: httpx.AsyncClient, meta: MetaFake
) -> None:
    biz = await business(gql, meta, "erase-salon")
    elsewhere = await business(gql, meta, "other-salon")
    foreign = await create_customer(gql, elsewhere.owner, name=NAME, email=EMAIL, phone=PHONE)
    mine = await create_customer(gql, biz.owner, name=NAME, email=EMAIL, phone=PHONE)
    token = biz.owner.access_token
    foreign_before = await mentions(gql, elsewhere.tenant_id, [EMAIL, PHONE, NAME])
    assert foreign_before != []

    other_tenant = await erase(gql, token, foreign["id"])
    assert [e["code"] for e in other_tenant["errors"]] == ["NOT_FOUND"]
    assert other_tenant["ok"] is False
    unknown = await erase(gql, token, str(relay.GlobalID("Customer", str(uuid.uuid4()))))
    assert unknown["ok"] is False
    assert [e["code"] for e in unknown["errors"]] == ["NOT_FOUND"]
    garbage = await erase(gql, token, "not-an-id")
    assert [(e["field"], e["code"]) for e in garbage["errors"]] == [("customerId", "INVALID")]
    wrong_type = await erase(gql, token, biz.connections[0]["id"])
    assert [e["code"] for e in wrong_type["errors"]] == ["NOT_FOUND"]
    assert await mentions(gql, elsewhere.tenant_id, [EMAIL, PHONE, NAME]) == foreign_before

    assert (await erase(gql, token, mine["id"]))["ok"] is True
    audit_before = await mentions(gql, biz.tenant_id, ["customer.erased"])
    again = await erase(gql, token, mine["id"])
    assert again["ok"] is False
    assert [(e["field"], e["code"]) for e in again["errors"]] == [("customerId", "CONFLICT")]
    assert await mentions(gql, biz.tenant_id, ["customer.erased"]) == audit_before


async def test_only_owners_and_admins_may_erase(gql: GraphQLClient, meta: MetaFake) -> None:
    biz = await business(gql, meta, "erase-salon")
    sarah = await create_customer(gql, biz.owner, name=NAME, email=EMAIL, phone=PHONE)
    staff = await staff_token(gql, biz.owner, "STAFF")
    before = await mentions(gql, biz.tenant_id, [EMAIL, PHONE, NAME])
    assert before != []
    result = await gql.op("EraseCustomerData", {"customerId": sarah["id"]}, token=staff)
    assert [e["extensions"]["code"] for e in result.errors] == ["FORBIDDEN"]
    assert await mentions(gql, biz.tenant_id, [EMAIL, PHONE, NAME]) == before
    admin = await staff_token(gql, biz.owner, "ADMIN")
    assert (await erase(gql, admin, sarah["id"]))["ok"] is True


async def test_two_erasures_at_once_are_one_erasure_and_one_conflict(
    gql: GraphQLClient, meta: MetaFake
) -> None:
    biz = await business(gql, meta, "erase-salon")
    sarah = await create_customer(gql, biz.owner, name=NAME, email=EMAIL, phone=PHONE)
    token = biz.owner.access_token
    results = await asyncio.gather(*(erase(gql, token, sarah["id"]) for _ in range(2)))
    assert sorted((r["ok"], [e["code"] for e in r["errors"]]) for r in results) == [
        (False, ["CONFLICT"]),
        (True, []),
    ]
    assert len(await mentions(gql, biz.tenant_id, ["customer.erased"])) == 1


async def test_delete_my_messages_uses_the_same_erasure_of_history(
    gql: GraphQLClient, http: httpx.AsyncClient, meta: MetaFake
) -> None:
    biz = await business(gql, meta, "erase-salon")
    await create_customer(gql, biz.owner, name=NAME, email=EMAIL, phone="07700 900123")
    await say(gql, http, meta, biz, "Hi")
    await say(gql, http, meta, biz, code_of(meta))
    await say(gql, http, meta, biz, TEXT)
    assert await mentions(gql, biz.tenant_id, ["Biscuitcrumb"]) != []
    await say(gql, http, meta, biz, "delete my messages")
    await say(gql, http, meta, biz, "YES")
    assert meta.sends[-1].text == "Your message history has been deleted."
    # The texts are gone from the log and from the stored webhooks; the account stays.
    assert await mentions(gql, biz.tenant_id, ["Biscuitcrumb"]) == []
    assert await mentions(gql, biz.tenant_id, [EMAIL]) != []
