"""The staff's list of CRM contacts: newest first, searchable by name, email or phone."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bizzly.db.paging import Page, PageRequest, keyset_page
from bizzly.db.tenancy import session_tenant
from bizzly.errors import Invalid
from domain.identity.models import CrmContact
from domain.identity.phones import InvalidPhone, parse_phone

SEARCH_MAX = 200


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped.lower()}%"


async def search_crm_contacts(
    session: AsyncSession, *, search: str | None, page: PageRequest, region: str | None = None
) -> Page[CrmContact]:
    tenant = session_tenant(session.sync_session)
    if tenant is None:
        raise RuntimeError("search_crm_contacts needs a tenant-bound session")
    text = (search or "").strip()
    if len(text) > SEARCH_MAX:
        raise Invalid(f"Search with at most {SEARCH_MAX} characters.", field="search")
    stmt = select(CrmContact).where(CrmContact.tenant_id == tenant)
    if text:
        pattern = _like(text)
        clauses = [
            CrmContact.email_key.like(pattern, escape="\\"),
            CrmContact.first_name.ilike(pattern, escape="\\"),
            CrmContact.last_name.ilike(pattern, escape="\\"),
            CrmContact.external_id == text,
        ]
        e164: str | None = None
        if any(ch.isdigit() for ch in text):
            try:
                e164 = parse_phone(text, region).e164
            except InvalidPhone:
                e164 = None
        if e164:
            clauses += [
                CrmContact.phone_e164 == e164,
                CrmContact.mobile_e164 == e164,
                CrmContact.whatsapp_e164 == e164,
            ]
        stmt = stmt.where(or_(*clauses))
    return await keyset_page(session, stmt, order=[(CrmContact.id, True)], page=page, with_total=True)
