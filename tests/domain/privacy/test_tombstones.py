"""Tombstones: erased values are recognised (in any spelling, after a key rotation), others are not, and
nothing readable is stored."""

from __future__ import annotations

from sqlalchemy import select

from bizzly.crypto import KeyRing
from domain.privacy.tombstones import ErasureTombstone, add_tombstone, erased_filter, is_erased
from tests.support.accounts import _services, sign_up
from tests.support.customers import row_id, tenant_session
from tests.support.graphql import GraphQLClient


async def test_tombstoned_values_are_recognised_and_only_digests_are_stored(gql: GraphQLClient) -> None:
    acme = await sign_up(gql, slug="acme")
    other = await sign_up(gql, slug="other")
    keys: KeyRing = _services(gql).keys
    tid = row_id(acme.tenant_id)
    async with tenant_session(gql, acme) as s:
        await add_tombstone(
            s,
            keys=keys,
            tenant_id=tid,
            emails=["  Sarah@Example.com "],
            phones=["+44 7700 900123"],
            crm_external_ids=["901"],
        )
        # Twice is harmless.
        await add_tombstone(
            s, keys=keys, tenant_id=tid, emails=["sarah@example.com"], phones=[], crm_external_ids=["901"]
        )
    async with tenant_session(gql, acme) as s:
        rows = (await s.execute(select(ErasureTombstone))).scalars().all()
        assert sorted(r.kind for r in rows) == ["crm_id", "email", "phone"]
        stored = " ".join(r.digest for r in rows)
        assert "sarah" not in stored
        assert "7700900123" not in stored
        found = await erased_filter(
            s,
            keys=keys,
            tenant_id=tid,
            emails=["sarah@example.com", "tom@example.com", None],
            phones=["447700900123", "+447700900999"],
            crm_external_ids=["901", "902"],
        )
        assert found.email("SARAH@example.com")
        assert not found.email("tom@example.com")
        assert found.phone("447700900123")
        assert found.phone("+447700900123")
        assert not found.phone("+447700900999")
        assert found.crm_id("901")
        assert not found.crm_id("902")
        assert await is_erased(s, keys=keys, tenant_id=tid, phone="+447700900123")
        assert not await is_erased(s, keys=keys, tenant_id=tid, email="tom@example.com")
        assert not await is_erased(s, keys=keys, tenant_id=tid)
    # Another business's tombstones say nothing about this person there.
    async with tenant_session(gql, other) as s:
        assert not await is_erased(s, keys=keys, tenant_id=row_id(other.tenant_id), email="sarah@example.com")


async def test_a_key_rotation_keeps_people_erased(gql: GraphQLClient) -> None:
    acme = await sign_up(gql, slug="acme")
    old: KeyRing = _services(gql).keys
    tid = row_id(acme.tenant_id)
    async with tenant_session(gql, acme) as s:
        await add_tombstone(
            s, keys=old, tenant_id=tid, emails=["sarah@example.com"], phones=[], crm_external_ids=[]
        )
    rotated = KeyRing(["a-brand-new-secret-key-for-rotation-test-0001", *old._keys])
    async with tenant_session(gql, acme) as s:
        assert await is_erased(s, keys=rotated, tenant_id=tid, email="sarah@example.com")
        # Tombstoning again under the new key does not add a second row.
        await add_tombstone(
            s, keys=rotated, tenant_id=tid, emails=["sarah@example.com"], phones=[], crm_external_ids=[]
        )
        assert len((await s.execute(select(ErasureTombstone))).scalars().all()) == 1
