"""Tenants are walled off in the database itself (docs/design.md section 3).

On PostgreSQL, as the app role: every table with ``tenant_id`` has row-level security enabled and forced
(only ``RLS_EXEMPT`` differs), raw SQL in tenant A's session neither sees nor changes B's rows, and a pooled
connection never carries a tenant to its next user. On both dialects: a row can never point at another
tenant's row (composite foreign keys), and the ORM safety net scopes queries and refuses foreign rows.
The tables are discovered from the database and the metadata, so a new table is covered without edits.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import ForeignKeyConstraint, Table, func, insert, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from bizzly.db.base import Base, TenantScoped
from bizzly.db.engine import Database, MaintenanceUse, make_engine
from bizzly.db.tenancy import RLS_EXEMPT, TENANT_KEY, BizzlySession, CrossTenantWrite, TenantRequired
from bizzly.model_registry import import_all
from bizzly.settings import Settings
from tenants.models import Membership
from tests.support.rows import (
    Row,
    RowBuilder,
    World,
    ancestors,
    seed,
    tenant_carrying_fks,
    tenant_of,
    tenant_tables,
)
from tests.support.tenant_data import tenant_snapshot

import_all()

A, B = "A", "B"


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Database]:
    database = Database(settings)
    yield database
    await database.dispose()


@pytest.fixture
async def owner(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(settings.database_owner_url, null_pool=True)
    yield engine
    await engine.dispose()


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _guarded() -> list[Table]:
    """Tenant tables under row-level security (every one but the listed exemptions)."""
    return [t for t in tenant_tables(Base.metadata) if t.name not in RLS_EXEMPT]


async def _insert(session_or_conn: AsyncSession | AsyncConnection, table: Table, values: Row) -> Row:
    result = await session_or_conn.execute(insert(table).values(values).returning(*table.c))
    return dict(result.mappings().one())


@pytest.fixture
async def world(db: Database, owner: AsyncEngine) -> World:
    """One row per tenant (A and B) in every tenant table and the system rows they point at. Tenant rows
    under RLS are written through tenant sessions of the app role (so its own writes are allowed)."""

    async def insert_row(table: Table, values: Row, label: str) -> Row:
        if "tenant_id" in table.columns and table.name not in RLS_EXEMPT:
            async with db.tenant_session(values["tenant_id"]) as s, s.begin():
                return await _insert(s, table, values)
        async with owner.begin() as conn:
            return await _insert(conn, table, values)

    tables = tenant_tables(Base.metadata)
    return await seed(Base.metadata, ancestors(tables), (A, B), insert_row, RowBuilder())


# --- PostgreSQL: the app role and row-level security ---------------------------------------------------


@pytest.mark.postgres_only
async def test_the_app_role_is_neither_superuser_nor_bypassrls_nor_owner(db: Database) -> None:
    async with db.app_engine.connect() as conn:
        role = (
            await conn.execute(
                text("SELECT rolname, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
            )
        ).one()
        owned = (
            await conn.execute(
                text(
                    "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() "
                    "AND tableowner = current_user"
                )
            )
        ).scalar_one()
    assert role.rolname == db.settings.database_url.split("//", 1)[1].split(":", 1)[0]
    assert role.rolsuper is False
    assert role.rolbypassrls is False
    # FORCE makes RLS apply to owners too, but the app role owning nothing keeps ALTER/DISABLE out of reach.
    assert owned == 0


@pytest.mark.postgres_only
async def test_every_table_with_tenant_id_has_row_level_security_forced(db: Database) -> None:
    async with db.app_engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, "
                    "  (SELECT count(*) FROM pg_policies p WHERE p.schemaname = n.nspname "
                    "     AND p.tablename = c.relname AND p.qual LIKE '%app.tenant_id%' "
                    "     AND p.with_check LIKE '%app.tenant_id%') AS policies "
                    "FROM information_schema.columns col "
                    "JOIN pg_namespace n ON n.nspname = col.table_schema "
                    "JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = col.table_name "
                    "WHERE col.column_name = 'tenant_id' AND col.table_schema = current_schema() "
                    "  AND c.relkind IN ('r', 'p')"
                )
            )
        ).all()
    tables = {r.relname: r for r in rows}
    assert {"memberships", "customers"} <= tables.keys(), sorted(tables)

    stale = sorted(set(RLS_EXEMPT) - set(tables))
    assert not stale, f"RLS_EXEMPT names tables that do not exist or have no tenant_id: {stale}"
    unguarded = sorted(
        name
        for name, r in tables.items()
        if name not in RLS_EXEMPT and not (r.relrowsecurity and r.relforcerowsecurity and r.policies)
    )
    assert not unguarded, f"tables with tenant_id but without forced RLS and a tenant policy: {unguarded}"
    # The exemptions really are exempt: nothing hides that a table was listed without need.
    odd = sorted(name for name in RLS_EXEMPT if tables[name].relrowsecurity)
    assert not odd, f"listed as exempt but under RLS: {odd}"


@pytest.mark.postgres_only
async def test_raw_sql_in_tenant_a_neither_sees_nor_changes_tenant_b(
    db: Database, owner: AsyncEngine, world: World
) -> None:
    a, b = tenant_of(world, A), tenant_of(world, B)
    async with owner.connect() as conn:
        before = await tenant_snapshot(conn, Base.metadata, b)

    for table in _guarded():
        q = _q(table.name)
        async with db.tenant_session(a) as s, s.begin():
            seen = (await s.execute(text(f"SELECT tenant_id FROM {q}"))).scalars().all()
            assert set(seen) == {a}, f"{table.name}: A sees {seen}"
            assert (
                await s.execute(text(f"SELECT count(*) FROM {q} WHERE tenant_id = :b"), {"b": b})
            ).scalar_one() == 0
            updated = await s.execute(
                text(f"UPDATE {q} SET tenant_id = tenant_id WHERE tenant_id = :b"), {"b": b}
            )
            assert updated.rowcount == 0, table.name  # type: ignore[attr-defined]
            deleted = await s.execute(text(f"DELETE FROM {q} WHERE tenant_id = :b"), {"b": b})
            assert deleted.rowcount == 0, table.name  # type: ignore[attr-defined]

        # A cannot hand its own row over to B either (WITH CHECK).
        with pytest.raises(DBAPIError, match="row-level security"):
            async with db.tenant_session(a) as s, s.begin():
                await s.execute(text(f"UPDATE {q} SET tenant_id = :b WHERE tenant_id = :a"), {"a": a, "b": b})

    async with owner.connect() as conn:
        assert await tenant_snapshot(conn, Base.metadata, b) == before


@pytest.mark.postgres_only
async def test_inserting_a_row_for_tenant_b_in_tenant_a_is_refused_by_the_database(
    db: Database, world: World
) -> None:
    a = tenant_of(world, A)
    builder = RowBuilder()
    b_parents = {name: row for (name, label), row in world.items() if label == B}
    for table in _guarded():
        values = builder.values(table, b_parents)
        assert values["tenant_id"] == tenant_of(world, B)
        with pytest.raises(DBAPIError, match="row-level security") as caught:
            async with db.tenant_session(a) as s, s.begin():
                # Core insert: the ORM's before_flush net does not see it, only the database can refuse.
                await s.execute(insert(table).values(values))
        assert table.name in str(caught.value)


@pytest.mark.postgres_only
async def test_a_pooled_connection_never_carries_a_tenant_to_its_next_user(
    settings: Settings, world: World
) -> None:
    a, b = tenant_of(world, A), tenant_of(world, B)
    small = Database(settings.model_copy(update={"database_pool_size": 1}))
    guarded = _guarded()
    backends: set[int] = set()
    try:
        for i in range(12):
            tenant = (a, b)[i % 2]
            # Sessions end every way a request can: commit, rollback, and a failed statement.
            async with small.tenant_session(tenant, write=True) as s:
                await s.begin()
                backends.add((await s.execute(text("SELECT pg_backend_pid()"))).scalar_one())
                for table in guarded:
                    seen = set((await s.execute(text(f"SELECT tenant_id FROM {_q(table.name)}"))).scalars())
                    assert seen == {tenant}, f"session {i} for {tenant} sees {seen} in {table.name}"
                if i % 3 == 0:
                    await s.commit()
                elif i % 3 == 1:
                    await s.rollback()
                else:
                    with pytest.raises(DBAPIError):
                        await s.execute(text("SELECT 1/0"))
                    await s.rollback()
            # The next user of the same connection, with no tenant at all, sees nothing.
            async with small.app_engine.connect() as conn:
                backends.add((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())
                setting = (await conn.execute(text("SELECT current_setting('app.tenant_id', true)"))).scalar()
                assert setting in ("", None)
                for table in guarded:
                    count = (await conn.execute(text(f"SELECT count(*) FROM {_q(table.name)}"))).scalar_one()
                    assert count == 0, f"{table.name}: {count} rows visible without a tenant"
    finally:
        await small.dispose()
    assert len(backends) == 1, "the test must reuse one pooled connection to prove anything"


@pytest.mark.postgres_only
async def test_a_session_bound_to_no_tenant_sees_no_tenant_rows_through_raw_sql(
    db: Database, world: World
) -> None:
    async with db.public_session() as s:
        for table in _guarded():
            count = (await s.execute(text(f"SELECT count(*) FROM {_q(table.name)}"))).scalar_one()
            assert count == 0, table.name


# --- both dialects: keys, foreign keys and the ORM safety net ------------------------------------------


def test_foreign_keys_between_tenant_tables_carry_tenant_id() -> None:
    """docs/design.md section 3: no row can point at another tenant's row: every key leads with tenant_id."""
    wrong = []
    for table in tenant_tables(Base.metadata):
        pk = [c.name for c in table.primary_key.columns]
        if table.name not in RLS_EXEMPT and pk[:1] != ["tenant_id"]:
            wrong.append(f"{table.name}: primary key {pk} does not lead with tenant_id")
        for fk in table.foreign_key_constraints:
            target = fk.referred_table
            if "tenant_id" not in target.columns or target is table:
                continue
            pairs = {(e.parent.name, e.column.name) for e in fk.elements}
            if ("tenant_id", "tenant_id") not in pairs:
                wrong.append(f"{table.name} -> {target.name} {sorted(pairs)} lacks tenant_id")
    assert not wrong, "\n".join(wrong)


