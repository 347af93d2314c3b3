"""Connecting a tenant to the fake HubSpot through the real OAuth round trip, and reading what was stored."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx

from bizzly.db.engine import MaintenanceUse
from bizzly.outbox import OutboxRow
from domain.connections.models import ProviderConnection
from tests.fakes.hubspot import HubSpotFake
from tests.support.accounts import SignedUp, _services
from tests.support.graphql import GraphQLClient


async def authorization_url(gql: GraphQLClient, owner: SignedUp | str) -> str:
    token = owner.access_token if isinstance(owner, SignedUp) else owner
    result = await gql.op("StartHubSpotConnect", token=token)
    payload = result.data["startHubSpotConnect"]
    assert payload["errors"] == [], payload["errors"]
    url: str = payload["authorizationUrl"]
    return url


def approve(url: str) -> str:
    """The staff member approves on (fake) HubSpot: the callback URL HubSpot redirects back to."""
    resp = httpx.get(url, follow_redirects=False)
    assert resp.status_code == 302, resp.text
    return resp.headers["location"]


async def callback(http: httpx.AsyncClient, url: str) -> dict[str, str]:
    """Follow HubSpot's redirect into the app; returns the dashboard redirect's query."""
    parsed = urlparse(url)
    resp = await http.get(parsed.path + ("?" + parsed.query if parsed.query else ""))
    assert resp.status_code == 303, resp.text
    location = resp.headers["location"]
    return {k: v[0] for k, v in parse_qs(urlparse(location).query).items()}


async def connect(gql: GraphQLClient, owner: SignedUp, fake: HubSpotFake, portal_id: int) -> dict[str, str]:
    fake.install_into(portal_id)
    return await callback(gql.http, approve(await authorization_url(gql, owner)))


async def connections(gql: GraphQLClient) -> list[ProviderConnection]:
    from sqlalchemy import select

    services = _services(gql)
    async with services.db.maintenance_session(MaintenanceUse.TESTS, write=False) as s:
        return list(
            (await s.execute(select(ProviderConnection).order_by(ProviderConnection.created_at))).scalars()
        )


async def outbox_rows(gql: GraphQLClient, topic: str) -> list[OutboxRow]:
    from sqlalchemy import select

    services = _services(gql)
    async with services.db.maintenance_session(MaintenanceUse.TESTS, write=False) as s:
        return list((await s.execute(select(OutboxRow).where(OutboxRow.topic == topic))).scalars())


def secrets_of(gql: GraphQLClient, connection: ProviderConnection) -> dict[str, Any]:
    from domain.connections.service import read_secrets

    return dict(read_secrets(_services(gql).keys, connection))


def tid(owner: SignedUp) -> uuid.UUID:
    from tests.support.customers import row_id

    return row_id(owner.tenant_id)
