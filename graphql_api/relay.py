"""Relay plumbing: global ids, and connections built from repository pages."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import strawberry
from strawberry import relay

from bizzly.db.paging import Page, PageRequest
from bizzly.errors import Invalid, NotFound

N = TypeVar("N")


@strawberry.type(name="Connection")
class Connection(relay.Connection[relay.NodeType]):
    """A page of a long list (at most 100 per page)."""

    total_count: int | None = strawberry.field(
        default=None, description="How many items the whole list holds (when asked for)."
    )

    @classmethod
    def from_page(cls, page: Page[N], to_node: Callable[[N], relay.NodeType]) -> Connection[relay.NodeType]:
        edges = [relay.Edge(cursor=cursor, node=to_node(item)) for cursor, item in page.items]
        return cls(
            edges=edges,
            page_info=relay.PageInfo(
                has_next_page=page.has_next,
                has_previous_page=page.has_previous,
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else None,
            ),
            total_count=page.total,
        )


def page_request(
    first: int | None = None, after: str | None = None, last: int | None = None, before: str | None = None
) -> PageRequest:
    return PageRequest(first=first, after=after, last=last, before=before)


def gid(type_name: str, value: uuid.UUID) -> relay.GlobalID:
    return relay.GlobalID(type_name, str(value))


def parse_id(value: Any, type_name: str, *, field: str) -> uuid.UUID:
    """The row id inside a global id of the expected type; a wrong or foreign id is "not found"."""
    try:
        parsed = value if isinstance(value, relay.GlobalID) else relay.GlobalID.from_id(str(value))
    except Exception as exc:
        raise Invalid("This id is not valid.", field=field) from exc
    if parsed.type_name != type_name:
        raise NotFound(f"No {type_name} with this id.", field=field)
    try:
        return uuid.UUID(parsed.node_id)
    except ValueError as exc:
        raise NotFound(f"No {type_name} with this id.", field=field) from exc


def node_uuids(node_ids: Iterable[str]) -> list[uuid.UUID | None]:
    """The row ids inside ``resolve_nodes``' node ids; a malformed one is None (it resolves to nothing)."""
    found: list[uuid.UUID | None] = []
    for node_id in node_ids:
        try:
            found.append(uuid.UUID(str(node_id)))
        except ValueError:
            found.append(None)
    return found
