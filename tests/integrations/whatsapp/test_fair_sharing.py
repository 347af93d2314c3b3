"""Workers are shared fairly between tenants: a business that pours forged messages into its own-app
webhook route (it holds that route's secret, so it can sign anything) gets its share of the workers; the
rest of its messages wait, stored and in order, while other businesses' customers are answered as fast as
without the flood, and its owner is alerted past a threshold."""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urlsplit

import httpx
import pytest

from bizzly.settings import Settings
from tests.fakes.meta import MetaFake, text_message
from tests.integrations.whatsapp.conftest import (
    APP_SECRET,
    business,
    connect,
    new_number_id,
    whatsapp_settings,
)
from tests.support.accounts import sign_up
from tests.support.graphql import GraphQLClient

FLOOD = 40
ALERT_PAST = 10


@pytest.fixture
def settings(database_settings: dict[str, str], meta: MetaFake) -> Settings:
    # The embedded default: relay, scheduler and two worker threads inside the server, as `bizzly serve`.
    return whatsapp_settings(
        database_settings,
        meta,
        embedded_workers=True,
        relay_interval_seconds=0.05,
        inbox_backlog_alert=ALERT_PAST,
    )


async def _reply_latency(http: httpx.AsyncClient, meta: MetaFake, number: str, wamid: str) -> float:
    """Seconds from a customer's message to the business's reply reaching the Graph API."""
    before = sum(1 for s in meta.sends if s.phone_number_id == number)
    began = time.monotonic()
    message = text_message(number, wa_id="447700900555", text="what services do you offer?", wamid=wamid)
    assert (await meta.post_webhook(http, message, secret=APP_SECRET)).status_code == 200
    while sum(1 for s in meta.sends if s.phone_number_id == number) == before:
        assert time.monotonic() - began < 60, "no reply within a minute"
        await asyncio.sleep(0.005)
    return time.monotonic() - began


async def test_forty_forged_messages_to_one_tenant_leave_another_tenants_reply_latency_unchanged(
    gql: GraphQLClient, http: httpx.AsyncClient, meta: MetaFake, settings: Settings
) -> None:
    quiet = await business(gql, meta, "quiet-salon")
    number = quiet.numbers[0]
    flooder = await sign_up(gql, slug="flood-salon")
    flood_number = new_number_id()
    own = await connect(
        gql,
        flooder,
        meta,
        phone_number_id=flood_number,
        app_secret="flood-own-secret",
        verify_token="flood-verify",
    )
    assert own["errors"] == []
    path = urlsplit(own["connection"]["webhookUrl"]).path

    # Without a flood (twice; the slower counts).
    baseline = max([await _reply_latency(http, meta, number, f"wamid.base{i}") for i in range(2)])

    flood_began = time.monotonic()
    # One delivery carrying forty messages from forty senders (Meta batches too): all stored at once.
    forged = [
        text_message(flood_number, wa_id=f"4477009{i:05d}", text="hi", wamid=f"wamid.flood{i}")
        for i in range(FLOOD)
    ]
    batch = forged[0]
    value = batch["entry"][0]["changes"][0]["value"]
    for other in forged[1:]:
        more = other["entry"][0]["changes"][0]["value"]
        value["contacts"] += more["contacts"]
        value["messages"] += more["messages"]
    response = await meta.post_webhook(http, batch, secret="flood-own-secret", path=path)
    assert response.status_code == 200
    flood_replies_before = sum(1 for s in meta.sends if s.phone_number_id == flood_number)
    during = await _reply_latency(http, meta, number, "wamid.during")
    flood_replies_by_then = sum(1 for s in meta.sends if s.phone_number_id == flood_number)

    # Every forged message is still answered, in time: none was dropped, they waited.
    while sum(1 for s in meta.sends if s.phone_number_id == flood_number) < FLOOD:
        assert time.monotonic() - flood_began < 120, "the flood was not worked off"
        await asyncio.sleep(0.02)
    drained = time.monotonic() - flood_began

    # The quiet business's customer did not wait behind the flood: answered as fast as without it (with a
    # margin for a row of the flood already running on each worker thread), long before the flood ends.
    assert during <= 3 * baseline + 0.5, (during, baseline)
    assert during < drained / 4, (during, drained)
    assert flood_replies_by_then - flood_replies_before < FLOOD // 2, (
        flood_replies_before,
        flood_replies_by_then,
    )

    # The flooded business's owner was told (once), by email.
    mailbox = settings.data_dir / "outbox-mail.log"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        text = await asyncio.to_thread(mailbox.read_text) if mailbox.exists() else ""
        if "inbound WhatsApp messages are waiting" in text:
            break
        await asyncio.sleep(0.1)
    assert text.count("inbound WhatsApp messages are waiting") == 1, text[-2000:]
    assert f"To: {flooder.email}" in text or "flood-salon" in text, text[-2000:]
