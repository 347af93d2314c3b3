"""Checks a Google Analytics connection (the ``ConnectionChecker`` port): a sample event goes to GA's
debug endpoint, whose validation messages are reported. GA's debug endpoint does not check the API secret,
so a passing check says so."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bizzly.ports import CheckResult
from bizzly.settings import Settings
from integrations.analytics.client import GaError, MeasurementProtocol
from integrations.analytics.events import ENGAGEMENT_TIME_MSEC

SAMPLE = {
    "client_id": "1234567890.1234567890",
    "events": [{"name": "booking_created", "params": {"engagement_time_msec": ENGAGEMENT_TIME_MSEC}}],
}
UNVERIFIED_SECRET = "API secret stored; Google Analytics cannot verify it"


class GoogleAnalyticsChecker:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def check(
        self, config: Mapping[str, Any], secrets: Mapping[str, str], *, setup: bool = False
    ) -> CheckResult:
        measurement_id = str(config.get("measurement_id", ""))
        api_secret = secrets.get("api_secret", "")
        if not api_secret:
            return CheckResult(ok=True, display_name=f"{measurement_id} (site tag only)")
        ga = MeasurementProtocol(self.settings)
        try:
            messages = await ga.validate(measurement_id, api_secret, SAMPLE)
        except GaError as exc:
            return CheckResult(ok=False, display_name=measurement_id, error=str(exc))
        finally:
            await ga.aclose()
        if messages:
            error = "Google Analytics rejected a sample event: " + "; ".join(m.short() for m in messages)
            return CheckResult(ok=False, display_name=measurement_id, error=error, field="measurementId")
        return CheckResult(ok=True, display_name=f"{measurement_id} ({UNVERIFIED_SECRET})")
