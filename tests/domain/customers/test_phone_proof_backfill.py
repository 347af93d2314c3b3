"""The phone-ownership migration's backfill: existing accounts keep a proof only where one already existed
(a WhatsApp verification from the account's own phone, or staff having entered the phone)."""

from __future__ import annotations

import importlib.util
from datetime import timedelta
from pathlib import Path
from types import ModuleType

from sqlalchemy import select, text, update

from bizzly import clock
from bizzly.db.engine import MaintenanceUse
from bizzly.ids import new_id
from domain.assistant.models import AssistantSession
from domain.customers.models import Customer
from tests.support.accounts import _services, sign_up, tenant_uuid
from tests.support.customers import create_customer, register, row_id
from tests.support.graphql import GraphQLClient

MIGRATION = Path(__file__).parents[3] / "migrations" / "versions" / "0014_phone_ownership.py"


def _migration() -> ModuleType:
    spec = importlib.util.spec_from_file_location("0014_phone_ownership", MIGRATION)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_the_backfill_proves_only_chat_verified_and_staff_entered_phones(gql: GraphQLClient) -> None:
    owner = await sign_up(gql, slug="backfill-salon")
    slug = owner.slug
    await create_customer(gql, owner, name="Sarah", email="sarah@example.com", phone="+447700900001")
    typed = await register(gql, slug, name="Mallory", email="mallory@example.com", phone="+447700900002")
    verified = await register(gql, slug, name="Rita", email="rita@example.com", phone="+447700900003")
    retyped = await register(gql, slug, name="Walt", email="walt@example.com", phone="+447700900004")
    changed = await gql.op(
        "UpdateMyProfile", {"input": {"phone": "+447700900005"}}, token=retyped["accessToken"]
    )
    assert changed.data["updateMyProfile"]["errors"] == []
    later = await register(gql, slug, name="Tom", email="tom@example.com")
    by_staff = await gql.op(
        "UpdateCustomer",
        {"input": {"id": later["customer"]["id"], "phone": "+447700900006"}},
        token=owner.access_token,
    )
    assert by_staff.data["updateCustomer"]["errors"] == []
    # Mallory's account was once verified from *another* phone: that proves nothing about hers.
    tenant_id = await tenant_uuid(gql, slug)
    db = _services(gql).db
    now = clock.now()
    async with db.tenant_session(tenant_id, write=True) as s, s.begin():
        for customer_id, wa_id in (
            (verified["customer"]["id"], "447700900003"),
            (typed["customer"]["id"], "447700900999"),
        ):
            s.add(
                AssistantSession(
                    id=new_id(),
                    user_key=wa_id,
                    customer_id=row_id(customer_id),
                    started_at=now - timedelta(days=2),
                    expires_at=now - timedelta(days=1),
                )
            )

    migration = _migration()
    async with db.maintenance_session(MaintenanceUse.TESTS, write=True) as s, s.begin():
        # As before the migration: no account has a proof.
        await s.execute(update(Customer).values(phone_proven_at=None, phone_proven_by=None))
        await s.execute(text(migration._BY_CHAT))
        await s.execute(text(migration._BY_STAFF))
    async with db.maintenance_session(MaintenanceUse.TESTS, write=False) as s:
        found = {c.name: c for c in (await s.execute(select(Customer))).scalars()}
    assert {name: c.phone_proven_by for name, c in found.items()} == {
        "Sarah": "staff",
        "Mallory": None,
        "Rita": "whatsapp",
        "Walt": None,
        "Tom": "staff",
    }
    assert found["Rita"].phone_proven_at == now - timedelta(days=2)
