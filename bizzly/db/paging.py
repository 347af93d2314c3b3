"""Keyset pagination used by every repository list: stable under inserts, cheap on deep pages."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from bizzly.errors import Invalid

T = TypeVar("T")
MAX_PAGE = 100


@dataclass(frozen=True)
class PageRequest:
    first: int | None = None
    after: str | None = None
    last: int | None = None
    before: str | None = None

    def size(self) -> int:
        if self.first is not None and self.last is not None:
            raise Invalid("Pass first or last, not both.", field="first")
        n = self.first if self.first is not None else self.last
        if n is None:
            return 20
        if n < 0 or n > MAX_PAGE:
            raise Invalid(
                f"Page size must be between 0 and {MAX_PAGE}.",
                field="first" if self.first is not None else "last",
            )
        return n


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[tuple[str, T]]  # (cursor, item)
    has_next: bool
    has_previous: bool
    total: int | None = None


def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"t": value.isoformat()}
    if isinstance(value, uuid.UUID):
        return {"u": str(value)}
    return value


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict):
        if "t" in value:
            parsed = datetime.fromisoformat(str(value["t"]))
            if parsed.tzinfo is None:
                raise ValueError("cursor datetimes are aware")
            return parsed
        if "u" in value:
            return uuid.UUID(str(value["u"]))
    return value


def encode_cursor(values: Sequence[Any]) -> str:
    raw = json.dumps([_encode_value(v) for v in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, n: int, *, field: str) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
        if not isinstance(values, list) or len(values) != n:
            raise ValueError
        return [_decode_value(v) for v in values]
    except (ValueError, TypeError) as exc:
        raise Invalid("This cursor is not valid.", field=field) from exc


def _after(cols: Sequence[tuple[InstrumentedAttribute[Any], bool]], values: Sequence[Any]) -> Any:
    """Rows strictly after ``values`` in the order given by ``cols`` (each (column, descending))."""
    clauses = []
    for i, (col, desc) in enumerate(cols):
        equal = [c == v for (c, _), v in zip(cols[:i], values[:i], strict=True)]
        step = col < values[i] if desc else col > values[i]
        clauses.append(and_(*equal, step))
    return or_(*clauses)


async def keyset_page(
    session: AsyncSession,
    stmt: Select[Any],
    *,
    order: Sequence[tuple[InstrumentedAttribute[Any], bool]],
    page: PageRequest,
    with_total: bool = False,
) -> Page[Any]:
    """Run ``stmt`` (a select of one entity) one page at a time; ``order`` must end in a unique column."""
    size = page.size()
    backwards = page.last is not None or (page.before is not None and page.first is None)
    total: int | None = None
    if with_total:
        total = (
            await session.execute(select(func.count()).select_from(stmt.order_by(None).subquery()))
        ).scalar_one()
    query = stmt
    if page.after:
        query = query.where(_after(order, decode_cursor(page.after, len(order), field="after")))
    if page.before:
        reverse = [(c, not d) for c, d in order]
        query = query.where(_after(reverse, decode_cursor(page.before, len(order), field="before")))
    effective = [(c, not d) for c, d in order] if backwards else list(order)
    query = query.order_by(*[c.desc() if d else c.asc() for c, d in effective]).limit(size + 1)
    rows = list((await session.execute(query)).scalars().all())
    more = len(rows) > size
    rows = rows[:size]
    if backwards:
        rows.reverse()
    items = [(encode_cursor([getattr(r, c.key) for c, _ in order]), r) for r in rows]
    return Page(
        items=items,
        has_next=more if not backwards else page.before is not None,
        has_previous=more if backwards else page.after is not None,
        total=total,
    )
