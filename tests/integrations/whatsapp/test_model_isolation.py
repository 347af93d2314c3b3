"""A tenant's model cannot hurt anyone else (issue 16): it is asked outside any database transaction,
within its timeout, at most ``BIZZLY_ASSISTANT_MODEL_CONCURRENCY`` calls at once per tenant and process.

The isolation test runs the real thing: signed webhooks into the app, the outbox relay and a Dramatiq worker
(embedded on SQLite; a ``bizzly worker`` process on Redis with PostgreSQL), the fake Graph API and a fake
model that accepts connections and never answers. Another tenant's replies and GraphQL writes are timed
without and with the hung model, in the same test.
"""

from __future__ import annotations

import asyncio
import itertools
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from domain.assistant import texts
from tests.conftest import TEST_DB, process_env
from tests.fakes.meta import MetaFake, text_message
from tests.fakes.model import API_KEY, Answer, ModelFake
from tests.integrations.whatsapp.conftest import APP_SECRET, Business, business, whatsapp_settings
from tests.support.customers import create_customer
from tests.support.graphql import GraphQLClient
from tests.support.scheduling import create_service, set_hours
from tests.support.services import clear_redis_namespace, redis_url_in_use

# The Redis this session uses (a private one where the configured one does not answer).
REDIS_URL = redis_url_in_use()

ROOT = Path(__file__).resolve().parents[3]
# The hung model's timeout: today's code holds a transaction (SQLite: the write lock) and a worker that
# long for each message; the other tenant's bound below must stay well under it.
MODEL_TIMEOUT = 5.0
FREE_TEXT = "got anything to make me look sharp for a wedding"
_ids = itertools.count(1)


@pytest.fixture
def settings(database_settings: dict[str, str], meta: MetaFake, namespace: str) -> Any:
    values: dict[str, Any] = {
        "assistant_model_timeout_seconds": MODEL_TIMEOUT,
        "assistant_model_concurrency": 1,
        "relay_interval_seconds": 0.05,
        "outbound_allowed_hosts": "127.0.0.1",  # the fake model (a tenant's URL may not reach 127.0.0.1 else)
    }
    if TEST_DB == "postgresql":
        # Web here; relay and worker in a `bizzly worker` process on Redis (started by the test).
        values |= {"broker_url": REDIS_URL, "broker_namespace": namespace}
    else:
        values |= {"embedded_workers": True}  # the embedded default: relay and worker inside the app
    return whatsapp_settings(database_settings, meta, **values)


@pytest.fixture
def worker(
    database_settings: dict[str, str], meta: MetaFake, namespace: str, tmp_path: Path
) -> Iterator[None]:
    """On PostgreSQL, a `bizzly worker` process (2 threads) on Redis; nothing on SQLite (embedded)."""
    if TEST_DB != "postgresql":
        yield
        return
    env = {
        **process_env(database_settings, broker_url=REDIS_URL, namespace=namespace),
        "BIZZLY_RELAY_INTERVAL_SECONDS": "0.05",
        "BIZZLY_WHATSAPP_GRAPH_URL": meta.url,
        "BIZZLY_WHATSAPP_APP_SECRET": APP_SECRET,
        "BIZZLY_ASSISTANT_MODEL_TIMEOUT_SECONDS": str(MODEL_TIMEOUT),
        "BIZZLY_ASSISTANT_MODEL_CONCURRENCY": "1",
        "BIZZLY_OUTBOUND_ALLOWED_HOSTS": "127.0.0.1",
    }
    with (tmp_path / "worker.log").open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-c", "from bizzly.cli import main; main()", "worker", "--threads", "2"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            yield
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
            clear_redis_namespace(REDIS_URL, namespace)


async def _configure_model(gql: GraphQLClient, biz: Business, model: ModelFake) -> None:
    result = await gql.op(
        "ConfigureAssistantModel",
        {"input": {"baseUrl": model.url, "model": "gpt-test", "apiKey": API_KEY}},
        token=biz.owner.access_token,
    )
    assert result.data["configureAssistantModel"] == {"ok": True, "errors": []}, result.body


async def _salon(gql: GraphQLClient, meta: MetaFake, slug: str) -> Business:
    biz = await business(gql, meta, slug)
    await set_hours(gql, biz.owner.access_token)
    await create_service(gql, biz.owner.access_token, name="Haircut", duration=60, capacity=1)
    return biz


def _replies_to(meta: MetaFake, wa_id: str) -> list[dict[str, Any]]:
    return [s.body for s in meta.sends if s.body.get("to") == wa_id]


async def _post(http: httpx.AsyncClient, meta: MetaFake, biz: Business, wa_id: str, text: str) -> None:
    payload = text_message(biz.numbers[0], wa_id=wa_id, text=text, wamid=f"wamid.iso{next(_ids)}")
    response = await meta.post_webhook(http, payload, secret=APP_SECRET)
    assert response.status_code == 200


