"""Checks a WhatsApp connection against the Graph API (the ``ConnectionChecker`` port)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bizzly.ports import CheckResult
from bizzly.settings import Settings
from integrations.whatsapp.client import CloudApi, GraphError

# Meta's codes for a token that is expired, revoked or lacks permission.
AUTH_CODES = {190, 0, 10, 200}


class WhatsAppChecker:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def check(
        self, config: Mapping[str, Any], secrets: Mapping[str, str], *, setup: bool = False
    ) -> CheckResult:
        phone_number_id = str(config.get("phone_number_id", ""))
        waba_id = str(config.get("waba_id", ""))
        token = secrets.get("access_token", "")
        api = CloudApi(self.settings)
        try:
            number = await api.phone_number(phone_number_id, token)
            if setup:
                await api.subscribe_app(waba_id, token)
        except GraphError as exc:
            if exc.code in AUTH_CODES or exc.status == 401:
                return CheckResult(ok=False, error=exc.short, needs_reauth=True, field="accessToken")
            if exc.status == 404 or exc.code == 100:
                return CheckResult(ok=False, error=exc.short, field="phoneNumberId")
            return CheckResult(ok=False, error=exc.short)
        finally:
            await api.aclose()
        display = number.get("display_phone_number") or phone_number_id
        name = number.get("verified_name")
        label = f"{name} ({display})" if name else str(display)
        return CheckResult(ok=True, display_name=label)
