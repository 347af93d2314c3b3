"""The ASGI GraphQL endpoint: builds the per-request context."""

from __future__ import annotations

from typing import Any

import strawberry
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from graphql_api.context import TENANT_HEADER, AppServices, Context, authenticate


class GraphQLView(GraphQL[Context, None]):
    def __init__(self, schema: strawberry.Schema, services: AppServices, **kwargs: Any) -> None:
        super().__init__(schema, **kwargs)
        self.services = services

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        assert isinstance(request, Request)
        caller, auth_error = await authenticate(request, self.services)
        slug = request.headers.get(TENANT_HEADER)
        return Context(
            request=request,
            response=response if isinstance(response, Response) else None,
            services=self.services,
            caller=caller,
            auth_error=auth_error,
            header_slug=slug.strip().lower() if slug and slug.strip() else None,
        )
