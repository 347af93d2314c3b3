"""Every module that defines tables (composition root: alembic, the CLI, the app and the tests import it)."""

from __future__ import annotations

import importlib

MODEL_MODULES = [
    "bizzly.outbox",
    "tenants.models",
    "workers.models",
    "domain.customers.models",
    "domain.identity.models",
    "domain.leads.models",
    "domain.privacy.audit",
    "domain.privacy.tombstones",
    "domain.privacy.models",
    "domain.catalog.models",
    "domain.scheduling.models",
    "domain.subscriptions.models",
    "domain.connections.models",
    "domain.conversations.models",
    "integrations.hubspot.models",
    "domain.crm_sync.models",
    "domain.assistant.models",
    "domain.notifications.models",
]


def import_all() -> None:
    for name in MODEL_MODULES:
        importlib.import_module(name)
