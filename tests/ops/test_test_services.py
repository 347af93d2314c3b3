"""``make test`` on a machine with no services: where the configured addresses do not answer, the session
starts a private PostgreSQL and Redis from the wheels, uses them, and leaves nothing running."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import pytest
import redis

from tests.support import services
from tests.support.services import PrivateRedis, TestServices, reachable


def test_a_private_redis_when_none_answers_and_none_left_after(
    monkeypatch: pytest.MonkeyPatch, closed_port: int
) -> None:
    monkeypatch.setattr(services, "REDIS_URL", f"redis://127.0.0.1:{closed_port}/0")
    started = TestServices()
    url = started.redis_url()
    assert url != services.REDIS_URL
    assert started.redis_url() == url  # one per session
    client = redis.Redis.from_url(url)
    assert client.ping()
    client.close()
    assert started.private == ["Redis"]
    started.close()
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    assert not reachable("127.0.0.1", port)


def test_the_configured_redis_when_it_answers(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    configured = PrivateRedis(tmp_path)  # stands for a Redis service at the configured address
    configured.start()
    try:
        monkeypatch.setattr(services, "REDIS_URL", configured.url)
        session = TestServices()
        assert session.redis_url() == configured.url
        assert session.private == []
        session.close()
        assert reachable("127.0.0.1", configured.port)  # not ours to stop
    finally:
        configured.kill()


@pytest.mark.postgres_only
def test_a_private_postgresql_when_none_answers_and_none_left_after(
    monkeypatch: pytest.MonkeyPatch, closed_port: int
) -> None:
    monkeypatch.setattr(services, "PG_PORT", closed_port)
    started = TestServices()
    pg = started.postgres()
    assert pg.port != closed_port

    async def version() -> str:
        conn = await asyncpg.connect(host=pg.host, port=pg.port, user=pg.superuser, database="postgres")
        try:
            return str(await conn.fetchval("SHOW server_version"))
        finally:
            await conn.close()

    assert asyncio.run(version())
    assert started.private == ["PostgreSQL"]
    started.close()
    assert not reachable(pg.host, pg.port)
