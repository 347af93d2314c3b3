"""The ASGI GraphQL endpoint: builds the per-request context."""

from __future__ import annotations

import json
from typing import Any

import orjson
import strawberry
from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from bizzly.logs import bind_tenant
from domain.catalog.text import storable_text
from graphql_api.context import TENANT_HEADER, AppServices, Context, authenticate
from graphql_api.graphiql import graphiql_html
from graphql_api.storable_text import MESSAGE as UNSTORABLE_TEXT


def _has_unstorable_text(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if not storable_text(item):  # NUL, or a lone surrogate (JSON's "\ud800"): no database stores it
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


class GraphQLView(GraphQL[Context, None]):
    def __init__(self, schema: strawberry.Schema, services: AppServices, **kwargs: Any) -> None:
        super().__init__(schema, **kwargs)
        self.services = services

    @property
    def graphql_ide_html(self) -> str:
        return graphiql_html()  # its scripts and styles from this server, not a CDN

    def encode_json(self, data: object) -> bytes:
        # orjson: several times faster than json.dumps on a page of a hundred rows (bench/bookings_page.py).
        # Non-finite floats become null (json.dumps would write NaN, which is not JSON).
        return orjson.dumps(data)

    def parse_json(self, data: str | bytes) -> Any:
        # Strawberry turns only JSONDecodeError into a 400; invalid UTF-8, nesting deeper than the decoder's
        # recursion limit and a body that is not an object (or a batch list) would be 500s.
        try:
            value = json.loads(data)
        except (ValueError, RecursionError) as exc:
            raise HTTPException(400, "Unable to parse request body as JSON") from exc
        if not isinstance(value, dict | list):
            raise HTTPException(400, "Expected a JSON object.")
        if _has_unstorable_text(value):
            # No database stores NUL or a lone surrogate in text; refuse them once here rather than in every
            # field (the same words as the document's own literals get from the StorableText rule).
            raise HTTPException(400, UNSTORABLE_TEXT)
        return value

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        assert isinstance(request, Request)
        caller, auth_error = await authenticate(request, self.services)
        bind_tenant(caller.tenant_id)  # the request's log lines now name the token's tenant
        slug = request.headers.get(TENANT_HEADER)
        return Context(
            request=request,
            response=response if isinstance(response, Response) else None,
            services=self.services,
            caller=caller,
            auth_error=auth_error,
            header_slug=slug.strip().lower() if slug and slug.strip() else None,
        )
