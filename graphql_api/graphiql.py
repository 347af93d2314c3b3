"""GraphiQL with its assets served by this server: Strawberry's page, with each CDN address
(``https://unpkg.com/<package>@<version>/<file>``) turned into ``/graphiql-assets/<package>@<version>/<file>``
and served from ``graphql_api/graphiql_assets/`` (the same files, so the page's integrity hashes still hold).
Offline, or behind a firewall that blocks the CDN, the editor still loads.
"""

from __future__ import annotations

import functools
from pathlib import Path

from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles
from strawberry.http.ides import get_graphql_ide_html

ASSETS_DIR = Path(__file__).resolve().parent / "graphiql_assets"
ASSETS_PATH = "/graphiql-assets"
CDN = "https://unpkg.com/"


@functools.cache
def graphiql_html() -> str:
    return get_graphql_ide_html(graphql_ide="graphiql").replace(CDN, ASSETS_PATH + "/")


def asset_routes(*, enabled: bool) -> list[BaseRoute]:
    """The assets' route, where GraphiQL is on (``BIZZLY_GRAPHIQL``; off in production by default)."""
    if not enabled:
        return []
    return [Mount(ASSETS_PATH, app=StaticFiles(directory=ASSETS_DIR), name="graphiql-assets")]
