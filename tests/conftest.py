"""Shared fixtures: a real database per test run (SQLite by default, PostgreSQL with
``BIZZLY_TEST_DB=postgresql``), the app with its lifespan, and a GraphQL client.

On PostgreSQL the app runs as the non-owner ``bizzly_app`` role, so row-level security is exercised; the
owner (superuser) only creates the database and runs migrations.

PostgreSQL and Redis are the configured ones when they answer, else private ones started for the session
(``tests/support/services.py`` says which addresses and variables); RabbitMQ tests skip with the reason where
no broker answers, and fail instead under ``BIZZLY_TEST_REQUIRE_RABBITMQ=1`` (``.ci/run``).
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import text
from starlette.applications import Starlette

from bizzly import clock
from bizzly.app import create_app
from bizzly.db.base import Base
from bizzly.db.engine import make_engine
from bizzly.migrate import migrate
from bizzly.model_registry import import_all
from bizzly.settings import Settings
from tests.fakes.smtp import SmtpFake, running_smtp_fake
from tests.support.graphql import GraphQLClient
from tests.support.services import AMQP_URL, TestServices, pg_admin, url_reachable

TEST_DB = os.environ.get("BIZZLY_TEST_DB", "sqlite")
TEST_KEY = "test-key-" + "k" * 40


# --- no test may reach the internet ------------------------------------------------------------------

_real_connect = socket.socket.connect


def _guarded_connect(self: socket.socket, address: Any) -> Any:
    if isinstance(address, tuple) and address:
        host = str(address[0])
        try:
            ip = ipaddress.ip_address(host.split("%")[0])
            allowed = ip.is_loopback
        except ValueError:
            allowed = host in {"localhost"}
        if not allowed:
            raise ConnectionRefusedError(f"tests may not reach the network: {host}")
    return _real_connect(self, address)


socket.socket.connect = _guarded_connect  # type: ignore[method-assign,assignment]


# --- PostgreSQL, Redis, RabbitMQ ----------------------------------------------------------------------

SERVICES = TestServices()


def pytest_configure(config: pytest.Config) -> None:
    # Test modules read BIZZLY_TEST_REDIS_URL when imported: a private Redis, if one is needed, must be
    # known before collection. It starts in well under a second.
    os.environ["BIZZLY_TEST_REDIS_URL"] = SERVICES.redis_url()


def pytest_unconfigure(config: pytest.Config) -> None:
    SERVICES.close()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    private = SERVICES.private
    if private:
        terminalreporter.write_line(f"started for this run and stopped: a private {' and '.join(private)}")


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("rabbitmq") and not url_reachable(AMQP_URL):
        reason = f"no RabbitMQ at {AMQP_URL} (start one, or set BIZZLY_TEST_AMQP_URL)"
        if os.environ.get("BIZZLY_TEST_REQUIRE_RABBITMQ") == "1":
            pytest.fail(reason + ", and BIZZLY_TEST_REQUIRE_RABBITMQ=1 forbids skipping", pytrace=False)
        pytest.skip(reason)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if TEST_DB == "postgresql":
        return
    deselected = [i for i in items if i.get_closest_marker("postgres_only")]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [i for i in items if not i.get_closest_marker("postgres_only")]


# --- database -----------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def database_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    data_dir = tmp_path_factory.mktemp("bizzly-data")
    if TEST_DB == "postgresql":
        pg = SERVICES.postgres()
        name = f"bizzly_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        asyncio.run(pg_admin(pg, f'CREATE DATABASE "{name}"'))
        values = {
            "data_dir": str(data_dir),
            "database_owner_url": pg.url(pg.superuser, name),
            "database_url": pg.url("bizzly_app", name, "bizzly_app"),
            "maintenance_database_url": pg.url("bizzly_maint", name, "bizzly_maint"),
        }
    else:
        url = f"sqlite+aiosqlite:///{Path(data_dir) / 'test.db'}"
        values = {
            "data_dir": str(data_dir),
            "database_owner_url": url,
            "database_url": url,
            "maintenance_database_url": url,
        }
    migrate(Settings(env="test", secret_keys=TEST_KEY, **values))  # type: ignore[arg-type]
    yield values
    if TEST_DB == "postgresql":
        name = values["database_owner_url"].rsplit("/", 1)[1]
        asyncio.run(pg_admin(SERVICES.postgres(), f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def make_settings(database_settings: dict[str, str], **overrides: Any) -> Settings:
    # No embedded relay/scheduler/worker in tests: a test drains the outbox itself
    # (tests.support.outbox.drain_outbox) or turns them on with embedded_workers=True.
    values: dict[str, Any] = {
        "env": "test",
        "secret_keys": TEST_KEY,
        "embedded_workers": False,
        **database_settings,
    }
    values.update(overrides)
    return Settings(**values)


def process_env(database_settings: dict[str, str], *, broker_url: str, namespace: str) -> dict[str, str]:
    """The environment of a ``bizzly`` child process (server, worker) on the test database, with its own
    broker namespace: what ``make_settings`` is to a test's own code."""
    return {
        **os.environ,
        "BIZZLY_ENV": "test",
        "BIZZLY_SECRET_KEYS": TEST_KEY,
        "BIZZLY_DATA_DIR": database_settings["data_dir"],
        "BIZZLY_DATABASE_URL": database_settings["database_url"],
        "BIZZLY_DATABASE_OWNER_URL": database_settings["database_owner_url"],
        "BIZZLY_MAINTENANCE_DATABASE_URL": database_settings["maintenance_database_url"],
        "BIZZLY_BROKER_URL": broker_url,
        "BIZZLY_BROKER_NAMESPACE": namespace,
    }


@pytest.fixture
def settings(database_settings: dict[str, str]) -> Settings:
    return make_settings(database_settings)


async def truncate_all(owner_url: str) -> None:
    import_all()
    engine = make_engine(owner_url, null_pool=True)
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE"))
        else:
            for t in tables:
                await conn.execute(text(f'DELETE FROM "{t}"'))
    await engine.dispose()


@pytest.fixture(autouse=True)
def _cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 at its lowest cost: the suites hash hundreds of passwords and what they check (which
    password is accepted) does not depend on the cost. ``test_passwords_and_rules`` checks the real one."""
    from argon2 import PasswordHasher

    from tenants import passwords

    monkeypatch.setattr(passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


@pytest.fixture(autouse=True)
async def _clean_state(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    clock.reset()
    yield
    clock.reset()
    if "database_settings" in request.fixturenames:
        db = request.getfixturevalue("database_settings")
        await truncate_all(db["database_owner_url"])


# --- app and clients ----------------------------------------------------------------------------------


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Starlette]:
    application = create_app(settings)
    async with LifespanManager(application):
        yield application


@pytest.fixture
async def http(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.fixture
def gql(http: httpx.AsyncClient) -> GraphQLClient:
    return GraphQLClient(http)


@pytest.fixture
def namespace() -> str:
    """A broker namespace (Redis keys, queue names) of this test's own, for a ``bizzly`` child process."""
    return f"bizzlytest_{os.getpid()}_{uuid.uuid4().hex[:8]}"


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port that refuses connections: bound (so nobody else takes it) but not listening."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


@pytest.fixture
def smtp_fake() -> Iterator[SmtpFake]:
    """A recording SMTP server on 127.0.0.1 (ephemeral port); point ``smtp_url`` at ``smtp_fake.url``."""
    with running_smtp_fake() as fake:
        yield fake
