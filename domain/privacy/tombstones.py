"""Erasure tombstones: keyed digests of an erased person's email, phones and CRM ids, so a CRM sync or a
lead push never brings the person back.

Only digests are stored (never the values): a tombstone must not itself be personal data we keep. Each value
is digested with the newest key of the ``erasure-tombstone`` purpose; lookups try every key, so a key
rotation does not resurrect anyone.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import String, UniqueConstraint, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from bizzly import clock
from bizzly.crypto import KeyRing
from bizzly.db.base import Base, TenantScoped
from bizzly.ids import new_id

PURPOSE = "erasure-tombstone"

EMAIL = "email"
PHONE = "phone"
CRM_ID = "crm_id"


class ErasureTombstone(TenantScoped, Base):
    __tablename__ = "erasure_tombstones"
    __table_args__ = (UniqueConstraint("tenant_id", "kind", "digest"),)

    kind: Mapped[str] = mapped_column(String(10))  # "email" | "phone" | "crm_id"
    digest: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)


def normalize_email(value: str) -> str:
    return value.strip().lower()


def normalize_phone(value: str) -> str:
    """E.164 as stored elsewhere; a digits-only WhatsApp id (``447700900123``) gets its ``+``."""
    digits = "".join(ch for ch in value if ch.isdigit())
    return f"+{digits}" if digits else ""


def normalize_crm_id(value: str) -> str:
    return value.strip()


_NORMALIZE = {EMAIL: normalize_email, PHONE: normalize_phone, CRM_ID: normalize_crm_id}


def _clean(kind: str, values: Iterable[str]) -> set[str]:
    norm = _NORMALIZE[kind]
    return {n for n in (norm(v) for v in values if v) if n}


def _material(tenant_id: uuid.UUID, kind: str, value: str) -> str:
    # Tenant and kind are part of the digest: the same email tombstoned by two businesses gives two rows
    # that cannot be correlated across tenants.
    return f"{tenant_id}:{kind}:{value}"


async def add_tombstone(
    session: AsyncSession,
    *,
    keys: KeyRing,
    tenant_id: uuid.UUID,
    emails: Iterable[str],
    phones: Iterable[str],
    crm_external_ids: Iterable[str],
) -> None:
    """Remember the values as erased (idempotent: values already tombstoned are skipped)."""
    wanted = {
        (kind, value)
        for kind, values in ((EMAIL, emails), (PHONE, phones), (CRM_ID, crm_external_ids))
        for value in _clean(kind, values)
    }
    if not wanted:
        return
    erased = await _existing(session, keys=keys, tenant_id=tenant_id, wanted=wanted)
    for kind, value in sorted(wanted - erased):
        session.add(
            ErasureTombstone(
                id=new_id(),
                tenant_id=tenant_id,
                kind=kind,
                digest=keys.digest(PURPOSE, _material(tenant_id, kind, value)),
            )
        )
    await session.flush()


async def _existing(
    session: AsyncSession, *, keys: KeyRing, tenant_id: uuid.UUID, wanted: set[tuple[str, str]]
) -> set[tuple[str, str]]:
    """The (kind, value) pairs among ``wanted`` already tombstoned — one query for the whole batch."""
    by_digest: dict[tuple[str, str], tuple[str, str]] = {}
    for kind, value in wanted:
        for digest in keys.digests(PURPOSE, _material(tenant_id, kind, value)):
            by_digest[(kind, digest)] = (kind, value)
    if not by_digest:
        return set()
    found: set[tuple[str, str]] = set()
    digests = sorted({d for _, d in by_digest})
    # Chunked so a batch of thousands of contacts stays under bind-parameter limits.
    for start in range(0, len(digests), 500):
        chunk = digests[start : start + 500]
        rows = await session.execute(
            select(ErasureTombstone.kind, ErasureTombstone.digest).where(
                ErasureTombstone.tenant_id == tenant_id, ErasureTombstone.digest.in_(chunk)
            )
        )
        for kind, digest in rows.all():
            hit = by_digest.get((kind, digest))
            if hit is not None:
                found.add(hit)
    return found


class ErasedSet:
    """Which of a batch's values are erased (normalised the same way as when they were tombstoned)."""

    def __init__(self, erased: set[tuple[str, str]]) -> None:
        self._erased = erased

    def email(self, value: str | None) -> bool:
        return bool(value) and (EMAIL, normalize_email(value or "")) in self._erased

    def phone(self, value: str | None) -> bool:
        return bool(value) and (PHONE, normalize_phone(value or "")) in self._erased

    def crm_id(self, value: str | None) -> bool:
        return bool(value) and (CRM_ID, normalize_crm_id(value or "")) in self._erased

    def __bool__(self) -> bool:
        return bool(self._erased)


async def erased_filter(
    session: AsyncSession,
    *,
    keys: KeyRing,
    tenant_id: uuid.UUID,
    emails: Iterable[str | None] = (),
    phones: Iterable[str | None] = (),
    crm_external_ids: Iterable[str | None] = (),
) -> ErasedSet:
    """One query for a whole batch; ask the result ``.email(v)``, ``.phone(v)``, ``.crm_id(v)``."""
    wanted = {
        (kind, value)
        for kind, values in ((EMAIL, emails), (PHONE, phones), (CRM_ID, crm_external_ids))
        for value in _clean(kind, (v for v in values if v))
    }
    if not wanted:
        return ErasedSet(set())
    return ErasedSet(await _existing(session, keys=keys, tenant_id=tenant_id, wanted=wanted))


async def is_erased(
    session: AsyncSession,
    *,
    keys: KeyRing,
    tenant_id: uuid.UUID,
    email: str | None = None,
    phone: str | None = None,
    crm_external_id: str | None = None,
) -> bool:
    """Whether any of the given values belongs to an erased person."""
    return bool(
        await erased_filter(
            session,
            keys=keys,
            tenant_id=tenant_id,
            emails=[email] if email else [],
            phones=[phone] if phone else [],
            crm_external_ids=[crm_external_id] if crm_external_id else [],
        )
    )
