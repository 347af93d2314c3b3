"""SQL for CRM contacts and the phone lookup index (built on a tenant-bound session)."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence

from sqlalchemy import Select, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from bizzly.db.tenancy import session_tenant
from bizzly.ids import new_id
from domain.customers.models import Customer
from domain.identity.models import CrmContact, OwnerKind, PhoneIndexEntry


def _tenant(session: AsyncSession) -> uuid.UUID:
    tenant = session_tenant(session.sync_session)
    if tenant is None:
        raise RuntimeError("identity repositories need a tenant-bound session")
    return tenant


class PhoneIndex:
    """The one lookup index: (tenant, E.164) -> owners (customers and CRM contacts)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.tenant_id = _tenant(session)

    async def owners(self, e164: str) -> list[tuple[OwnerKind, uuid.UUID]]:
        stmt = select(PhoneIndexEntry.owner_kind, PhoneIndexEntry.owner_id).where(
            PhoneIndexEntry.tenant_id == self.tenant_id, PhoneIndexEntry.e164 == e164
        )
        return [(OwnerKind(kind), owner) for kind, owner in (await self.session.execute(stmt)).all()]

    async def set_phones(self, kind: OwnerKind, owner_id: uuid.UUID, phones: Collection[str]) -> None:
        """Make the index hold exactly ``phones`` for this owner (an empty set removes the owner)."""
        stmt = select(PhoneIndexEntry).where(
            PhoneIndexEntry.tenant_id == self.tenant_id,
            PhoneIndexEntry.owner_kind == kind.value,
            PhoneIndexEntry.owner_id == owner_id,
        )
        existing = list((await self.session.execute(stmt)).scalars())
        wanted = set(phones)
        for entry in existing:
            if entry.e164 not in wanted:
                await self.session.delete(entry)
        have = {e.e164 for e in existing}
        for e164 in sorted(wanted - have):
            self.session.add(
                PhoneIndexEntry(tenant_id=self.tenant_id, e164=e164, owner_kind=kind.value, owner_id=owner_id)
            )

    async def replace_many(self, kind: OwnerKind, phones_by_owner: dict[uuid.UUID, set[str]]) -> None:
        """``set_phones`` for many owners in two statements (the CRM import's pages)."""
        if not phones_by_owner:
            return
        await self.session.execute(
            delete(PhoneIndexEntry)
            .where(
                PhoneIndexEntry.tenant_id == self.tenant_id,
                PhoneIndexEntry.owner_kind == kind.value,
                PhoneIndexEntry.owner_id.in_(list(phones_by_owner)),
            )
            .execution_options(synchronize_session=False)
        )
        rows = [
            {
                "tenant_id": self.tenant_id,
                "id": new_id(),
                "e164": e164,
                "owner_kind": kind.value,
                "owner_id": owner,
            }
            for owner, phones in phones_by_owner.items()
            for e164 in sorted(phones)
        ]
        if rows:
            await self.session.execute(insert(PhoneIndexEntry), rows)

    async def remove_owner(self, kind: OwnerKind, owner_id: uuid.UUID) -> None:
        await self.session.execute(
            delete(PhoneIndexEntry)
            .where(
                PhoneIndexEntry.tenant_id == self.tenant_id,
                PhoneIndexEntry.owner_kind == kind.value,
                PhoneIndexEntry.owner_id == owner_id,
            )
            .execution_options(synchronize_session=False)
        )


class CrmContacts:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.tenant_id = _tenant(session)

    def _base(self) -> Select[CrmContact]:
        return select(CrmContact).where(CrmContact.tenant_id == self.tenant_id)

    async def get(self, contact_id: uuid.UUID) -> CrmContact | None:
        stmt = self._base().where(CrmContact.id == contact_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def by_external_id(self, external_id: str) -> CrmContact | None:
        stmt = self._base().where(CrmContact.external_id == external_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def by_ids(self, ids: Sequence[uuid.UUID]) -> list[CrmContact]:
        if not ids:
            return []
        stmt = self._base().where(CrmContact.id.in_(set(ids))).order_by(CrmContact.id)
        return list((await self.session.execute(stmt)).scalars())

    async def unlinked_with_email(self, email_key: str) -> list[CrmContact]:
        stmt = self._base().where(
            CrmContact.email_key == email_key,
            CrmContact.customer_id.is_(None),
            # A contact unlinked by hand (link_source "manual", no customer) stays unlinked.
            CrmContact.link_source.is_(None),
            CrmContact.archived.is_(False),
        )
        return list((await self.session.execute(stmt)).scalars())

    async def linked_to(self, customer_id: uuid.UUID) -> list[CrmContact]:
        stmt = self._base().where(CrmContact.customer_id == customer_id)
        return list((await self.session.execute(stmt)).scalars())

    async def by_external_ids(self, external_ids: Collection[str]) -> dict[str, CrmContact]:
        if not external_ids:
            return {}
        stmt = self._base().where(CrmContact.external_id.in_(set(external_ids)))
        return {c.external_id: c for c in (await self.session.execute(stmt)).scalars()}

    async def customer_ids_by_email_keys(self, email_keys: Collection[str]) -> dict[str, uuid.UUID]:
        """The website accounts with these emails (one query for a page of CRM contacts)."""
        if not email_keys:
            return {}
        stmt = select(Customer.email_key, Customer.id).where(
            Customer.tenant_id == self.tenant_id, Customer.email_key.in_(set(email_keys))
        )
        return {key: cid for key, cid in (await self.session.execute(stmt)).all()}

    async def remove(self, contacts: Sequence[CrmContact]) -> None:
        for contact in contacts:
            await self.session.delete(contact)

    def add(self, contact: CrmContact) -> None:
        self.session.add(contact)

    def add_all(self, contacts: Sequence[CrmContact]) -> None:
        self.session.add_all(contacts)
