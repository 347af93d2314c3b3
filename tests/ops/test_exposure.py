"""What a stranger can learn from outside (issue 18): the schema by introspection only outside production,
and the data files (SQLite database, generated secret key) readable by the service's user only."""

from __future__ import annotations

import stat
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager

from bizzly.app import create_app
from bizzly.migrate import migrate
from bizzly.settings import Settings
from graphql_api.schema import build_schema
from tests.conftest import make_settings

INTROSPECTION = "{ __schema { queryType { name } } }"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize(
    ("env", "setting", "open_"),
    [
        ("development", None, True),
        ("production", None, False),
        ("production", True, True),
        ("development", False, False),
    ],
)
async def test_introspection_follows_the_setting(env: str, setting: bool | None, open_: bool) -> None:
    settings = Settings(env=env, graphql_introspection=setting)
    result = await build_schema(settings).execute(INTROSPECTION)
    if open_:
        assert result.errors is None
        assert result.data == {"__schema": {"queryType": {"name": "Query"}}}
    else:
        assert result.errors
        assert "introspection" in result.errors[0].message.lower()
    typename = await build_schema(settings).execute("{ __typename }")
    assert typename.data == {"__typename": "Query"}  # clients still read type names


async def test_introspection_off_is_refused_over_http(database_settings: dict[str, str]) -> None:
    app = create_app(make_settings(database_settings, graphql_introspection=False))
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            response = await client.post("/graphql", json={"query": INTROSPECTION})
    body = response.json()
    assert "data" not in body or body["data"] is None
    assert "introspection" in body["errors"][0]["message"].lower()


def test_the_database_and_the_secret_key_are_private(tmp_path: Path) -> None:
    data = tmp_path / "fresh" / "data"
    # The embedded default (SQLite and a generated key under data_dir), whatever the environment says.
    settings = Settings(
        env="development",
        data_dir=data,
        database_url="",
        database_owner_url="",
        maintenance_database_url="",
        secret_keys="",
    )
    migrate(settings)
    settings.key_ring()
    assert _mode(data) == 0o700
    assert _mode(data / "bizzly.db") == 0o600
    assert _mode(data / "secret_key") == 0o600
