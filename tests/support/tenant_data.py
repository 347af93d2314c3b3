"""Everything the database holds for one tenant, read past every wall (owner connection), to compare
before and after an attack."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import MetaData, Table, select
from sqlalchemy.ext.asyncio import AsyncConnection

Snapshot = dict[str, list[tuple[Any, ...]]]


async def tenant_snapshot(conn: AsyncConnection, metadata: MetaData, tenant_id: uuid.UUID) -> Snapshot:
    """The tenant's row, every row carrying its ``tenant_id``, and the system rows tied to those by a
    foreign key either way (the users of its memberships, the refresh tokens of its sessions)."""
    rows: dict[str, list[dict[str, Any]]] = {}
    for table in metadata.sorted_tables:
        if "tenant_id" in table.columns:
            stmt = select(table).where(table.c.tenant_id == tenant_id)
        elif table.name == "tenants":
            stmt = select(table).where(table.c.id == tenant_id)
        else:
            continue
        rows[table.name] = [dict(r) for r in (await conn.execute(stmt)).mappings()]
    for table in metadata.sorted_tables:
        if table.name in rows:
            continue
        linked = await _linked_rows(conn, table, rows)
        if linked:
            rows[table.name] = linked
    return {name: sorted((_key(r) for r in found), key=repr) for name, found in rows.items()}


async def _linked_rows(
    conn: AsyncConnection, table: Table, owned: dict[str, list[dict[str, Any]]]
) -> list[dict[str, Any]]:
    wanted: list[tuple[list[str], set[tuple[Any, ...]]]] = []
    # This system table points at the tenant's rows (refresh_tokens -> auth_sessions).
    for fk in table.foreign_key_constraints:
        parent = owned.get(fk.referred_table.name)
        if parent:
            local = [e.parent.name for e in fk.elements]
            remote = [e.column.name for e in fk.elements]
            wanted.append((local, {tuple(r[c] for c in remote) for r in parent}))
    # The tenant's rows point at this system table (memberships -> users).
    for name, found in owned.items():
        if not found:
            continue
        for fk in metadata_table(table, name).foreign_key_constraints:
            if fk.referred_table is table:
                local = [e.column.name for e in fk.elements]
                remote = [e.parent.name for e in fk.elements]
                wanted.append((local, {tuple(r[c] for c in remote) for r in found}))
    if not wanted:
        return []
    everything = [dict(r) for r in (await conn.execute(select(table))).mappings()]
    return [r for r in everything if any(tuple(r[c] for c in cols) in keys for cols, keys in wanted)]


def metadata_table(table: Table, name: str) -> Table:
    assert table.metadata is not None
    return table.metadata.tables[name]


def _key(row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(sorted((k, repr(v)) for k, v in row.items()))
