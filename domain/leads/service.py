"""Website contact forms: validate, throttle, record the lead, and queue what follows (HubSpot, the owner's
alert, the GA ``generate_lead`` event) through the outbox in the same transaction.

A lead is its own record, not an account: its email links it to the account with that email (now, or when
that email registers later -- ``domain.leads.hooks``), and its phone is never copied anywhere. Services
take keyword-only arguments and never commit.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlparse

from sqlalchemy.ext.asyncio import AsyncSession

from bizzly.db.paging import Page, PageRequest
from bizzly.db.tenancy import session_tenant
from bizzly.errors import Invalid
from bizzly.ids import new_id
from bizzly.outbox import add_outbox
from bizzly.settings import Settings
from domain.connections.analytics import queue_event
from domain.connections.hubspot_form import hubspot_form_guid
from domain.customers.repository import Customers
from domain.customers.service import check_email
from domain.identity.models import SyncStatus
from domain.identity.phones import parse_optional_phone
from domain.leads import hooks
from domain.leads.models import Lead
from domain.leads.repository import Leads
from domain.leads.throttle import FormThrottle
from domain.notifications import OWNER_ALERT_TOPIC
from domain.privacy.audit import record
from tenants.models import Tenant
from tenants.validation import Problems

FORM_TOPIC = "hubspot.lead_form"

NAME_MAX = 100
MESSAGE_MAX = 5000
PAGE_URI_MAX = 2000
HUTK_MAX = 100
CLIENT_ID_MAX = 100
# GA's client id is "<random>.<timestamp>". Both kept to safe characters.
_TOKEN = re.compile(r"^[A-Za-z0-9._\-]+$")
_HUTK = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True)
class ContactForm:
    email: str
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    message: str | None = None
    page_uri: str | None = None
    hutk: str | None = None
    consent: bool | None = None
    analytics_client_id: str | None = None


def _text(value: str | None, *, field: str, label: str, max_length: int) -> str | None:
    text = (value or "").strip()
    if len(text) > max_length:
        raise Invalid(f"Use at most {max_length} characters for {label}.", field=field)
    return text or None


def _token(value: str | None, *, field: str, label: str, max_length: int) -> str | None:
    text = _text(value, field=field, label=label, max_length=max_length)
    if text is not None and not _TOKEN.match(text):
        raise Invalid(f"This is not a valid {label}.", field=field)
    return text


def _hutk(value: str | None) -> str | None:
    text = _text(value, field="hutk", label="the HubSpot tracking id", max_length=HUTK_MAX)
    if text is not None and not _HUTK.match(text.lower()):
        raise Invalid("This is not a HubSpot tracking id (the hubspotutk cookie).", field="hutk")
    return text.lower() if text else None


def _page_uri(value: str | None) -> str | None:
    text = _text(value, field="pageUri", label="the page address", max_length=PAGE_URI_MAX)
    if text is None:
        return None
    parsed = urlparse(text)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise Invalid("The page address must be an http(s) URL.", field="pageUri")
    return text


async def submit_contact_form(
    session: AsyncSession, *, tenant: Tenant, settings: Settings, client_ip: str, form: ContactForm
) -> Lead:
    """Record a website contact form. Every input problem is reported at once and nothing is written;
    past the throttle ``LIMIT_REACHED`` and nothing is written either."""
    if session_tenant(session.sync_session) != tenant.id:
        raise RuntimeError("the session is bound to another tenant than the one passed")
    problems = Problems()
    emails = problems.check(lambda: check_email(form.email))
    first = problems.check(
        lambda: _text(form.first_name, field="firstName", label="the first name", max_length=NAME_MAX)
    )
    last = problems.check(
        lambda: _text(form.last_name, field="lastName", label="the last name", max_length=NAME_MAX)
    )
    phone = problems.check(lambda: parse_optional_phone(form.phone, tenant.default_region, field="phone"))
    message = problems.check(
        lambda: _text(form.message, field="message", label="the message", max_length=MESSAGE_MAX)
    )
    page_uri = problems.check(lambda: _page_uri(form.page_uri))
    hutk = problems.check(lambda: _hutk(form.hutk))
    client_id = problems.check(
        lambda: _token(
            form.analytics_client_id,
            field="analyticsClientId",
            label="analytics client id",
            max_length=CLIENT_ID_MAX,
        )
    )
    problems.raise_if_any()
    assert emails is not None

    throttle = FormThrottle(session, settings=settings, tenant_id=tenant.id, client_ip=client_ip)
    refusal = await throttle.refusal()
    if refusal is not None:
        raise refusal

    customer = await Customers(session).by_email_key(emails[1])
    lead = Lead(
        tenant_id=tenant.id,
        id=new_id(),
        email=emails[0],
        email_key=emails[1],
        first_name=first,
        last_name=last,
        phone_raw=phone.raw if phone else None,
        phone_e164=phone.e164 if phone else None,
        message=message,
        page_uri=page_uri,
        hutk=hutk,
        consent=bool(form.consent),
        customer_id=customer.id if customer else None,
        sync_status=SyncStatus.NOT_CONNECTED.value,
        push_pending=False,
    )
    Leads(session).add(lead)
    if await hooks.hubspot_connected(session):
        lead.sync_status = SyncStatus.PENDING.value
        if await hubspot_form_guid(session):
            await add_outbox(
                session,
                topic=FORM_TOPIC,
                payload={"lead_id": str(lead.id)},
                dedupe_key=f"lead-form:{lead.id}",
            )
        else:
            lead.push_pending = True
            await hooks.schedule_push(session)
    await throttle.accepted()
    await session.flush()
    record(session, actor="website", action="lead.created", subject_type="Lead", subject_id=lead.id)
    await add_outbox(session, topic=OWNER_ALERT_TOPIC, payload={"kind": "new_lead", "lead_id": str(lead.id)})
    await queue_event(session, name="generate_lead", customer_id=lead.customer_id, client_id=client_id)
    return lead


async def leads_page(session: AsyncSession, *, page: PageRequest) -> Page[Lead]:
    """The tenant's leads, newest first."""
    return await Leads(session).page(page)


async def leads_by_ids(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Lead]:
    return await Leads(session).by_ids(ids)