async def test_a_foreign_key_to_another_tenants_row_fails_in_the_database(
    settings: Settings, owner: AsyncEngine
) -> None:
    """For every tenant-carrying foreign key: a row of A pointing at B's parent row is refused by the
    database itself (written past RLS and the ORM, on the owner connection); the same row pointing at A's
    parent row is accepted, so the refusal is the foreign key's doing."""
    checked: list[str] = []
    for fk in tenant_carrying_fks(Base.metadata):
        checked.append(await _attack_foreign_key(owner, fk))
    if settings.is_sqlite:
        async with owner.connect() as conn:
            assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar_one() == 1
    print(f"tenant-carrying foreign keys checked: {checked}")


async def _attack_foreign_key(owner: AsyncEngine, fk: ForeignKeyConstraint) -> str:
    table = fk.table
    name = f"{table.name}{[e.parent.name for e in fk.elements]} -> {fk.referred_table.name}"
    async with owner.connect() as conn:
        trans = await conn.begin()

        async def insert_row(t: Table, values: Row, label: str) -> Row:
            return await _insert(conn, t, values)

        world = await seed(Base.metadata, ancestors([table]) - {table.name}, (A, B), insert_row, RowBuilder())
        builder = RowBuilder()
        parents_a = {n: row for (n, label), row in world.items() if label == A}
        good = builder.values(table, parents_a)
        b_row = world[(fk.referred_table.name, B)]
        bad = builder.values(table, parents_a)
        for element in fk.elements:
            if element.parent.name != "tenant_id":
                bad[element.parent.name] = b_row[element.column.name]
        assert bad["tenant_id"] == tenant_of(world, A)

        ok = await conn.begin_nested()
        await _insert(conn, table, good)
        await ok.rollback()
        attack = await conn.begin_nested()
        with pytest.raises(IntegrityError, match="(?i)foreign key") as caught:
            await _insert(conn, table, bad)
        await attack.rollback()
        await trans.rollback()
    assert "unique" not in str(caught.value).lower(), name
    return name


