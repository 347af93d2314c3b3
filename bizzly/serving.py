"""How many web processes ``bizzly serve`` runs.

With a shared broker (redis://, amqp://) the web processes are stateless, so by default there is one per
core (uvicorn's supervisor forks them; each builds its own app and database pool after the fork, and a
process that dies is replaced). On the embedded default (memory://) the broker, workers, relay and
scheduler live inside the one server process: a second process would have a broker of its own that no
one else sees, so exactly one process runs there.
"""

from __future__ import annotations

import os

from bizzly.settings import Settings


class WebWorkersError(ValueError):
    """More than one web process was asked for on the embedded broker."""


def web_workers(settings: Settings, requested: int | None = None) -> int:
    """The number of processes to run: ``requested`` (``--workers``), else ``BIZZLY_WEB_WORKERS``, else the
    default above."""
    embedded = settings.broker_url.startswith("memory:")
    wanted = requested if requested is not None else settings.web_workers
    if wanted is None:
        return 1 if embedded else max(1, os.cpu_count() or 1)
    if wanted < 1:
        raise WebWorkersError("--workers must be at least 1")
    if embedded and wanted > 1:
        raise WebWorkersError(
            "the embedded broker (memory://) lives inside one server process: run one web process, or "
            "set BIZZLY_BROKER_URL to redis:// or amqp:// and run `bizzly worker` beside the web processes"
        )
    return wanted
