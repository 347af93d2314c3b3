"""Alembic environment: async engines, SQLite batch mode, and RLS + grants after every upgrade."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from bizzly.db.base import Base
from bizzly.db.engine import make_engine
from bizzly.db.rls import grant_privileges, sync_rls
from bizzly.model_registry import import_all
from bizzly.settings import get_settings

import_all()
config = context.config
settings = config.attributes.get("settings") or get_settings()
url = config.attributes.get("url") or settings.database_owner_url
target_metadata = Base.metadata

# Objects only one dialect has (FTS5 tables, tsvector indexes) are created by hand in migrations.
DIALECT_ONLY_PREFIXES = ("fts_",)
DIALECT_ONLY_INDEX_SUFFIXES = ("_tsv",)


def include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    if name and type_ == "table" and name.startswith(DIALECT_ONLY_PREFIXES):
        return False
    if name and type_ == "index" and name.endswith(DIALECT_ONLY_INDEX_SUFFIXES):
        return False
    return True


def do_run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        include_object=include_object,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
        if not context.is_offline_mode() and not config.attributes.get("check_only"):
            sync_rls(connection, target_metadata)
            grant_privileges(
                connection,
                app_url=settings.database_url,
                maintenance_url=settings.maintenance_database_url,
            )


async def run_async() -> None:
    engine = make_engine(url, null_pool=True, foreign_keys=False)
    async with engine.connect() as connection:
        await connection.run_sync(do_run_migrations)
    await engine.dispose()


def run_offline() -> None:
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=url.startswith("sqlite"),
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    asyncio.run(run_async())