async def test_orm_queries_in_a_tenant_session_see_only_that_tenant(db: Database, world: World) -> None:
    """Wall two on its own: every TenantScoped model queried without a filter. On PostgreSQL the session
    runs on the maintenance role (BYPASSRLS), so only the ORM safety net can be what hides B's rows."""
    a = tenant_of(world, A)
    models = [m.class_ for m in Base.registry.mappers if issubclass(m.class_, TenantScoped)]
    assert Membership in models
    session = AsyncSession(bind=db.maintenance_engine, sync_session_class=BizzlySession, info={TENANT_KEY: a})
    async with session:
        for model in models:
            rows = (await session.execute(select(model))).scalars().all()
            assert {r.tenant_id for r in rows} == {a}, model.__name__
            assert (await session.execute(select(func.count()).select_from(model))).scalar_one() == 1
    async with db.maintenance_session(MaintenanceUse.TESTS, write=False) as s:
        # Both tenants' rows are there: the net hid them, they were not missing.
        tenants = {r.tenant_id for r in (await s.execute(select(Membership))).scalars()}
        assert tenants == {a, tenant_of(world, B)}


async def test_flushing_a_row_of_another_tenant_raises_cross_tenant_write(db: Database, world: World) -> None:
    a, b = tenant_of(world, A), tenant_of(world, B)
    user_b = world[("users", B)]["id"]
    with pytest.raises(CrossTenantWrite):
        async with db.tenant_session(a) as s, s.begin():
            s.add(Membership(tenant_id=b, id=uuid.uuid4(), user_id=user_b, role="OWNER"))
    async with db.maintenance_session(MaintenanceUse.TESTS, write=False) as s:
        owners = (await s.execute(select(Membership).where(Membership.tenant_id == b))).scalars().all()
        assert [m.id for m in owners] == [world[("memberships", B)]["id"]]


async def test_tenant_tables_in_a_session_bound_to_no_tenant_raise_tenant_required(
    db: Database, world: World
) -> None:
    async with db.public_session() as s:
        with pytest.raises(TenantRequired):
            await s.execute(select(Membership))
    with pytest.raises(TenantRequired):
        async with db.public_session(write=True) as s, s.begin():
            s.add(Membership(user_id=world[("users", A)]["id"], role="STAFF"))
