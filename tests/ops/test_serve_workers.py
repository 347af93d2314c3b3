"""``bizzly serve --workers N``: N web processes behind one port, each replaced when it dies; refused on
the embedded broker, whose queue lives inside the one server process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import process_env
from tests.support.services import free_port, redis_url_in_use, url_reachable

# The Redis this session uses (a private one where the configured one does not answer).
REDIS_URL = redis_url_in_use()

BIZZLY = str(Path(sys.executable).with_name("bizzly"))


def _env(database_settings: dict[str, str], broker_url: str) -> dict[str, str]:
    return process_env(
        database_settings, broker_url=broker_url, namespace=f"bizzlytest_{uuid.uuid4().hex[:8]}"
    )


def _children(pid: int) -> set[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return {int(p) for p in path.read_text().split()} if path.exists() else set()


def _web_processes(pid: int) -> set[int]:
    """The server's children that run the app (uvicorn spawns them through multiprocessing)."""
    found = set()
    for child in _children(pid):
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"multiprocessing" in cmdline and b"resource_tracker" not in cmdline:
            found.add(child)
    return found


def _wait(condition: object, what: str, within: float = 30.0) -> None:
    assert callable(condition)
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _healthy(url: str) -> bool:
    try:
        return httpx.get(url + "/healthz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


Served = tuple[subprocess.Popen[bytes], str]


@pytest.fixture
def server(database_settings: dict[str, str], tmp_path: Path) -> Iterator[Served]:
    if not url_reachable(REDIS_URL):
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    port = free_port()
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen(
        [BIZZLY, "serve", "--port", str(port), "--workers", "2"],
        env=_env(database_settings, REDIS_URL),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        yield process, url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        log.close()


def test_two_web_processes_serve_one_port_and_a_dead_one_is_replaced(
    server: Served,
) -> None:
    process, url = server
    _wait(lambda: _healthy(url) and len(_web_processes(process.pid)) == 2, "two web processes to serve")
    first = _web_processes(process.pid)
    victim = min(first)
    os.kill(victim, signal.SIGKILL)
    _wait(
        lambda: victim not in _web_processes(process.pid) and len(_web_processes(process.pid)) == 2,
        "the killed web process to be replaced",
    )
    _wait(lambda: _healthy(url), "the server to answer again")
    assert process.poll() is None


def test_more_than_one_process_is_refused_on_the_embedded_broker(
    database_settings: dict[str, str],
) -> None:
    done = subprocess.run(
        [BIZZLY, "serve", "--port", str(free_port()), "--workers", "2"],
        env=_env(database_settings, "memory://"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "memory://" in done.stderr
    assert "--workers" in done.stderr
