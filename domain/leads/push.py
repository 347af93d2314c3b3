"""What Bizzly pushes to HubSpot, decided on our side (the adapter, ``integrations.hubspot.leads``, only
talks to HubSpot).

One ``hubspot.push`` outbox row per tenant (``hooks.schedule_push``) takes up to ``BATCH`` pending items --
customers changed on our side and form leads without a HubSpot form -- and upserts them by email in one
call; it queues itself again while more are pending. Rules, in one place:

- erased people (privacy tombstones) are never sent; their marks are cleared;
- a phone is sent only to a contact that has none: never when HubSpot's contact already has a phone (read
  before write) and, for a lead, never when the email's customer or CRM contact here has one;
- a lead sends names only to a contact HubSpot does not have yet (a public form renames nobody).

Handlers work in three steps because SQLite has one writer: ``plan_*`` reads (its own read session), the
adapter calls HubSpot holding no lock, ``apply_*`` writes in the handler's transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bizzly import clock
from bizzly.crypto import KeyRing
from domain.connections.hubspot_form import hubspot_form_guid
from domain.customers.repository import Customers
from domain.customers.service import current_tenant
from domain.identity.models import SyncStatus
from domain.identity.service import upsert_crm_contact
from domain.leads.models import Lead
from domain.leads.repository import (
    CustomerPushes,
    Leads,
    count_pending,
    emails_with_phones,
    pushes_by_ids,
)
from domain.privacy.erasure import ERASED_EMAIL_DOMAIN
from domain.privacy.tombstones import erased_filter

BATCH = 100  # HubSpot's batch limit
ERASED = "erased"


@dataclass(frozen=True)
class ExistingContact:
    """What HubSpot holds for an email (read before writing)."""

    hubspot_id: str
    has_phone: bool


@dataclass
class PushItem:
    email: str
    email_key: str
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    marks: list[tuple[uuid.UUID, datetime]] = field(default_factory=list)  # (mark id, changed_at read)
    lead_ids: list[uuid.UUID] = field(default_factory=list)
    protected: bool = False  # a customer or CRM contact here has a phone (matters for leads only)

    def properties(self, existing: ExistingContact | None) -> dict[str, str]:
        props = {"email": self.email}
        from_customer = bool(self.marks)
        if from_customer or existing is None:
            if self.first_name:
                props["firstname"] = self.first_name
            if self.last_name:
                props["lastname"] = self.last_name
        may_phone = existing is None or not existing.has_phone
        if self.phone and may_phone and (from_customer or not self.protected):
            props["phone"] = self.phone
        return props


@dataclass
class PushPlan:
    items: list[PushItem] = field(default_factory=list)
    gone_marks: list[uuid.UUID] = field(default_factory=list)  # their customer was deleted
    erased_marks: list[uuid.UUID] = field(default_factory=list)
    erased_leads: list[uuid.UUID] = field(default_factory=list)


def _split_name(name: str) -> tuple[str | None, str | None]:
    first, _, last = name.strip().partition(" ")
    return first or None, last.strip() or None


async def plan_push(session: AsyncSession, *, keys: KeyRing, tenant_id: uuid.UUID) -> PushPlan:
    """Up to ``BATCH`` pending items, one per email (HubSpot refuses a batch naming an email twice)."""
    plan = PushPlan()
    marks = await CustomerPushes(session).pending(BATCH)
    customers = await Customers(session).by_ids([m.customer_id for m in marks])
    leads = await Leads(session).pending_push(BATCH)
    emails = [c.email for c in customers.values()] + [lead.email for lead in leads]
    erased = await erased_filter(session, keys=keys, tenant_id=tenant_id, emails=emails)
    items: dict[str, PushItem] = {}
    for mark in marks:
        customer = customers.get(mark.customer_id)
        if customer is None:
            plan.gone_marks.append(mark.id)
        elif erased.email(customer.email) or customer.email_key.endswith("@" + ERASED_EMAIL_DOMAIN):
            # An erased account keeps a placeholder address: it is nobody, and HubSpot would refuse it.
            plan.erased_marks.append(mark.id)
        elif customer.email_key in items or len(items) < BATCH:
            first, last = _split_name(customer.name)
            item = items.setdefault(customer.email_key, PushItem(customer.email, customer.email_key))
            item.first_name, item.last_name, item.phone = first, last, customer.phone_e164
            item.marks.append((mark.id, mark.changed_at))
    for lead in leads:
        if erased.email(lead.email):
            plan.erased_leads.append(lead.id)
            continue
        known = items.get(lead.email_key)
        if known is None:
            if len(items) >= BATCH:
                continue
            known = items[lead.email_key] = PushItem(
                lead.email, lead.email_key, lead.first_name, lead.last_name, lead.phone_e164
            )
        elif not known.marks and known.phone is None:
            known.phone = lead.phone_e164
        known.lead_ids.append(lead.id)
    protected = await emails_with_phones(session, list(items))
    for item in items.values():
        item.protected = item.email_key in protected
    plan.items = list(items.values())
    return plan


async def apply_push(
    session: AsyncSession, *, plan: PushPlan, ids: Mapping[str, str] | None, failure: str | None = None
) -> bool:
    """Record HubSpot's answer (``ids``: lower-cased email -> contact id) or ``failure``; returns whether
    more items are pending. Ids go on the lead, on the push mark, and as the CRM contact linked to the
    customer. A customer changed since the plan was read keeps its mark (its change goes next time).
    Storing ids changes no customer, so nothing is marked again: HubSpot's answer is not echoed back."""
    now = clock.now()
    tenant = await current_tenant(session)
    pushes = CustomerPushes(session)
    mark_ids = [m for item in plan.items for m, _ in item.marks]
    marks = {m.id: m for m in await pushes_by_ids(session, [*mark_ids, *plan.gone_marks, *plan.erased_marks])}
    leads = await Leads(session).by_ids([i for item in plan.items for i in item.lead_ids] + plan.erased_leads)
    for mark_id in plan.gone_marks:
        if mark_id in marks:
            await pushes.remove(marks[mark_id])
    for mark_id in plan.erased_marks:
        if mark_id in marks:
            marks[mark_id].pending = False
            marks[mark_id].last_error = ERASED
    for lead_id in plan.erased_leads:
        if lead_id in leads:
            _lead_failed(leads[lead_id], ERASED)
    for item in plan.items:
        hubspot_id = (ids or {}).get(item.email_key)
        error = failure or (None if hubspot_id else "HubSpot did not return this contact")
        for mark_id, seen in item.marks:
            mark = marks.get(mark_id)
            if mark is None:
                continue
            if mark.changed_at == seen:
                mark.pending = False
            mark.last_error = error[:300] if error else None
            if hubspot_id:
                mark.pushed_at = now
                mark.hubspot_contact_id = hubspot_id
        if hubspot_id and item.marks:
            await upsert_crm_contact(
                session,
                tenant=tenant,
                external_id=hubspot_id,
                email=item.email,
                sync_status=SyncStatus.SYNCED,
            )
        for lead_id in item.lead_ids:
            lead = leads.get(lead_id)
            if lead is None:
                continue
            if hubspot_id:
                lead.push_pending = False
                _lead_synced(lead, hubspot_id)
            else:
                _lead_failed(lead, error or "")
    await session.flush()
    return await count_pending(session) > 0


