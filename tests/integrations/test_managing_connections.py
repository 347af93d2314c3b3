"""Managing connections across providers, as an owner sees it: status, name, last success, the last error
in plain words; a reconnect keeps the history; a disconnect forgets the credentials and what was waiting
to be sent through it does not go out."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bizzly.db.engine import MaintenanceUse
from bizzly.settings import Settings
from domain.connections.models import ProviderConnection
from domain.connections.wording import owner_error
from domain.conversations.models import Message
from tests.fakes.ga import GaFake, running_ga_fake
from tests.fakes.meta import MetaFake, text_message
from tests.integrations.whatsapp.conftest import APP_SECRET, connect, meta, new_number_id, whatsapp_settings
from tests.support.accounts import SignedUp, _services, sign_up
from tests.support.graphql import GraphQLClient
from tests.support.outbox import drain_outbox

__all__ = ["meta"]


@pytest.fixture
async def ga() -> Any:
    async with running_ga_fake() as fake:
        yield fake


@pytest.fixture
def settings(database_settings: dict[str, str], meta: MetaFake, ga: GaFake) -> Settings:
    return whatsapp_settings(database_settings, meta, ga_url=ga.url)


async def listed(gql: GraphQLClient, owner: SignedUp) -> dict[str, dict[str, Any]]:
    result = await gql.op("Connections", token=owner.access_token)
    assert not result.errors, result.body
    return {c["provider"]: c for c in result.data["connections"]}


async def rows(gql: GraphQLClient, model: Any) -> list[Any]:
    async with _services(gql).db.maintenance_session(MaintenanceUse.TESTS, write=False) as s:
        return list((await s.execute(select(model))).scalars())


async def test_an_owner_manages_connections_in_plain_words(
    gql: GraphQLClient, http: httpx.AsyncClient, meta: MetaFake, ga: GaFake
) -> None:
    owner = await sign_up(gql, slug="glow")
    pnid = new_number_id()
    assert (await connect(gql, owner, meta, phone_number_id=pnid))["errors"] == []
    analytics = await gql.op(
        "ConnectGoogleAnalytics",
        {"input": {"measurementId": "G-ABC123XYZ9", "apiSecret": "mp-secret-Zq81xKp0"}},
        token=owner.access_token,
    )
    assert analytics.data["connectGoogleAnalytics"]["errors"] == []

    now = await listed(gql, owner)
    assert {p: (c["status"], bool(c["lastSuccessAt"])) for p, c in now.items()} == {
        "WHATSAPP": ("CONNECTED", True),
        "GOOGLE_ANALYTICS": ("CONNECTED", True),
    }
    assert now["WHATSAPP"]["displayName"]
    # GA's debug endpoint cannot check the API secret: the connection says so rather than claim it works.
    assert "cannot verify" in now["GOOGLE_ANALYTICS"]["displayName"]

    # A revoked token: the test asks Meta, and the owner reads what happened and what to do.
    meta.expire_token(pnid)
    tested = await gql.op("TestConnection", {"id": now["WHATSAPP"]["id"]}, token=owner.access_token)
    connection = tested.data["testConnection"]["connection"]
    assert connection["status"] == "NEEDS_REAUTH"
    assert connection["lastError"] == (
        "Meta no longer accepts the access token (it expired or was revoked). Connect WhatsApp again with "
        "a new token. (Meta error 190)"
    )
    assert "Error validating" not in (await listed(gql, owner))["WHATSAPP"]["lastError"]

    # Reconnecting makes a new record; the old one stays as history.
    assert (await connect(gql, owner, meta, phone_number_id=pnid))["errors"] == []
    current = (await listed(gql, owner))["WHATSAPP"]
    assert (current["status"], current["lastError"]) == ("CONNECTED", None)
    whatsapp_rows = [r for r in await rows(gql, ProviderConnection) if r.provider == "whatsapp"]
    assert sorted(r.status for r in whatsapp_rows) == ["connected", "disconnected"]
    # The replaced record keeps no credentials; the new one has them.
    assert sorted((r.status, r.secrets is None) for r in whatsapp_rows) == [
        ("connected", False),
        ("disconnected", True),
    ]

    # A stranger writes; the assistant's answer is queued (one round of the outbox only)...
    payload = text_message(pnid, wa_id="447700900555", text="Hi", wamid="wamid.manage1")
    assert (await meta.post_webhook(http, payload, secret=APP_SECRET)).status_code == 200
    await drain_outbox(_services(gql).settings, max_rounds=1)
    [queued] = [m for m in await rows(gql, Message) if m.direction == "outbound"]
    assert queued.status == "queued"
    # ... and the owner disconnects before it goes: the credentials are forgotten, nothing is sent.
    sent_before = len(meta.sends)
    gone = await gql.op("Disconnect", {"id": current["id"]}, token=owner.access_token)
    assert gone.data["disconnect"]["connection"]["status"] == "DISCONNECTED"
    assert all(r.secrets is None for r in await rows(gql, ProviderConnection) if r.provider == "whatsapp")
    await drain_outbox(_services(gql).settings)
    assert len(meta.sends) == sent_before
    [failed] = [m for m in await rows(gql, Message) if m.direction == "outbound"]
    assert (failed.status, failed.error) == ("failed", "WhatsApp is not connected")


@pytest.mark.parametrize(
    ("provider", "raw", "shown"),
    [
        (
            "whatsapp",
            "Meta error 10: (#10) Application does not have permission for this action",
            "The access token is not allowed to use this WhatsApp number. Give it the WhatsApp permissions "
            "in Meta Business settings, then connect again. (Meta error 10)",
        ),
        (
            "whatsapp",
            "Meta error 100: Unsupported get request. Object with ID '123' does not exist",
            "Meta does not know this phone number id, or the token cannot see it. Check the number in "
            "WhatsApp Manager. (Meta error 100)",
        ),
        (
            "whatsapp",
            "Meta error 0: network error: ConnectTimeout",
            "Meta could not be reached; Bizzly keeps trying.",
        ),
        (
            "whatsapp",
            "Meta error 503: Service Unavailable",
            "Meta had a temporary problem; Bizzly keeps trying. (Meta error 503)",
        ),
        (
            "google_analytics",
            "Google Analytics could not be reached (ReadTimeout).",
            "Google Analytics could not be reached; Bizzly keeps trying.",
        ),
        (
            "hubspot",
            "HubSpot could not be reached (ConnectError).",
            "HubSpot could not be reached; Bizzly keeps trying.",
        ),
        ("hubspot", "HubSpot no longer accepts Bizzly's access. Reconnect HubSpot.", None),
    ],
)
def test_errors_are_shown_in_plain_words(provider: str, raw: str, shown: str | None) -> None:
    # No exception names, no request details; a message that is already plain is left as it is.
    assert owner_error(provider, raw) == (shown or raw)
