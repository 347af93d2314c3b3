"""Connecting a WhatsApp number: checked with Meta before saving, secrets encrypted, one tenant per number,
testConnection and disconnect."""

from __future__ import annotations

from sqlalchemy import select

from bizzly.db.engine import MaintenanceUse
from domain.connections.models import ProviderConnection, RoutingKey
from tests.fakes.meta import MetaFake
from tests.integrations.whatsapp.conftest import connect, count, database, new_number_id
from tests.support.accounts import sign_up
from tests.support.graphql import GraphQLClient


async def test_connect_checks_the_number_subscribes_the_account_and_lists_it(
    gql: GraphQLClient, meta: MetaFake
) -> None:
    owner = await sign_up(gql, slug="glow")
    pnid = new_number_id()
    meta.add_number(pnid, token="tok-1", waba_id="77001", display="15550783881", name="Glow Salon")
    payload = await connect(gql, owner, meta, phone_number_id=pnid, token="tok-1")
    assert payload["errors"] == []
    conn = payload["connection"]
    assert conn["provider"] == "WHATSAPP"
    assert conn["status"] == "CONNECTED"
    assert conn["displayName"] == "Glow Salon (15550783881)"
    assert conn["webhookUrl"].endswith("/webhooks/whatsapp")
    assert meta.subscribed == ["77001"]
    listed = (await gql.op("Connections", token=owner.access_token)).data["connections"]
    assert [(c["id"], c["status"], c["lastError"]) for c in listed] == [(conn["id"], "CONNECTED", None)]
    assert listed[0]["lastSuccessAt"] is not None


async def test_the_token_is_stored_encrypted(gql: GraphQLClient, meta: MetaFake) -> None:
    owner = await sign_up(gql, slug="glow")
    payload = await connect(
        gql, owner, meta, token="very-secret-token-123", app_secret="own-secret", verify_token="vt"
    )
    assert payload["errors"] == []
    assert "/webhooks/whatsapp/" in payload["connection"]["webhookUrl"]
    async with database(gql).maintenance_session(MaintenanceUse.TESTS) as s:
        row = (await s.execute(select(ProviderConnection))).scalar_one()
    stored = f"{row.config} {row.secrets}"
    assert "very-secret-token-123" not in stored
    assert "own-secret" not in stored


async def test_a_wrong_token_or_unknown_number_saves_nothing(gql: GraphQLClient, meta: MetaFake) -> None:
    owner = await sign_up(gql, slug="glow")
    pnid = new_number_id()
    meta.add_number(pnid, token="right", waba_id="5")
    wrong = await connect(gql, owner, meta, phone_number_id=pnid, token="wrong")
    assert wrong["connection"] is None
    assert [(e["field"], e["code"]) for e in wrong["errors"]] == [("accessToken", "INVALID")]
    unknown = await connect(gql, owner, meta, phone_number_id=pnid + "1", token="right", register=False)
    assert unknown["connection"] is None
    assert unknown["errors"]
    assert await count(gql, ProviderConnection) == 0
    assert await count(gql, RoutingKey) == 0


async def test_bad_input_is_refused_before_calling_meta(gql: GraphQLClient, meta: MetaFake) -> None:
    owner = await sign_up(gql, slug="glow")
    result = await gql.op(
        "ConnectWhatsApp",
        {
            "input": {
                "phoneNumberId": "not a number",
                "wabaId": "x",
                "accessToken": " ",
                "appSecret": "only-one",
            }
        },
        token=owner.access_token,
    )
    payload = result.data["connectWhatsApp"]
    assert payload["connection"] is None
    assert {e["field"] for e in payload["errors"]} == {
        "phoneNumberId",
        "wabaId",
        "accessToken",
        "verifyToken",
    }
    assert meta.calls == 0


async def test_a_number_belongs_to_one_tenant_at_most(gql: GraphQLClient, meta: MetaFake) -> None:
    first = await sign_up(gql, slug="first")
    second = await sign_up(gql, slug="second")
    pnid = new_number_id()
    assert (await connect(gql, first, meta, phone_number_id=pnid))["errors"] == []
    taken = await connect(gql, second, meta, phone_number_id=pnid)
    assert taken["connection"] is None
    assert [(e["field"], e["code"]) for e in taken["errors"]] == [("phoneNumberId", "CONFLICT")]
    # The owner may reconnect it (a new token): the old record is kept as history, disconnected.
    again = await connect(gql, first, meta, phone_number_id=pnid)
    assert again["errors"] == []
    assert await count(gql, ProviderConnection) == 2
    listed = (await gql.op("Connections", token=first.access_token)).data["connections"]
    assert [c["id"] for c in listed] == [again["connection"]["id"]]


async def test_test_connection_and_disconnect(gql: GraphQLClient, meta: MetaFake) -> None:
    owner = await sign_up(gql, slug="glow")
    pnid = new_number_id()
    conn = (await connect(gql, owner, meta, phone_number_id=pnid))["connection"]
    ok = (await gql.op("TestConnection", {"id": conn["id"]}, token=owner.access_token)).data["testConnection"]
    assert ok["errors"] == []
    assert ok["connection"]["status"] == "CONNECTED"
    meta.expire_token(pnid)
    bad = (await gql.op("TestConnection", {"id": conn["id"]}, token=owner.access_token)).data[
        "testConnection"
    ]
    assert bad["connection"]["status"] == "NEEDS_REAUTH"
    assert "190" in bad["connection"]["lastError"]
    gone = (await gql.op("Disconnect", {"id": conn["id"]}, token=owner.access_token)).data["disconnect"]
    assert gone["errors"] == []
    assert gone["connection"]["status"] == "DISCONNECTED"
    assert await count(gql, RoutingKey) == 0
    # The access token is forgotten: a reconnect must bring new credentials.
    assert await count(gql, ProviderConnection, ProviderConnection.secrets.is_not(None)) == 0
    other = await sign_up(gql, slug="other")
    foreign = (await gql.op("Disconnect", {"id": conn["id"]}, token=other.access_token)).data["disconnect"]
    assert foreign["connection"] is None
    assert foreign["errors"][0]["code"] == "NOT_FOUND"
