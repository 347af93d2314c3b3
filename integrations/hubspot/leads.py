"""Us -> HubSpot: website contact forms and the batched contact push (outbox handlers).

- ``hubspot.lead_form`` {lead_id}: one lead to the tenant's configured HubSpot form through the Forms API's
  secure submit (the tenant's token, ``hutk`` and ``pageUri`` in the context, consent when given). No form
  configured any more: the lead joins the batched push instead.
- ``hubspot.push`` {}: up to 100 pending customers and leads upserted by email in one batch call, after
  one batch read by email (a phone goes only to a contact that has none); HubSpot's ids are stored back;
  re-queues itself while more are pending.

What is sent is decided in ``domain.leads.push``. ``RateLimited`` (a ``RetryLater``) propagates: the row
and its writes are rolled back and it runs again later, so nothing is lost. ``ConnectionUnavailable``
stops the job; pending marks stay for the next push after a reconnect.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
from hubspot import HubSpot
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInputUpsert,
    BatchReadInputSimplePublicObjectId,
    SimplePublicObjectBatchInputUpsert,
    SimplePublicObjectId,
)

from bizzly.outbox import OutboxRow
from bizzly.tasks import TaskContext, outbox_handler
from domain.leads import push
from domain.leads.hooks import PUSH_TOPIC, schedule_push
from domain.leads.service import FORM_TOPIC
from integrations.hubspot.client import HubSpotPortal, portals_of
from integrations.hubspot.errors import ConnectionUnavailable, HubSpotApiError

FORMS_TIMEOUT = 10.0
_PHONE_PROPERTIES = ("phone", "mobilephone")


class FormsApiError(Exception):
    """A Forms API answer >= 400, shaped like the SDK's ApiException (``status``, ``body``) so
    ``HubSpotPortal.call`` treats 401 / 429 / 4xx the same way."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"HubSpot Forms API answered {status}")
        self.status = status
        self.body = body


async def existing_by_email(portal: HubSpotPortal, emails: list[str]) -> dict[str, push.ExistingContact]:
    """HubSpot's contacts with these emails (one batch read; lower-cased email -> contact)."""
    if not emails:
        return {}
    request = BatchReadInputSimplePublicObjectId(
        inputs=[SimplePublicObjectId(id=e) for e in emails],
        id_property="email",
        properties=["email", *_PHONE_PROPERTIES],
        properties_with_history=[],
    )
    answer = await portal.call(lambda hs: hs.crm.contacts.batch_api.read(request))
    found: dict[str, push.ExistingContact] = {}
    for result in answer.results or []:
        props = result.properties or {}
        email = str(props.get("email") or "").strip().lower()
        if email:
            has_phone = any(str(props.get(p) or "").strip() for p in _PHONE_PROPERTIES)
            found[email] = push.ExistingContact(hubspot_id=str(result.id), has_phone=has_phone)
    return found


# --- the contact form ------------------------------------------------------------------------------------


def _submit(url: str, body: dict[str, Any]) -> Callable[[HubSpot], Any]:
    def run(hs: HubSpot) -> Any:
        response = httpx.post(
            url, json=body, headers={"Authorization": f"Bearer {hs.access_token}"}, timeout=FORMS_TIMEOUT
        )
        if response.status_code >= 400:
            raise FormsApiError(response.status_code, response.text)
        return response.json() if response.content else {}

    return run


@outbox_handler(FORM_TOPIC)
async def submit_lead_form(ctx: TaskContext, row: OutboxRow, data: dict[str, Any]) -> None:
    lead_id = uuid.UUID(str(data["lead_id"]))
    # Read in a session of its own, call HubSpot holding no lock, then write (SQLite has one writer).
    async with ctx.db.tenant_session(ctx.tenant_id, write=False) as reader:
        plan = await push.plan_form(reader, keys=ctx.keys, tenant_id=ctx.tenant_id, lead_id=lead_id)
    if plan is None:
        return
    if plan.form_guid is None:  # the form was removed since: the batched contact upsert takes the lead
        await push.apply_form(ctx.session, lead_id=lead_id, to_push=True)
        await schedule_push(ctx.session, delay=timedelta())
        return
    if plan.erased:
        await push.apply_form(ctx.session, lead_id=lead_id, failure=push.ERASED)
        return
    try:
        portal = await portals_of(ctx).for_tenant(ctx.tenant_id)
    except ConnectionUnavailable as exc:
        await push.apply_form(ctx.session, lead_id=lead_id, failure=str(exc))
        return
    existing = (await existing_by_email(portal, [plan.email])).get(plan.email_key)
    body: dict[str, Any] = {
        "fields": [
            {"objectTypeId": "0-1", "name": name, "value": value}
            for name, value in push.form_fields(plan, existing)
        ],
        "submittedAt": str(plan.submitted_at_ms),
    }
    context = {k: v for k, v in (("hutk", plan.hutk), ("pageUri", plan.page_uri)) if v}
    if context:
        body["context"] = context
    if plan.consent_text:
        body["legalConsentOptions"] = {"consent": {"consentToProcess": True, "text": plan.consent_text}}
    base = ctx.settings.hubspot_forms_url.rstrip("/")
    url = f"{base}/submissions/v3/integration/secure/submit/{portal.portal_id}/{plan.form_guid}"
    try:
        await portal.call(_submit(url, body))
    except HubSpotApiError as exc:
        await push.apply_form(ctx.session, lead_id=lead_id, failure=str(exc))
        return
    await push.apply_form(ctx.session, lead_id=lead_id, hubspot_id=existing.hubspot_id if existing else None)


# --- the batched push -------------------------------------------------------------------------------------


@outbox_handler(PUSH_TOPIC)
async def push_contacts(ctx: TaskContext, row: OutboxRow, data: dict[str, Any]) -> None:
    try:
        portal = await portals_of(ctx).for_tenant(ctx.tenant_id)
    except ConnectionUnavailable:
        return  # the marks stay pending for the next push after a reconnect
    async with ctx.db.tenant_session(ctx.tenant_id, write=False) as reader:
        plan = await push.plan_push(reader, keys=ctx.keys, tenant_id=ctx.tenant_id)
    ids: dict[str, str] | None = None
    failure: str | None = None
    if plan.items:
        existing = await existing_by_email(portal, [i.email for i in plan.items])
        inputs = [
            SimplePublicObjectBatchInputUpsert(
                id=item.email, id_property="email", properties=item.properties(existing.get(item.email_key))
            )
            for item in plan.items
        ]
        batch = BatchInputSimplePublicObjectBatchInputUpsert(inputs=inputs)
        try:
            answer = await portal.call(lambda hs: hs.crm.contacts.batch_api.upsert(batch))
        except HubSpotApiError as exc:
            failure = str(exc)
        else:
            ids = {}
            for result in answer.results or []:
                email = str((result.properties or {}).get("email") or "").strip().lower()
                if email:
                    ids[email] = str(result.id)
    if await push.apply_push(ctx.session, plan=plan, ids=ids, failure=failure):
        await schedule_push(ctx.session, delay=timedelta())
