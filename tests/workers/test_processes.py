"""``bizzly worker`` as real processes on real brokers: a worker killed mid-run loses nothing, and its
database effect lands exactly once; a row goes through RabbitMQ.

Each test uses its own broker namespace (Redis keys, queue names) and removes only what it created.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bizzly.db.engine import Database
from bizzly.outbox import OutboxStatus
from tests.conftest import process_env
from tests.support.services import AMQP_URL, clear_redis_namespace, redis_url_in_use, url_reachable
from tests.workers.conftest import add_row, count_effects, get_row, wait_until
from tests.workers.kill_handlers import KILL_TOPIC

# The Redis this session uses (a private one where the configured one does not answer).
REDIS_URL = redis_url_in_use()

ROOT = Path(__file__).resolve().parents[2]
LEASE_SECONDS = 5

StartWorker = Callable[..., subprocess.Popen[bytes]]


@pytest.fixture
def marks(tmp_path: Path) -> Path:
    path = tmp_path / "marks"
    path.mkdir()
    return path


@pytest.fixture
def start_worker(
    database_settings: dict[str, str], namespace: str, marks: Path, tmp_path: Path
) -> Iterator[StartWorker]:
    """Start ``bizzly worker`` (or another command) with the test topics on a broker; every process is
    stopped afterwards."""
    started: list[subprocess.Popen[bytes]] = []

    def start(broker_url: str, *command: str, **env: str) -> subprocess.Popen[bytes]:
        environment = {
            **process_env(database_settings, broker_url=broker_url, namespace=namespace),
            "BIZZLY_OUTBOX_LEASE_SECONDS": str(LEASE_SECONDS),
            "BIZZLY_RELAY_INTERVAL_SECONDS": "0.2",
            "BIZZLY_TEST_MARKS": str(marks),
            **env,
        }
        log = (tmp_path / f"worker-{len(started)}.log").open("wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.workers.worker_main", *(command or ("worker", "--threads", "2"))],
            cwd=ROOT,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def stop_cleanly(proc: subprocess.Popen[bytes]) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=20)


@pytest.fixture
def redis_namespace(namespace: str) -> Iterator[str]:
    if not url_reachable(REDIS_URL):
        pytest.skip(f"no Redis at {REDIS_URL} (set BIZZLY_TEST_REDIS_URL)")
    yield namespace
    clear_redis_namespace(REDIS_URL, namespace)


@pytest.fixture
def amqp_namespace(namespace: str) -> Iterator[str]:
    if not url_reachable(AMQP_URL):
        pytest.skip(f"no RabbitMQ at {AMQP_URL} (set BIZZLY_TEST_AMQP_URL)")
    yield namespace
    import pika

    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    channel = connection.channel()
    for suffix in ("", ".DQ", ".XQ"):
        channel.queue_delete(f"{namespace}.outbox{suffix}")
    connection.close()


@pytest.mark.redis
async def test_a_job_whose_worker_is_killed_mid_run_is_done_once_by_the_next_worker(
    db: Database, tenant: uuid.UUID, start_worker: StartWorker, redis_namespace: str, marks: Path
) -> None:
    row_id = await add_row(db, tenant, KILL_TOPIC, {"n": 1})

    first = start_worker(REDIS_URL, BIZZLY_TEST_BLOCK="1")

    async def blocked() -> bool:
        assert first.poll() is None, "the first worker exited on its own"
        return (marks / "blocked").exists()

    await wait_until(blocked, "the first worker to reach the named point")
    first.kill()  # SIGKILL: no shutdown, no rollback sent, no message acknowledged
    first.wait(timeout=10)
    row = await get_row(db, row_id)
    assert (row.status, row.attempts) == (OutboxStatus.DISPATCHED, 1)
    assert await count_effects(db, KILL_TOPIC) == 0

    second = start_worker(REDIS_URL)

    async def done() -> bool:
        assert second.poll() is None, "the second worker exited on its own"
        return (await get_row(db, row_id)).status == OutboxStatus.DONE

    await wait_until(done, "the row to be done after the lease", within=LEASE_SECONDS + 30)
    assert await count_effects(db, KILL_TOPIC) == 1
    row = await get_row(db, row_id)
    assert (row.attempts, row.last_error) == (2, None)
    # The handler started twice (a provider call would be repeated: at least once); its row landed once.
    assert len(await asyncio.to_thread(lambda: list(marks.glob("start-*")))) == 2
    assert stop_cleanly(second) == 0


@pytest.mark.redis
async def test_the_scheduler_process_sweeps_due_rows_to_the_broker(
    db: Database, tenant: uuid.UUID, start_worker: StartWorker, redis_namespace: str
) -> None:
    row_id = await add_row(db, tenant, KILL_TOPIC, {"n": 1})
    scheduler = start_worker(REDIS_URL, "scheduler")

    async def swept() -> bool:
        assert scheduler.poll() is None, "the scheduler exited on its own"
        return (await get_row(db, row_id)).status == OutboxStatus.DISPATCHED

    await wait_until(swept, "the scheduler's outbox sweep")
    import redis

    # The claim commits before the message is sent to the broker, so the queue fills a moment later.
    client = redis.Redis.from_url(REDIS_URL)
    try:

        async def queued() -> bool:
            return client.llen(f"{redis_namespace}:{redis_namespace}.outbox") >= 1

        await wait_until(queued, "the swept row to reach the Redis queue")
        await asyncio.sleep(0.5)
        assert client.llen(f"{redis_namespace}:{redis_namespace}.outbox") == 1
    finally:
        client.close()
    assert stop_cleanly(scheduler) == 0


@pytest.mark.rabbitmq
async def test_a_row_is_processed_through_rabbitmq(
    db: Database, tenant: uuid.UUID, start_worker: StartWorker, amqp_namespace: str, marks: Path
) -> None:
    row_id = await add_row(db, tenant, KILL_TOPIC, {"n": 1})
    worker = start_worker(AMQP_URL)

    async def done() -> bool:
        assert worker.poll() is None, "the worker exited on its own"
        return (await get_row(db, row_id)).status == OutboxStatus.DONE

    await wait_until(done, "the row to be done through RabbitMQ")
    assert await count_effects(db, KILL_TOPIC) == 1
    assert (await get_row(db, row_id)).attempts == 1
    assert stop_cleanly(worker) == 0


def test_worker_and_scheduler_refuse_the_in_memory_broker(database_settings: dict[str, str]) -> None:
    for command in ("worker", "scheduler"):
        result = subprocess.run(
            [str(Path(sys.executable).parent / "bizzly"), command],
            cwd=ROOT,
            env={**os.environ, "BIZZLY_ENV": "test", "BIZZLY_DATA_DIR": database_settings["data_dir"]},
            capture_output=True,
            timeout=60,
        )
        assert result.returncode == 2
        assert b"BIZZLY_BROKER_URL" in result.stderr
