"""Owner alerts (``notifications.owner_alert``): an integration that needs attention, a new lead, each one
email to ``ownerEmail`` or the owner's own address; turned off, nothing; an unknown kind is a dead row."""

from __future__ import annotations

import uuid
from typing import Any

from bizzly.outbox import OutboxRow, add_outbox
from bizzly.settings import Settings
from domain.notifications import OWNER_ALERT_TOPIC
from domain.notifications.models import NotificationKind, NotificationStatus
from integrations.hubspot import tokens
from tests.domain.notifications.conftest import db, notifications
from tests.domain.notifications.test_settings import update
from tests.support.accounts import sign_up, tenant_uuid
from tests.support.graphql import GraphQLClient
from tests.support.outbox import RecordingMailer, drain_outbox

HUBSPOT_ALERT = {"kind": "integration_error", "provider": "HUBSPOT", "message": tokens.REAUTH_MESSAGE}


async def alert(gql: GraphQLClient, tenant_id: uuid.UUID, payload: dict[str, Any]) -> OutboxRow:
    async with db(gql).tenant_session(tenant_id, write=True) as s, s.begin():
        return await add_outbox(s, topic=OWNER_ALERT_TOPIC, payload=payload)


async def test_hubspot_code_writes_the_topic_this_module_handles() -> None:
    assert tokens.OWNER_ALERT_TOPIC is OWNER_ALERT_TOPIC == "notifications.owner_alert"


async def test_an_integration_error_and_a_new_lead_email_the_owner(
    gql: GraphQLClient, settings: Settings
) -> None:
    owner = await sign_up(gql, slug="alert-owner")
    tenant_id = await tenant_uuid(gql, owner.slug)
    await alert(gql, tenant_id, HUBSPOT_ALERT)
    lead_id = uuid.uuid4()
    await alert(gql, tenant_id, {"kind": "new_lead", "lead_id": str(lead_id)})
    mailer = RecordingMailer()
    statuses = await drain_outbox(settings, mailer=mailer)
    assert set(statuses.values()) == {"done"}
    assert sorted((m.to, m.subject) for m in mailer.sent) == [
        (owner.email, "An integration needs your attention"),
        (owner.email, "New lead from your website"),
    ]
    [integration] = [m for m in mailer.sent if m.subject.startswith("An integration")]
    assert tokens.REAUTH_MESSAGE in integration.text
    rows = await notifications(gql, tenant_id)
    assert sorted((r.kind, r.channel, r.status) for r in rows) == [
        (NotificationKind.OWNER_INTEGRATION_ERROR, "EMAIL", NotificationStatus.SENT),
        (NotificationKind.OWNER_NEW_LEAD, "EMAIL", NotificationStatus.SENT),
    ]
    assert [r.subject_id for r in rows if r.kind == NotificationKind.OWNER_NEW_LEAD] == [lead_id]

    # Another address for owner emails; an alert kind turned off sends nothing.
    assert (await update(gql, owner.access_token, ownerEmail="desk@example.com", ownerNewLead=False))[
        "errors"
    ] == []
    await alert(
        gql, tenant_id, {"kind": "integration_error", "provider": "WHATSAPP", "message": "Reconnect."}
    )
    await alert(gql, tenant_id, {"kind": "new_lead", "lead_id": str(uuid.uuid4())})
    mailer = RecordingMailer()
    await drain_outbox(settings, mailer=mailer)
    assert [(m.to, m.subject) for m in mailer.sent] == [
        ("desk@example.com", "An integration needs your attention")
    ]
    assert len(await notifications(gql, tenant_id)) == 3


async def test_an_unknown_alert_kind_is_a_dead_row_and_sends_nothing(
    gql: GraphQLClient, settings: Settings
) -> None:
    owner = await sign_up(gql, slug="alert-unknown")
    tenant_id = await tenant_uuid(gql, owner.slug)
    row = await alert(gql, tenant_id, {"kind": "party"})
    mailer = RecordingMailer()
    statuses = await drain_outbox(settings, mailer=mailer)
    assert statuses[row.id] == "dead"
    assert mailer.sent == []
    assert await notifications(gql, tenant_id) == []
