"""``python -m tests.workers.worker_main worker``: the real ``bizzly`` CLI with the test handlers registered
(what ``bizzly.wiring.HANDLER_MODULES`` does for product modules)."""

from __future__ import annotations

import tests.workers.kill_handlers  # noqa: F401 - registers the test topics
from bizzly.cli import main

if __name__ == "__main__":
    main()
