"""A private deployment for the chaos suite (and ``make bench``): PostgreSQL and Redis started here on free
ports in a temporary directory (``tests/support/services.py``: from the wheels ``make install`` brings), and
``bizzly serve`` / ``bizzly worker`` as subprocesses, each of which can be killed, stopped and started again.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from tests.support.services import PrivatePostgres, PrivateRedis, free_port, pg_bin

__all__ = ["Deployment", "PrivatePostgres", "PrivateRedis", "Process", "free_port", "pg_bin"]

REPO = Path(__file__).resolve().parents[2]
BIZZLY = str(Path(sys.executable).with_name("bizzly"))


class Process:
    """One ``bizzly`` subprocess (serve or worker) with its log file."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], log: Path) -> None:
        self.name, self.command, self.env, self.log = name, command, env, log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, **extra_env: str) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                self.command, env={**self.env, **extra_env}, cwd=REPO, stdout=out, stderr=subprocess.STDOUT
            )

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        if self.alive():
            assert self.process is not None
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.alive():
            assert self.process is not None
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


class Deployment:
    """PostgreSQL, Redis, a server and a worker, on a temporary directory removed by ``close``."""

    def __init__(self, *, secret_keys: str, extra_env: dict[str, str] | None = None) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="bizzly-chaos-"))
        os.chmod(self.root, 0o755)
        self.pg = PrivatePostgres(self.root)
        self.redis = PrivateRedis(self.root)
        self.port = free_port()
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("BIZZLY_")},
            "BIZZLY_ENV": "development",
            "BIZZLY_LOG_LEVEL": "INFO",
            "BIZZLY_DATA_DIR": str(self.root / "data"),
            "BIZZLY_SECRET_KEYS": secret_keys,
            "BIZZLY_DATABASE_OWNER_URL": self.pg.url(),
            "BIZZLY_DATABASE_URL": self.pg.url("bizzly_app", "bizzly_app"),
            "BIZZLY_MAINTENANCE_DATABASE_URL": self.pg.url("bizzly_maint", "bizzly_maint"),
            "BIZZLY_BROKER_URL": self.redis.url,
            "PYTHONPATH": str(REPO),
            **(extra_env or {}),
        }
        self.server = Process(
            "server", [BIZZLY, "serve", "--port", str(self.port)], self.env, self.root / "server.log"
        )
        self.worker = Process(
            "worker", [BIZZLY, "worker", "--threads", "4"], self.env, self.root / "worker.log"
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start_services(self) -> None:
        self.pg.init()
        self.redis.start()
        subprocess.run(
            [BIZZLY, "migrate"], env=self.env, cwd=REPO, check=True, capture_output=True, timeout=120
        )

    async def wait_ready(self, within: float = 30.0) -> None:
        deadline = time.monotonic() + within
        async with httpx.AsyncClient(base_url=self.url) as client:
            while time.monotonic() < deadline:
                if not self.server.alive():
                    raise RuntimeError("the server exited:\n" + self.server.tail())
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError("the server did not start in time:\n" + self.server.tail())

    def close(self) -> None:
        for process in (self.worker, self.server):
            process.kill()
        self.redis.kill()
        self.pg.close()
        shutil.rmtree(self.root, ignore_errors=True)
