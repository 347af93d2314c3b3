"""The long-lived objects actors use (database, key ring, mailer), one set per event loop.

A database engine belongs to the loop that created it, and worker processes are forked: so nothing is built
at import time. ``configure`` records the settings and the mailer factory (the composition root passes the
mailer, since ``workers`` may not import ``integrations``); ``for_running_loop`` builds the set lazily in
the loop that asks for it (Dramatiq's AsyncIO thread, after any fork); ``close_running_loop`` disposes it.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bizzly.crypto import KeyRing
from bizzly.db.engine import Database
from bizzly.ports import Mailer
from bizzly.settings import Settings

log = logging.getLogger("bizzly.workers")

MailerFactory = Callable[[Settings], Mailer]


@dataclass
class Resources:
    settings: Settings
    db: Database
    keys: KeyRing
    mailer: Mailer
    # Handlers' per-loop clients (TaskContext.shared).
    state: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def build(cls, settings: Settings, mailer: Mailer) -> Resources:
        return cls(settings=settings, db=Database(settings), keys=KeyRing(settings.key_ring()), mailer=mailer)

    async def aclose(self) -> None:
        for value in [*self.state.values(), self.mailer]:
            closer = getattr(value, "aclose", None)
            if closer is None:
                continue
            try:
                result = closer()
                if inspect.isawaitable(result):
                    await result
            except Exception:  # closing one client must not keep the others open
                log.warning("could not close %s", type(value).__name__, exc_info=True)
        self.state.clear()
        await self.db.dispose()


_config: tuple[Settings, MailerFactory] | None = None
_by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Resources] = weakref.WeakKeyDictionary()


def configure(settings: Settings, mailer_factory: MailerFactory) -> None:
    global _config
    _config = (settings, mailer_factory)


def for_running_loop() -> Resources:
    loop = asyncio.get_running_loop()
    found = _by_loop.get(loop)
    if found is None:
        if _config is None:
            raise RuntimeError("workers.resources.configure() was not called (workers.runtime.install does)")
        settings, mailer_factory = _config
        found = _by_loop[loop] = Resources.build(settings, mailer_factory(settings))
    return found


async def close_running_loop() -> None:
    found = _by_loop.pop(asyncio.get_running_loop(), None)
    if found is not None:
        await found.aclose()
