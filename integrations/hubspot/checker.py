"""``testConnection`` for HubSpot: a real call -- the refresh token is exchanged (HubSpot's refresh tokens
do not rotate, so this changes nothing stored) and the new access token's info must name the same portal."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bizzly.ports import CheckResult
from bizzly.settings import Settings
from integrations.hubspot.oauth import HubSpotOAuth, HubSpotTokenError


class HubSpotChecker:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def check(
        self, config: Mapping[str, Any], secrets: Mapping[str, str], *, setup: bool = False
    ) -> CheckResult:
        refresh = secrets.get("refresh_token")
        if not refresh:
            return CheckResult(
                ok=False, error="HubSpot is not authorized. Reconnect HubSpot.", needs_reauth=True
            )
        oauth = HubSpotOAuth(self.settings)
        try:
            token = await oauth.refresh(refresh)
            info = await oauth.token_info(str(token["access_token"]))
        except HubSpotTokenError as exc:
            if exc.status == "BAD_REFRESH_TOKEN" or exc.http_status in (400, 401):
                return CheckResult(
                    ok=False,
                    error="HubSpot no longer accepts Bizzly's access. Reconnect HubSpot.",
                    needs_reauth=True,
                )
            return CheckResult(ok=False, error=f"HubSpot answered {exc.http_status}. Try again later.")
        except Exception as exc:  # noqa: BLE001 - network errors, HubSpot down: a result, not a crash
            return CheckResult(ok=False, error=f"HubSpot could not be reached ({type(exc).__name__}).")
        portal = str(info.get("hub_id") or "")
        if config.get("portal_id") and portal != str(config["portal_id"]):
            return CheckResult(
                ok=False,
                error="HubSpot answered for a different account. Reconnect HubSpot.",
                needs_reauth=True,
            )
        return CheckResult(ok=True, display_name=str(info.get("hub_domain") or f"HubSpot {portal}"))
