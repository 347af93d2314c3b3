"""Fault injection for ``tests/chaos``: kill this process at a named point of the outbox path.

Off unless ``BIZZLY_CHAOS_POINT`` names the point (never set it in production). ``BIZZLY_CHAOS_TOPIC``
narrows it to one outbox topic. The kill is SIGKILL: no ``finally``, no rollback sent, no goodbye to the
broker -- what a crashed host or the OOM killer does. Points:

- ``after_provider_before_commit``: the handler returned (a provider has answered, e.g. Meta accepted a
  send) and the row's transaction is not committed: the effect happened but is not recorded, so the row
  runs again after its lease and the provider gets the call twice. The one duplicate the design allows.
"""

from __future__ import annotations

import os
import signal

POINT_ENV = "BIZZLY_CHAOS_POINT"
TOPIC_ENV = "BIZZLY_CHAOS_TOPIC"


def point(name: str, topic: str) -> None:
    if os.environ.get(POINT_ENV) != name:
        return
    wanted = os.environ.get(TOPIC_ENV)
    if wanted and wanted != topic:
        return
    os.kill(os.getpid(), signal.SIGKILL)
