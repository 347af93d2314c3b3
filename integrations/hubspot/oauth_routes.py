"""``GET /integrations/hubspot/callback``: where HubSpot sends staff back after they authorize the app.

Whatever happens, the answer is a redirect to the dashboard (``BIZZLY_DASHBOARD_URL``) with
``hubspot=connected`` or ``hubspot=error&message=<readable reason>``: a person is looking at it.
"""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bizzly.crypto import KeyRing
from bizzly.db.engine import Database
from bizzly.settings import Settings
from integrations.hubspot.connect import ConnectFailed, finish_connect
from integrations.hubspot.oauth import CALLBACK_PATH, HubSpotOAuth

_MAX_PARAM = 2048


def _dashboard(settings: Settings, **params: str) -> RedirectResponse:
    return RedirectResponse(settings.dashboard_url.rstrip("/") + "/?" + urlencode(params), status_code=303)


def hubspot_routes(settings: Settings, db: Database, keys: KeyRing) -> list[Route]:
    oauth = HubSpotOAuth(settings, db, keys)

    async def callback(request: Request) -> Response:
        params = request.query_params
        state = params.get("state") or ""
        code = params.get("code")
        error = params.get("error_description") or params.get("error")
        if not state or len(state) > _MAX_PARAM or len(code or "") > _MAX_PARAM:
            return _dashboard(
                settings, hubspot="error", message="This HubSpot link is not valid. Start connecting again."
            )
        try:
            await finish_connect(db, keys, oauth, state=state, code=code, error=error)
        except ConnectFailed as exc:
            return _dashboard(settings, hubspot="error", message=str(exc))
        return _dashboard(settings, hubspot="connected")

    return [Route(CALLBACK_PATH, callback, methods=["GET"])]
