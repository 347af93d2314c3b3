"""``make check-migrations``: the migrations reach head and ``alembic check`` finds nothing to generate, on
SQLite and on PostgreSQL (a scratch database on the configured server, or on a private one when none
answers: ``tests/support/services.py``).

    .venv/bin/python -m tests.support.check_migrations
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path

from bizzly.migrate import check, migrate
from bizzly.settings import Settings
from tests.support.services import TestServices, pg_admin

KEY = "check-migrations-" + "k" * 40


def _migrate_and_check(data_dir: Path, owner: str, app: str, maintenance: str) -> None:
    settings = Settings(
        env="test",
        secret_keys=KEY,
        data_dir=data_dir,
        database_owner_url=owner,
        database_url=app,
        maintenance_database_url=maintenance,
    )
    migrate(settings)
    check(settings)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bizzly-check-") as scratch:
        data_dir = Path(scratch)
        sqlite = f"sqlite+aiosqlite:///{data_dir / 'check.db'}"
        _migrate_and_check(data_dir, sqlite, sqlite, sqlite)
        print("SQLite: migrations at head, alembic check clean")

        services = TestServices()
        try:
            pg = services.postgres()
            name = f"bizzly_check_{os.getpid()}"
            asyncio.run(pg_admin(pg, f'CREATE DATABASE "{name}"'))
            try:
                _migrate_and_check(
                    data_dir,
                    pg.url(pg.superuser, name),
                    pg.url("bizzly_app", name, "bizzly_app"),
                    pg.url("bizzly_maint", name, "bizzly_maint"),
                )
            finally:
                asyncio.run(pg_admin(pg, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            where = "a private server" if services.private else f"{pg.host}:{pg.port}"
            print(f"PostgreSQL ({where}): migrations at head, alembic check clean")
        finally:
            services.close()


if __name__ == "__main__":
    main()
