"""The privacy suite talks WhatsApp through signed webhooks: the fake Graph API, settings pointing at it."""

from __future__ import annotations

from tests.integrations.whatsapp.conftest import meta, settings

__all__ = ["meta", "settings"]