# --- one lead to the configured HubSpot form ---------------------------------------------------------


@dataclass(frozen=True)
class FormPlan:
    lead_id: uuid.UUID
    form_guid: str | None  # None: no form any more, the batched upsert takes the lead
    erased: bool
    email: str
    email_key: str
    fields: list[tuple[str, str]]  # without the phone
    phone: str | None
    protected: bool
    hutk: str | None
    page_uri: str | None
    consent_text: str | None
    submitted_at_ms: int


async def plan_form(
    session: AsyncSession, *, keys: KeyRing, tenant_id: uuid.UUID, lead_id: uuid.UUID
) -> FormPlan | None:
    lead = await Leads(session).get(lead_id)
    if lead is None or lead.sync_status == SyncStatus.SYNCED.value:
        return None
    erased = await erased_filter(session, keys=keys, tenant_id=tenant_id, emails=[lead.email])
    tenant = await current_tenant(session)
    fields = [("email", lead.email)]
    for name, value in (
        ("firstname", lead.first_name),
        ("lastname", lead.last_name),
        ("message", lead.message),
    ):
        if value:
            fields.append((name, value))
    return FormPlan(
        lead_id=lead.id,
        form_guid=await hubspot_form_guid(session),
        erased=erased.email(lead.email),
        email=lead.email,
        email_key=lead.email_key,
        fields=fields,
        phone=lead.phone_e164,
        protected=lead.email_key in await emails_with_phones(session, [lead.email_key]),
        hutk=lead.hutk,
        page_uri=lead.page_uri,
        consent_text=(
            f"I agree to allow {tenant.name} to store and process my personal data." if lead.consent else None
        ),
        submitted_at_ms=int(lead.created_at.timestamp() * 1000),
    )


def form_fields(plan: FormPlan, existing: ExistingContact | None) -> list[tuple[str, str]]:
    """The submission's contact fields: names only for a contact HubSpot does not have yet, the phone only
    to a contact that has none, here and at HubSpot."""
    names = ("firstname", "lastname")
    fields = [(k, v) for k, v in plan.fields if existing is None or k not in names]
    if plan.phone and not plan.protected and (existing is None or not existing.has_phone):
        fields.append(("phone", plan.phone))
    return fields


async def apply_form(
    session: AsyncSession,
    *,
    lead_id: uuid.UUID,
    to_push: bool = False,
    hubspot_id: str | None = None,
    failure: str | None = None,
) -> None:
    """Record the outcome: sent (``hubspot_id`` when HubSpot already had the contact), ``failure``, or
    ``to_push`` (no form configured any more: the batched upsert takes it)."""
    lead = await Leads(session).get(lead_id)
    if lead is None:
        return
    if to_push:
        lead.push_pending = True
    elif failure is not None:
        _lead_failed(lead, failure)
    else:
        _lead_synced(lead, hubspot_id)


def _lead_synced(lead: Lead, hubspot_id: str | None) -> None:
    lead.sync_status = SyncStatus.SYNCED.value
    lead.synced_at = clock.now()
    lead.last_error = None
    if hubspot_id:
        lead.hubspot_contact_id = hubspot_id


def _lead_failed(lead: Lead, reason: str) -> None:
    lead.push_pending = False
    lead.sync_status = SyncStatus.FAILED.value
    lead.last_error = reason[:300]
