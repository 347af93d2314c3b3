"""``node(id:)``: fetch any object by its global id.

Each Node type enforces who may see it in its ``resolve_nodes`` (staff permission, a customer's own
rows); an id that is malformed, of an unknown type, of another tenant or not visible to the caller is
reported the same way, as a top-level ``NOT_FOUND``, so ids reveal nothing.
"""

from __future__ import annotations

import inspect
from typing import Any

import strawberry
from strawberry import relay

from graphql_api.context import Info
from graphql_api.errors import not_found
from graphql_api.permissions import Authenticated


async def _first(result: Any) -> Any:
    if inspect.isawaitable(result):
        result = await result
    if hasattr(result, "__aiter__"):
        async for item in result:
            return item
        return None
    for item in result:
        return item
    return None


@strawberry.type
class NodeQuery:
    @strawberry.field(
        permission_classes=[Authenticated],
        description="Any object by its global id (NOT_FOUND when it does not exist or is not yours).",
    )
    async def node(self, info: Info, id: strawberry.ID) -> relay.Node | None:
        try:
            gid = relay.GlobalID.from_id(str(id))
            node_type = gid.resolve_type(info)
        except (ValueError, TypeError) as exc:  # GlobalIDValueError is a ValueError
            raise not_found("Nothing has this id.") from exc
        try:
            found = await _first(node_type.resolve_nodes(info=info, node_ids=[gid.node_id], required=False))
        except NotImplementedError as exc:
            raise not_found("Nothing has this id.") from exc
        if found is None:
            raise not_found("Nothing has this id.")
        return found  # type: ignore[no-any-return]
