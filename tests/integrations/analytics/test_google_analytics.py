"""connectGoogleAnalytics (measurement id checked, secret encrypted, site snippet, GA's debug messages
shown) and the server-side booking events sent to the Measurement Protocol through the outbox."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from bizzly import clock
from bizzly.db.engine import Database, MaintenanceUse
from bizzly.outbox import OutboxRow, add_outbox
from bizzly.settings import Settings
from domain.connections.models import ProviderConnection
from tests.fakes.ga import GaFake
from tests.support.accounts import SignedUp, _services, sign_up
from tests.support.customers import create_customer, tenant_session
from tests.support.graphql import GraphQLClient
from tests.support.outbox import drain_outbox
from tests.support.scheduling import cancel, create_service, ok, set_hours, slots

SECRET = "mp-secret-Zq81xKp0"


def _db(gql: GraphQLClient) -> Database:
    db: Database = _services(gql).db
    return db


async def _connections(gql: GraphQLClient) -> list[ProviderConnection]:
    async with _db(gql).maintenance_session(MaintenanceUse.TESTS, write=False) as s:
        return list((await s.execute(select(ProviderConnection))).scalars())


async def connect(gql: GraphQLClient, owner: SignedUp, mid: str, secret: str | None = None) -> dict[str, Any]:
    result = await gql.op(
        "ConnectGoogleAnalytics",
        {"input": {"measurementId": mid, "apiSecret": secret}},
        token=owner.access_token,
    )
    assert not result.errors, result.body
    payload: dict[str, Any] = result.data["connectGoogleAnalytics"]
    return payload


async def test_connect_with_a_secret_validates_a_sample_event_and_returns_the_snippet(
    gql: GraphQLClient, ga: GaFake
) -> None:
    owner = await sign_up(gql, slug="glow")
    payload = await connect(gql, owner, "g-abc123xyz9", SECRET)
    assert payload["errors"] == []
    conn = payload["connection"]
    assert conn["provider"] == "GOOGLE_ANALYTICS"
    assert conn["status"] == "CONNECTED"
    assert "G-ABC123XYZ9" in conn["displayName"]
    assert "cannot verify" in conn["displayName"]
    assert len(ga.debug_requests) == 1
    assert ga.collected == []
    snippet = payload["siteSnippet"]
    assert 'src="https://www.googletagmanager.com/gtag/js?id=G-ABC123XYZ9"' in snippet
    assert "gtag('config', 'G-ABC123XYZ9');" in snippet


async def test_the_secret_is_stored_encrypted(gql: GraphQLClient, ga: GaFake) -> None:
    owner = await sign_up(gql, slug="glow")
    assert (await connect(gql, owner, "G-ABC123XYZ9", SECRET))["errors"] == []
    [row] = await _connections(gql)
    assert row.secrets is not None
    assert SECRET not in f"{row.config} {row.secrets}"


async def test_without_a_secret_only_the_snippet_works_and_ga_is_not_called(
    gql: GraphQLClient, ga: GaFake
) -> None:
    owner = await sign_up(gql, slug="glow")
    payload = await connect(gql, owner, "G-ABC123XYZ9")
    assert payload["errors"] == []
    assert payload["connection"]["displayName"] == "G-ABC123XYZ9 (site tag only)"
    assert "G-ABC123XYZ9" in payload["siteSnippet"]
    assert ga.debug_requests == []


async def test_an_invalid_measurement_id_is_a_typed_error_and_saves_nothing(
    gql: GraphQLClient, ga: GaFake
) -> None:
    owner = await sign_up(gql, slug="glow")
    for bad in ("UA-12345-1", "G-", "G-abc<script>", "", "123456789"):
        payload = await connect(gql, owner, bad, SECRET)
        assert payload["connection"] is None
        assert payload["siteSnippet"] is None
        assert [(e["field"], e["code"]) for e in payload["errors"]] == [("measurementId", "INVALID")]
    assert await _connections(gql) == []
    assert ga.debug_requests == []


async def test_gas_validation_messages_are_shown_on_the_connection(gql: GraphQLClient, ga: GaFake) -> None:
    ga.flagged_events.add("booking_created")
    owner = await sign_up(gql, slug="glow")
    payload = await connect(gql, owner, "G-ABC123XYZ9", SECRET)
    assert payload["errors"] == []
    listed = (await gql.op("Connections", token=owner.access_token)).data["connections"]
    [conn] = listed
    assert conn["status"] == "ERROR"
    assert "events[0].name" in conn["lastError"]
    assert "not recommended" in conn["lastError"]
    assert "VALUE_INVALID" in conn["lastError"]


async def _booking_setup(gql: GraphQLClient, owner: SignedUp) -> tuple[str, str, list[Any]]:
    await set_hours(gql, owner.access_token)
    service = await create_service(gql, owner.access_token)
    customer = await create_customer(
        gql, owner, name="Ada Lovelace", email="ada@example.com", phone="+447700900123"
    )
    day = (clock.now() + timedelta(days=3)).date()
    free = await slots(gql, service["id"], day, token=owner.access_token)
    # On the hour: one-hour appointments that do not overlap.
    return service["id"], customer["id"], [s for s in free if s.minute == 0]


async def _book(
    gql: GraphQLClient, owner: SignedUp, service: str, customer: str, at: Any, client_id: str | None = None
) -> dict[str, Any]:
    variables = {
        "input": {
            "serviceId": service,
            "customerId": customer,
            "startsAt": at.isoformat(),
            "analyticsClientId": client_id,
        }
    }
    booking: dict[str, Any] = ok(
        await gql.op("CreateBooking", variables, token=owner.access_token), "createBooking"
    )["booking"]
    return booking


async def test_a_dashboard_booking_sends_one_ga_event_without_personal_data(
    gql: GraphQLClient, ga: GaFake, settings: Settings
) -> None:
    owner = await sign_up(gql, slug="glow")
    assert (await connect(gql, owner, "G-ABC123XYZ9", SECRET))["errors"] == []
    service, customer, free = await _booking_setup(gql, owner)
    await _book(gql, owner, service, customer, free[0])
    await drain_outbox(settings)
    [sent] = ga.collected
    assert (sent.measurement_id, sent.api_secret) == ("G-ABC123XYZ9", SECRET)
    [event] = ga.events()
    assert event["name"] == "booking_created"
    assert re.fullmatch(r"\d+\.\d+", event["client_id"])
    text = repr(sent.body)
    for personal in ("Ada", "Lovelace", "ada@example.com", "447700900123"):
        assert personal not in text
    assert customer not in text

    # The same customer keeps the same pseudonymous id; a cancel is reported too.
    second = await _book(gql, owner, service, customer, free[1])
    assert (await cancel(gql, owner.access_token, second["id"]))["errors"] == []
    await drain_outbox(settings)
    names = [(e["name"], e["client_id"]) for e in ga.events()]
    assert names == [
        ("booking_created", event["client_id"]),
        ("booking_created", event["client_id"]),
        ("booking_cancelled", event["client_id"]),
    ]


async def test_the_websites_client_id_is_used_when_given(
    gql: GraphQLClient, ga: GaFake, settings: Settings
) -> None:
    owner = await sign_up(gql, slug="glow")
    assert (await connect(gql, owner, "G-ABC123XYZ9", SECRET))["errors"] == []
    service, customer, free = await _booking_setup(gql, owner)
    await _book(gql, owner, service, customer, free[0], client_id="1197596843.1673515000")
    await drain_outbox(settings)
    assert [(e["name"], e["client_id"]) for e in ga.events()] == [
        ("booking_created", "1197596843.1673515000")
    ]


async def test_no_events_without_a_secret_or_after_disconnect(
    gql: GraphQLClient, ga: GaFake, settings: Settings
) -> None:
    owner = await sign_up(gql, slug="glow")
    service, customer, free = await _booking_setup(gql, owner)
    assert (await connect(gql, owner, "G-ABC123XYZ9"))["errors"] == []
    await _book(gql, owner, service, customer, free[0])
    conn = (await connect(gql, owner, "G-ABC123XYZ9", SECRET))["connection"]
    await _book(gql, owner, service, customer, free[1])
    # Queued while connected, sent after the disconnect: dropped, not sent.
    result = await gql.op("Disconnect", {"id": conn["id"]}, token=owner.access_token)
    assert result.data["disconnect"]["errors"] == [], result.body
    await _book(gql, owner, service, customer, free[2])
    await drain_outbox(settings)
    assert ga.collected == []
    async with _db(gql).maintenance_session(MaintenanceUse.TESTS, write=False) as s:
        topics = (
            await s.execute(
                select(func.count()).select_from(OutboxRow).where(OutboxRow.topic == "analytics.event")
            )
        ).scalar_one()
    assert topics == 1


async def test_test_connection_posts_the_debug_sample(gql: GraphQLClient, ga: GaFake) -> None:
    owner = await sign_up(gql, slug="glow")
    conn = (await connect(gql, owner, "G-ABC123XYZ9", SECRET))["connection"]
    ga.flagged_events.add("booking_created")
    result = await gql.op("TestConnection", {"id": conn["id"]}, token=owner.access_token)
    tested = result.data["testConnection"]
    assert tested["errors"] == [], result.body
    assert tested["connection"]["status"] == "ERROR"
    assert "VALUE_INVALID" in tested["connection"]["lastError"]
    ga.flagged_events.clear()
    result = await gql.op("TestConnection", {"id": conn["id"]}, token=owner.access_token)
    assert result.data["testConnection"]["connection"]["status"] == "CONNECTED"
    assert len(ga.debug_requests) == 3


async def test_a_batch_is_sent_per_client_id_within_gas_limits(
    gql: GraphQLClient, ga: GaFake, settings: Settings
) -> None:
    owner = await sign_up(gql, slug="glow")
    assert (await connect(gql, owner, "G-ABC123XYZ9", SECRET))["errors"] == []
    ok_batch = [{"name": "generate_lead", "client_id": "11.22"}] * 2 + [
        {"name": "whatsapp_verified", "customer_id": str(uuid.uuid4())}
    ]
    too_big = [{"name": "generate_lead", "client_id": "11.22"}] * 26
    async with tenant_session(gql, owner) as s:
        good = await add_outbox(s, topic="analytics.event", payload={"events": ok_batch})
        bad = await add_outbox(s, topic="analytics.event", payload={"events": too_big})
    statuses = await drain_outbox(settings)
    assert statuses[good.id] == "done"
    assert statuses[bad.id] == "dead"
    assert sorted((len(c.body["events"]), c.body["client_id"] == "11.22") for c in ga.collected) == [
        (1, False),
        (2, True),
    ]


async def test_a_whatsapp_verification_sends_one_ga_event_without_the_phone(
    gql: GraphQLClient, ga: GaFake, settings: Settings
) -> None:
    from domain.assistant.messages import ChannelInfo, Inbound, Sender
    from domain.assistant.service import handle_message

    owner = await sign_up(gql, slug="glow")
    assert (await connect(gql, owner, "G-ABC123XYZ9", SECRET))["errors"] == []
    await create_customer(gql, owner, name="Sarah Jones", email="sarah@example.com", phone="07700 900123")
    services = _services(gql)
    sender = Sender(wa_id="447700900123", phone_e164="+447700900123")

    async def say(text: str) -> list[str]:
        async with tenant_session(gql, owner) as s:
            replies = await handle_message(
                s,
                tenant_id=uuid.UUID(str(s.info["tenant_id"])),
                sender=sender,
                inbound=Inbound(kind="text", text=text),
                channel=ChannelInfo(),
                keys=services.keys,
                settings=services.settings,
            )
        return [r.text for r in replies]

    (code_message,) = await say("Hi")
    code = re.findall(r"\d{6}", code_message)[0]
    assert await say(code) == ["You're now verified! How can I help you today?"]
    await drain_outbox(settings)
    events = ga.events()
    assert [e["name"] for e in events] == ["whatsapp_verified"]
    sent = str([c.body for c in ga.collected])
    assert "7700" not in sent
    assert "sarah" not in sent.lower()
