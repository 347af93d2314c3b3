"""``/healthz``, ``/readyz`` and ``/metrics``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from bizzly.app import create_app
from bizzly.metrics import OUTBOX_PROCESSED
from bizzly.settings import Settings
from tests.conftest import make_settings
from tests.support.services import AMQP_URL, redis_url_in_use

# The Redis this session uses (a private one where the configured one does not answer).
REDIS_URL = redis_url_in_use()


@pytest.fixture
async def silent_port() -> AsyncIterator[int]:
    """A loopback server that accepts connections and never says a word."""
    held: list[asyncio.StreamWriter] = []

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


async def _get(settings: Settings, path: str) -> httpx.Response:
    """One request to a fresh app built from ``settings`` (no lifespan: nothing may connect at start)."""
    app = create_app(settings)
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return await client.get(path)
    finally:
        await app.state.services.db.dispose()


def _sample(name: str, labels: dict[str, str]) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _scraped(text: str, name: str, labels: dict[str, str]) -> float | None:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return None


# --- health and readiness -----------------------------------------------------------------------------


async def test_healthz_answers_without_touching_anything(
    database_settings: dict[str, str], closed_port: int
) -> None:
    # Even with the database and the broker unreachable the process is alive.
    settings = make_settings(
        database_settings,
        database_url=f"postgresql+asyncpg://bizzly_app:x@127.0.0.1:{closed_port}/bizzly",
        broker_url=f"redis://127.0.0.1:{closed_port}/0",
    )
    response = await _get(settings, "/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_is_ok_on_the_test_database(http: httpx.AsyncClient) -> None:
    # Runs on SQLite, and on PostgreSQL as the app and maintenance roles with BIZZLY_TEST_DB=postgresql.
    response = await http.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}
    assert response.headers["cache-control"] == "no-store"


async def test_readyz_is_503_naming_the_database_when_it_is_unreachable(
    database_settings: dict[str, str], closed_port: int
) -> None:
    url = f"postgresql+asyncpg://bizzly_app:x@127.0.0.1:{closed_port}/bizzly"
    settings = make_settings(database_settings, database_url=url, maintenance_database_url=url)

    response = await _get(settings, "/readyz")

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "checks": {"database": "failed", "broker": "ok"}}


async def test_readyz_is_503_when_only_the_maintenance_role_cannot_connect(
    database_settings: dict[str, str], closed_port: int
) -> None:
    settings = make_settings(
        database_settings,
        maintenance_database_url=f"postgresql+asyncpg://bizzly_maint:x@127.0.0.1:{closed_port}/bizzly",
    )
    response = await _get(settings, "/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "failed"


async def test_readyz_is_503_naming_the_broker_when_it_is_unreachable(
    database_settings: dict[str, str], closed_port: int
) -> None:
    settings = make_settings(database_settings, broker_url=f"redis://127.0.0.1:{closed_port}/0")
    response = await _get(settings, "/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "broker": "failed"}


async def test_readyz_gives_up_on_a_broker_that_never_answers(
    database_settings: dict[str, str], silent_port: int
) -> None:
    settings = make_settings(
        database_settings, broker_url=f"redis://127.0.0.1:{silent_port}/0", health_timeout_seconds=0.3
    )
    started = asyncio.get_running_loop().time()
    response = await _get(settings, "/readyz")
    elapsed = asyncio.get_running_loop().time() - started
    assert response.status_code == 503
    assert response.json()["checks"]["broker"] in {"timeout", "failed"}
    assert elapsed < 3


@pytest.mark.redis
async def test_readyz_pings_a_real_redis(database_settings: dict[str, str]) -> None:
    response = await _get(make_settings(database_settings, broker_url=REDIS_URL), "/readyz")
    assert response.status_code == 200, response.json()
    assert response.json()["checks"]["broker"] == "ok"


@pytest.mark.rabbitmq
async def test_readyz_opens_a_real_rabbitmq_connection(database_settings: dict[str, str]) -> None:
    response = await _get(make_settings(database_settings, broker_url=AMQP_URL), "/readyz")
    assert response.status_code == 200, response.json()
    assert response.json()["checks"]["broker"] == "ok"


async def test_rabbitmq_on_a_closed_port_is_not_ready(
    database_settings: dict[str, str], closed_port: int
) -> None:
    settings = make_settings(database_settings, broker_url=f"amqp://guest:guest@127.0.0.1:{closed_port}/%2F")
    response = await _get(settings, "/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"] == "failed"


# --- metrics ------------------------------------------------------------------------------------------


async def test_metrics_count_each_request_by_route_and_status(http: httpx.AsyncClient) -> None:
    labels = {"method": "POST", "route": "/graphql", "status": "200"}
    route = {"method": "POST", "route": "/graphql"}
    before = _sample("bizzly_http_requests_total", labels)
    latency_before = _sample("bizzly_http_request_duration_seconds_count", route)

    await http.post("/graphql", json={"query": "{ viewer { role } }"})
    response = await http.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert _scraped(response.text, "bizzly_http_requests_total", labels) == before + 1
    latency = _scraped(response.text, "bizzly_http_request_duration_seconds_count", route)
    assert latency == latency_before + 1


async def test_unknown_paths_share_one_label_so_ids_never_become_series(http: httpx.AsyncClient) -> None:
    await http.get("/no/such/path/0190d5b4-7a5e")
    text = (await http.get("/metrics")).text
    assert "0190d5b4-7a5e" not in text
    assert (_scraped(text, "bizzly_http_requests_total", {"route": "<unmatched>", "status": "404"}) or 0) >= 1


async def test_a_request_refused_for_its_size_is_counted_under_its_route(http: httpx.AsyncClient) -> None:
    labels = {"method": "POST", "route": "/graphql", "status": "413"}
    before = _sample("bizzly_http_requests_total", labels)
    response = await http.post(
        "/graphql", content=b"x" * (1024 * 1024 + 1), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert _sample("bizzly_http_requests_total", labels) == before + 1


async def test_worker_counters_are_exposed(http: httpx.AsyncClient) -> None:
    # Workers increment these from the outbox relay and actors; the web process exposes the same registry.
    OUTBOX_PROCESSED.labels(topic="email.send", outcome="done").inc(0)
    text = (await http.get("/metrics")).text
    names: set[Any] = {family.name for family in text_string_to_metric_families(text)}
    assert {"bizzly_outbox_processed", "bizzly_outbox_dispatched", "bizzly_inbox_events"} <= names
