"""Minimal rows for any table of the metadata, so isolation tests grow with the schema by themselves.

A row gets a value for every NOT NULL column without a default (by type, with a few name hints), every
foreign key pointing at the row of the same label (tenant A or B) in the parent table, and ``tenant_id``
from the ``tenants`` row of its label. A table whose rules a generic value cannot meet gets an entry in
``ROW_TWEAKS`` (table name -> function adjusting the values): the tests fail, naming the table, until then.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import time, timedelta
from itertools import count
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Enum,
    ForeignKeyConstraint,
    Integer,
    Interval,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Table,
    Time,
    Uuid,
)
from sqlalchemy.types import ARRAY, TypeDecorator, TypeEngine

from bizzly import clock
from bizzly.ids import new_id

Row = dict[str, Any]
# (table name, label) -> the inserted row, as the database returned it.
World = dict[tuple[str, str], Row]
Insert = Callable[[Table, Row, str], Awaitable[Row]]

# Table name -> adjusts generic values to the table's own rules (values are edited in place).
ROW_TWEAKS: dict[str, Callable[[Row], None]] = {}

_IN_LIST = r"\b{col}\b\W*\s+IN\s*\(([^)]*)\)"


class RowBuilder:
    """Makes values for one row of a table; every value is unique per builder (unique constraints)."""

    def __init__(self) -> None:
        self._n = count(1)
        self._ints = count(1)
        self._base = clock.now().replace(microsecond=0) + timedelta(days=30)

    def values(self, table: Table, parents: Mapping[str, Row]) -> Row:
        """``parents``: referred table name -> the row (of the same tenant) foreign keys point at."""
        values: Row = {}
        self._ints = count(1)
        for fk in table.foreign_key_constraints:
            parent = parents.get(fk.referred_table.name)
            for element in fk.elements:
                name = element.parent.name
                if parent is not None and fk.referred_table is not table:
                    values[name] = parent[element.column.name]
        for column in table.columns:
            if column.name in values or column.computed is not None:
                continue
            if column.name == "tenant_id" and "tenants" in parents:
                values["tenant_id"] = parents["tenants"]["id"]
                continue
            if column.foreign_keys:
                if column.nullable:
                    continue
                raise LookupError(f"{table.name}.{column.name}: no parent row to point at")
            has_default = column.default is not None or column.server_default is not None
            if column.primary_key and isinstance(_base_type(column.type), Uuid):
                values[column.name] = new_id()
            elif column.nullable or has_default:
                continue
            else:
                values[column.name] = self._value(table, column.name, column.type)
        tweak = ROW_TWEAKS.get(table.name)
        if tweak is not None:
            tweak(values)
        return values

    def _value(self, table: Table, name: str, type_: TypeEngine[Any]) -> Any:
        n = next(self._n)
        allowed = _check_in_values(table, name)
        if allowed:
            return allowed[0]
        base = _base_type(type_)
        if isinstance(base, Enum):
            return base.enums[0]
        if isinstance(base, Boolean):
            return False
        if isinstance(base, Uuid):
            return new_id()
        if isinstance(base, DateTime):
            # Later columns get later times: "ends after starts" style checks hold.
            return self._base + timedelta(minutes=n)
        if isinstance(base, Date):
            return (self._base + timedelta(days=n)).date()
        if isinstance(base, Time):
            return time(8 + n % 12, 0)
        if isinstance(base, Interval):
            return timedelta(minutes=30)
        if isinstance(base, Integer | Numeric):
            # Small, and rising in column order within the row: "> 0", "<= 6", "seat < capacity" hold.
            return next(self._ints)
        if isinstance(base, JSON):
            return {}
        if isinstance(base, ARRAY):
            return []
        if isinstance(base, LargeBinary):
            return f"b{n}".encode()
        if isinstance(base, String):
            return _text(name, n, base.length)
        raise NotImplementedError(
            f"{table.name}.{name}: no generic value for {type_!r}; add a ROW_TWEAKS entry in this module"
        )


def _base_type(type_: TypeEngine[Any]) -> TypeEngine[Any]:
    while isinstance(type_, TypeDecorator):
        type_ = type_.impl_instance
    return type_


def _check_in_values(table: Table, column: str) -> list[str]:
    for constraint in table.constraints:
        if isinstance(constraint, CheckConstraint):
            match = re.search(_IN_LIST.format(col=re.escape(column)), str(constraint.sqltext), re.I)
            if match:
                return re.findall(r"'([^']*)'", match.group(1))
    return []


def _text(name: str, n: int, length: int | None) -> str:
    hints = {
        "currency": "EUR",
        "region": "GB",
        "country": "GB",
        "timezone": "Europe/London",
        "email": f"row{n}@example.com",
        "phone": f"+447700900{n % 1000:03d}",
        "locale": "en",
        "language": "en",
    }
    value = next((v for key, v in hints.items() if key in name), f"{name}-{n}")
    if length is not None and len(value) > length:
        value = f"{n:x}".rjust(length, "X")[-length:] if length < 4 else value[-length:]
    return value


def tenant_tables(metadata: MetaData) -> list[Table]:
    return [t for t in metadata.sorted_tables if "tenant_id" in t.columns]


def ancestors(tables: Iterable[Table]) -> set[str]:
    """Every table the given ones point at, directly or through other tables (the tables themselves too)."""
    seen: set[str] = set()
    stack = list(tables)
    while stack:
        table = stack.pop()
        if table.name in seen:
            continue
        seen.add(table.name)
        stack.extend(fk.referred_table for fk in table.foreign_key_constraints)
    return seen


def tenant_carrying_fks(metadata: MetaData) -> list[ForeignKeyConstraint]:
    """Foreign keys from a tenant table to another tenant table's ``(tenant_id, ...)``."""
    found = []
    for table in tenant_tables(metadata):
        for fk in table.foreign_key_constraints:
            local = [e.parent.name for e in fk.elements]
            remote = [e.column.name for e in fk.elements]
            if "tenant_id" in local and "tenant_id" in remote and len(local) > 1:
                found.append(fk)
    return sorted(found, key=lambda fk: (fk.parent.name, str(fk.name)))


async def seed(
    metadata: MetaData, names: set[str], labels: Iterable[str], insert: Insert, builder: RowBuilder
) -> World:
    """One row per label in each named table, parents first; ``tenants`` is always seeded."""
    world: World = {}
    wanted = names | {"tenants"}
    for table in metadata.sorted_tables:
        if table.name not in wanted:
            continue
        for label in labels:
            parents = {name: row for (name, lab), row in world.items() if lab == label}
            world[(table.name, label)] = await insert(table, builder.values(table, parents), label)
    return world


def tenant_of(world: World, label: str) -> uuid.UUID:
    value = world[("tenants", label)]["id"]
    assert isinstance(value, uuid.UUID)
    return value
