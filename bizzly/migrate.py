"""``bizzly migrate``: roles and grants on PostgreSQL, then ``alembic upgrade head`` on either dialect."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config

from bizzly.db.engine import make_engine
from bizzly.db.rls import ensure_roles
from bizzly.files import private_dir
from bizzly.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def alembic_config(settings: Settings, *, url: str | None = None) -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.attributes["url"] = url or settings.database_owner_url
    cfg.attributes["settings"] = settings
    return cfg


async def _ensure_roles(settings: Settings) -> None:
    engine = make_engine(settings.database_owner_url, null_pool=True)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(
                lambda c: ensure_roles(
                    c, app_url=settings.database_url, maintenance_url=settings.maintenance_database_url
                )
            )
    finally:
        await engine.dispose()


def migrate(settings: Settings) -> None:
    if settings.is_sqlite:
        private_dir(settings.data_dir)
    else:
        asyncio.run(_ensure_roles(settings))
    command.upgrade(alembic_config(settings), "head")


def check(settings: Settings) -> None:
    """Fail when the models and the migrations disagree (``alembic check``)."""
    cfg = alembic_config(settings)
    cfg.attributes["check_only"] = True
    command.check(cfg)
