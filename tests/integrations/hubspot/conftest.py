"""HubSpot tests: the app and the workers talk to a fake HubSpot (a real HTTP server on 127.0.0.1)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bizzly.settings import Settings
from tests.conftest import make_settings
from tests.fakes.hubspot import HubSpotFake

CLIENT_ID = "bizzly-test-app"
CLIENT_SECRET = "bizzly-test-app-secret"
DASHBOARD = "http://dashboard.test"


@pytest.fixture
def hubspot_fake() -> Iterator[HubSpotFake]:
    with HubSpotFake(client_id=CLIENT_ID, client_secret=CLIENT_SECRET) as fake:
        yield fake


def hubspot_settings(database_settings: dict[str, str], fake: HubSpotFake, **overrides: object) -> Settings:
    return make_settings(
        database_settings,
        hubspot_client_id=CLIENT_ID,
        hubspot_client_secret=CLIENT_SECRET,
        hubspot_api_url=fake.url,
        hubspot_auth_url=fake.authorize_url,
        public_url="http://testserver",
        dashboard_url=DASHBOARD,
        **overrides,
    )


@pytest.fixture
def settings(database_settings: dict[str, str], hubspot_fake: HubSpotFake) -> Settings:
    return hubspot_settings(database_settings, hubspot_fake)
