"""testConnection calls HubSpot for real; disconnect stops the portal's work."""

from __future__ import annotations

import pytest

from bizzly.settings import Settings
from graphql_api.relay import gid
from integrations.hubspot.client import HubSpotPortals
from integrations.hubspot.errors import ConnectionUnavailable
from tests.fakes.hubspot import HubSpotFake
from tests.integrations.hubspot.support import connect, connections, tid
from tests.support.accounts import _services, sign_up
from tests.support.graphql import GraphQLClient


async def test_test_connection_asks_hubspot(gql: GraphQLClient, hubspot_fake: HubSpotFake) -> None:
    owner = await sign_up(gql, slug="acme")
    await connect(gql, owner, hubspot_fake, 4242)
    [row] = await connections(gql)
    integration = str(gid("Integration", row.id))
    before = len(hubspot_fake.token_requests)

    healthy = await gql.op("TestConnection", {"id": integration}, token=owner.access_token)
    connection = healthy.data["testConnection"]["connection"]
    assert connection["status"] == "CONNECTED"
    assert connection["lastSuccessAt"] is not None
    assert len(hubspot_fake.token_requests) == before + 1  # a real call

    hubspot_fake.revoke(4242)
    broken = await gql.op("TestConnection", {"id": integration}, token=owner.access_token)
    connection = broken.data["testConnection"]["connection"]
    assert connection["status"] == "NEEDS_REAUTH"
    assert "Reconnect HubSpot" in connection["lastError"]


async def test_disconnect_stops_the_portals_work(
    gql: GraphQLClient, hubspot_fake: HubSpotFake, settings: Settings
) -> None:
    owner = await sign_up(gql, slug="acme")
    await connect(gql, owner, hubspot_fake, 4242)
    [row] = await connections(gql)
    result = await gql.op("Disconnect", {"id": str(gid("Integration", row.id))}, token=owner.access_token)
    assert result.data["disconnect"]["connection"]["status"] == "DISCONNECTED"
    services = _services(gql)
    with pytest.raises(ConnectionUnavailable):
        await HubSpotPortals(settings, services.db, services.keys).for_tenant(tid(owner))
