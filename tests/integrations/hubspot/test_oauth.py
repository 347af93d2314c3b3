"""Connecting HubSpot: the OAuth round trip against the fake, and every way it is refused."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlparse

import httpx

from bizzly import clock
from domain.connections.models import ConnectionStatus
from tests.fakes.hubspot import HubSpotFake
from tests.integrations.hubspot.conftest import CLIENT_ID, CLIENT_SECRET, DASHBOARD
from tests.integrations.hubspot.support import (
    approve,
    authorization_url,
    callback,
    connect,
    connections,
    secrets_of,
)
from tests.support.accounts import database_snapshot, sign_up, snapshot_changes, staff_token
from tests.support.graphql import GraphQLClient


async def test_the_whole_round_trip_connects_the_portal(
    gql: GraphQLClient, hubspot_fake: HubSpotFake
) -> None:
    owner = await sign_up(gql, slug="acme")
    hubspot_fake.install_into(4242)
    url = await authorization_url(gql, owner)
    query = parse_qs(urlparse(url).query)
    assert url.startswith(hubspot_fake.authorize_url)
    assert query["client_id"] == [CLIENT_ID]
    assert query["redirect_uri"] == ["http://testserver/integrations/hubspot/callback"]
    assert set(query["scope"][0].split()) >= {
        "crm.objects.contacts.read",
        "crm.objects.contacts.write",
        "forms",
    }

    back = approve(url)
    outcome = await callback(gql.http, back)
    assert outcome == {"hubspot": "connected"}

    [row] = await connections(gql)
    assert row.provider == "hubspot"
    assert row.status == ConnectionStatus.CONNECTED
    assert '"portal_id": "4242"' in row.config
    # Tokens are stored encrypted: the ciphertext does not contain them.
    tokens = secrets_of(gql, row)
    assert tokens["access_token"].startswith("fake-at-")
    assert tokens["refresh_token"].startswith("fake-rt-")
    assert tokens["access_token"] not in (row.secrets or "")
    # The code was exchanged with the client credentials in the form body (client_secret_post).
    exchange = hubspot_fake.token_requests[0]
    assert exchange["grant_type"] == "authorization_code"
    assert exchange["client_secret"] == CLIENT_SECRET


async def test_the_dashboard_redirect_is_the_configured_one(
    gql: GraphQLClient, hubspot_fake: HubSpotFake
) -> None:
    owner = await sign_up(gql, slug="acme")
    hubspot_fake.install_into(4242)
    back = approve(await authorization_url(gql, owner))
    parsed = urlparse(back)
    resp = await gql.http.get(parsed.path + "?" + parsed.query)
    assert resp.headers["location"].startswith(DASHBOARD)


async def test_a_tampered_state_is_refused_and_nothing_is_stored(
    gql: GraphQLClient, hubspot_fake: HubSpotFake, settings: object
) -> None:
    owner = await sign_up(gql, slug="acme")
    hubspot_fake.install_into(4242)
    back = approve(await authorization_url(gql, owner))
    query = {k: v[0] for k, v in parse_qs(urlparse(back).query).items()}
    payload, _, signature = query["state"].partition(".")
    # Another tenant's id in the payload, the original signature: the signature no longer matches.
    tampered = payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB") + "." + signature
    before = await database_snapshot(settings)  # type: ignore[arg-type]
    outcome = await callback(
        gql.http, "/integrations/hubspot/callback?" + urlencode({**query, "state": tampered})
    )
    assert outcome["hubspot"] == "error"
    assert "not valid" in outcome["message"]
    assert snapshot_changes(before, await database_snapshot(settings)) == {}  # type: ignore[arg-type]
    assert hubspot_fake.token_requests == []


async def test_a_replayed_state_is_refused(gql: GraphQLClient, hubspot_fake: HubSpotFake) -> None:
    owner = await sign_up(gql, slug="acme")
    hubspot_fake.install_into(4242)
    back = approve(await authorization_url(gql, owner))
    assert await callback(gql.http, back) == {"hubspot": "connected"}
    again = await callback(gql.http, back)
    assert again["hubspot"] == "error"
    assert "already used" in again["message"]
    assert len(await connections(gql)) == 1
    assert len(hubspot_fake.token_requests) == 1


async def test_an_expired_state_is_refused_and_nothing_is_stored(
    gql: GraphQLClient, hubspot_fake: HubSpotFake
) -> None:
    owner = await sign_up(gql, slug="acme")
    hubspot_fake.install_into(4242)
    back = approve(await authorization_url(gql, owner))
    clock.advance(timedelta(minutes=11))
    outcome = await callback(gql.http, back)
    assert outcome["hubspot"] == "error"
    assert "expired" in outcome["message"]
    assert await connections(gql) == []
    assert hubspot_fake.token_requests == []


async def test_bad_callbacks_redirect_with_a_readable_error(
    gql: GraphQLClient, hubspot_fake: HubSpotFake
) -> None:
    owner = await sign_up(gql, slug="acme")
    hubspot_fake.install_into(4242)
    # No code.
    back = approve(await authorization_url(gql, owner))
    state = parse_qs(urlparse(back).query)["state"][0]
    no_code = await callback(gql.http, "/integrations/hubspot/callback?" + urlencode({"state": state}))
    assert no_code["hubspot"] == "error"
    assert "no authorization code" in no_code["message"]
    # HubSpot says the user declined.
    back = approve(await authorization_url(gql, owner))
    state = parse_qs(urlparse(back).query)["state"][0]
    declined = await callback(
        gql.http,
        "/integrations/hubspot/callback?"
        + urlencode({"state": state, "error": "access_denied", "error_description": "The user declined"}),
    )
    assert declined["hubspot"] == "error"
    assert "did not grant access" in declined["message"]
    # A state we never issued, and none at all.
    unknown = await callback(gql.http, "/integrations/hubspot/callback?code=abc&state=whatever.else")
    assert unknown["hubspot"] == "error"
    nothing = await callback(gql.http, "/integrations/hubspot/callback")
    assert nothing["hubspot"] == "error"
    # A code HubSpot does not know.
    back = approve(await authorization_url(gql, owner))
    state = parse_qs(urlparse(back).query)["state"][0]
    bad_code = await callback(
        gql.http, "/integrations/hubspot/callback?" + urlencode({"state": state, "code": "not-a-code"})
    )
    assert bad_code["hubspot"] == "error"
    assert "refused" in bad_code["message"]
    assert await connections(gql) == []


async def test_a_portal_belongs_to_one_tenant_at_a_time(
    gql: GraphQLClient, hubspot_fake: HubSpotFake
) -> None:
    first = await sign_up(gql, slug="acme")
    second = await sign_up(gql, slug="zenith")
    assert await connect(gql, first, hubspot_fake, 4242) == {"hubspot": "connected"}
    outcome = await connect(gql, second, hubspot_fake, 4242)
    assert outcome["hubspot"] == "error"
    assert "another business" in outcome["message"]
    rows = await connections(gql)
    assert len(rows) == 1


async def test_reconnecting_the_same_portal_keeps_its_history(
    gql: GraphQLClient, hubspot_fake: HubSpotFake
) -> None:
    owner = await sign_up(gql, slug="acme")
    await connect(gql, owner, hubspot_fake, 4242)
    guid = "1a2b3c4d-1a2b-1a2b-1a2b-1a2b3c4d5e6f"
    result = await gql.op("ConfigureHubSpotForm", {"formGuid": guid}, token=owner.access_token)
    assert result.data["configureHubSpotForm"] == {"ok": True, "errors": []}
    assert await connect(gql, owner, hubspot_fake, 4242) == {"hubspot": "connected"}
    old, new = await connections(gql)
    assert old.status == ConnectionStatus.DISCONNECTED
    assert new.status == ConnectionStatus.CONNECTED
    assert guid in new.config


async def test_only_managers_may_connect(gql: GraphQLClient, hubspot_fake: HubSpotFake) -> None:
    owner = await sign_up(gql, slug="acme")
    staff = await staff_token(gql, owner, "STAFF")
    result = await gql.op("StartHubSpotConnect", token=staff)
    assert result.error_codes == ["FORBIDDEN"]
    anonymous = await gql.op("StartHubSpotConnect")
    assert anonymous.error_codes == ["UNAUTHENTICATED"]


async def test_connecting_needs_the_platform_app(database_settings: dict[str, str]) -> None:
    from asgi_lifespan import LifespanManager

    from bizzly.app import create_app
    from tests.conftest import make_settings

    app = create_app(make_settings(database_settings))
    async with LifespanManager(app):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as http:
            gql = GraphQLClient(http)
            owner = await sign_up(gql, slug="acme")
            result = await gql.op("StartHubSpotConnect", token=owner.access_token)
    assert result.data["startHubSpotConnect"]["authorizationUrl"] is None
    assert result.data["startHubSpotConnect"]["errors"][0]["code"] == "UNAVAILABLE"


async def test_a_member_who_lost_the_right_meanwhile_is_refused(
    gql: GraphQLClient, hubspot_fake: HubSpotFake
) -> None:
    from sqlalchemy import update

    from tenants.models import Membership, StaffRole
    from tests.integrations.hubspot.support import tid
    from tests.support.accounts import _services

    owner = await sign_up(gql, slug="acme")
    admin = await staff_token(gql, owner, "ADMIN")
    hubspot_fake.install_into(4242)
    back = approve(await authorization_url(gql, admin))
    async with _services(gql).db.tenant_session(tid(owner)) as s, s.begin():
        await s.execute(
            update(Membership)
            .where(Membership.role == StaffRole.ADMIN.value)
            .values(role=StaffRole.STAFF.value)
        )
    outcome = await callback(gql.http, back)
    assert outcome["hubspot"] == "error"
    assert "not allowed" in outcome["message"]
    assert await connections(gql) == []
    assert hubspot_fake.token_requests == []