async def _reply_seconds(http: httpx.AsyncClient, meta: MetaFake, biz: Business) -> float:
    """A stranger asks the business's prices over a signed webhook: seconds until Meta is asked to send
    the answer."""
    wa_id = f"4477009{next(_ids):05d}"
    started = time.monotonic()
    await _post(http, meta, biz, wa_id, "what are your prices?")
    while not _replies_to(meta, wa_id):
        assert time.monotonic() - started < 60, "no reply within 60 s"
        await asyncio.sleep(0.02)
    (reply,) = _replies_to(meta, wa_id)
    assert reply["text"]["body"].startswith("Our prices:")
    return time.monotonic() - started


async def _create_customer_seconds(gql: GraphQLClient, biz: Business) -> float:
    n = next(_ids)
    started = time.monotonic()
    await create_customer(gql, biz.owner, name=f"Walk In {n}", email=f"walkin{n}@example.com")
    return time.monotonic() - started


async def _slowest(gql: GraphQLClient, http: httpx.AsyncClient, meta: MetaFake, biz: Business) -> float:
    """The slowest of three replies and three createCustomer calls."""
    seconds = []
    for _ in range(3):
        seconds.append(await _reply_seconds(http, meta, biz))
        seconds.append(await _create_customer_seconds(gql, biz))
    return max(seconds)


async def test_a_model_that_never_answers_delays_no_other_tenant(
    gql: GraphQLClient, http: httpx.AsyncClient, meta: MetaFake, model: ModelFake, worker: None
) -> None:
    hung = await _salon(gql, meta, "hung-salon")
    await _configure_model(gql, hung, model)
    calm = await _salon(gql, meta, "calm-salon")
    model.hang = True
    await _reply_seconds(http, meta, calm)  # warm-up: the worker is up, connections are open

    baseline = await _slowest(gql, http, meta, calm)
    bound = max(2.0, 3 * baseline)
    assert bound < MODEL_TIMEOUT * 0.6, f"the machine is too slow to tell (baseline {baseline:.2f} s)"

    # Eight customers of the hung business write free text only its model could read.
    strangers = [f"4477008{n:05d}" for n in range(8)]
    for wa_id in strangers:
        await _post(http, meta, hung, wa_id, FREE_TEXT)
    started = time.monotonic()
    while not model.requests:
        assert time.monotonic() - started < 30, "the hung business's model was never asked"
        await asyncio.sleep(0.02)
    asked_at = time.monotonic()

    loaded = await _slowest(gql, http, meta, calm)
    assert loaded <= bound, (
        f"another tenant's slowest reply or write: {loaded:.2f} s (baseline {baseline:.2f})"
    )
    if time.monotonic() - asked_at < MODEL_TIMEOUT:
        # Still within the first call's timeout: the business's other messages wait for its one slot.
        assert len(model.requests) == 1

    # The hung business's customers are not forgotten: each gets the deterministic answer once (no
    # account for this phone), within a timeout or two.
    deadline = time.monotonic() + 4 * MODEL_TIMEOUT
    while not all(_replies_to(meta, wa_id) for wa_id in strangers):
        assert time.monotonic() < deadline, "the hung business's customers got no answer"
        await asyncio.sleep(0.05)
    for wa_id in strangers:
        assert [r["text"]["body"] for r in _replies_to(meta, wa_id)] == [texts.NO_ACCOUNT]


async def test_a_message_beyond_the_tenants_model_slots_waits_and_gets_the_models_answer(
    gql: GraphQLClient, http: httpx.AsyncClient, meta: MetaFake, model: ModelFake, worker: None
) -> None:
    biz = await _salon(gql, meta, "busy-salon")
    await _configure_model(gql, biz, model)
    # A healthy but slow model, one slot: the second customer's question waits for the first one's.
    model.script(*[Answer(name="list_services", delay=1.0)] * 2)
    customers = ["447700800001", "447700800002"]
    for wa_id in customers:
        await _post(http, meta, biz, wa_id, FREE_TEXT)
    started = time.monotonic()
    while not model.requests:
        assert time.monotonic() - started < 30, "the model was never asked"
        await asyncio.sleep(0.02)
    first_asked = time.monotonic()
    while not all(_replies_to(meta, wa_id) for wa_id in customers):
        assert time.monotonic() - first_asked < 4 * MODEL_TIMEOUT, "a customer got no answer"
        await asyncio.sleep(0.02)
    # Woken when the first call finished, not at the end of its wait (a timeout after it was queued).
    assert time.monotonic() - first_asked < 0.8 * MODEL_TIMEOUT
    services = "Our services:\n- Haircut: GBP 25.00 (1 h)"
    for wa_id in customers:
        assert [r["text"]["body"] for r in _replies_to(meta, wa_id)] == [services]
    assert len(model.requests) == 2
