"""A private deployment for the chaos suite (and ``make bench``): PostgreSQL and Redis started here on free
ports in a temporary directory, and ``bizzly serve`` / ``bizzly worker`` as subprocesses, each of which can
be killed, stopped and started again.

PostgreSQL's ``initdb`` refuses to run as root: as root, the server runs as the ``postgres`` OS user (with
a directory it owns). ``fsync=off``: the suite kills processes, not the machine.
"""

from __future__ import annotations

import asyncio
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
BIZZLY = str(Path(sys.executable).with_name("bizzly"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pg_bin() -> Path | None:
    """The newest PostgreSQL server binaries installed (``initdb``, ``pg_ctl``), if any."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


def _as_postgres(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


class PrivatePostgres:
    def __init__(self, root: Path) -> None:
        binaries = pg_bin()
        assert binaries is not None, "no PostgreSQL server binaries"
        self.bin = binaries
        self.dir = root / "pg"
        self.port = free_port()
        self.dir.mkdir()
        if os.geteuid() == 0:
            shutil.chown(root, "postgres")
            shutil.chown(self.dir, "postgres")
        self.data = self.dir / "data"

    def url(self, user: str = "postgres", password: str | None = None) -> str:
        auth = f"{user}:{password}" if password else user
        return f"postgresql+asyncpg://{auth}@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        subprocess.run(
            _as_postgres([str(self.bin / args[0]), *args[1:]]), check=True, capture_output=True, timeout=60
        )

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
        self.start()

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.dir / "log"), "-o", options, "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def close(self) -> None:
        try:
            self.stop("immediate")
        except subprocess.CalledProcessError:
            pass


class PrivateRedis:
    def __init__(self, root: Path) -> None:
        self.port = free_port()
        self.dir = root
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis did not start")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


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
