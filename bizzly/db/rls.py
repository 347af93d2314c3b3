"""PostgreSQL's wall: row-level security on every tenant table, and the three roles' privileges.

Run after every migration (``migrations/env.py``), so a new tenant table can never be forgotten.
"""

from __future__ import annotations

from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection, make_url

from bizzly.db.tenancy import RLS_EXEMPT

POLICY = "tenant_isolation"
TENANT_EXPR = "NULLIF(current_setting('app.tenant_id', true), '')::uuid"


def tenant_tables(metadata: MetaData) -> list[str]:
    return sorted(t.name for t in metadata.sorted_tables if "tenant_id" in t.columns)


def sync_rls(connection: Connection, metadata: MetaData) -> None:
    if connection.dialect.name != "postgresql":
        return
    for table in tenant_tables(metadata):
        if table in RLS_EXEMPT:
            continue
        # After a downgrade some tables of the metadata no longer exist.
        if connection.execute(text("SELECT to_regclass(:t)"), {"t": f"public.{table}"}).scalar() is None:
            continue
        q = f'"{table}"'
        connection.execute(text(f"ALTER TABLE {q} ENABLE ROW LEVEL SECURITY"))
        connection.execute(text(f"ALTER TABLE {q} FORCE ROW LEVEL SECURITY"))
        connection.execute(text(f"DROP POLICY IF EXISTS {POLICY} ON {q}"))
        connection.execute(
            text(
                f"CREATE POLICY {POLICY} ON {q} FOR ALL "
                f"USING (tenant_id = {TENANT_EXPR}) WITH CHECK (tenant_id = {TENANT_EXPR})"
            )
        )


def role_name(url: str) -> str | None:
    parsed = make_url(url)
    return parsed.username if parsed.get_backend_name() == "postgresql" else None


def ensure_roles(connection: Connection, *, app_url: str, maintenance_url: str) -> None:
    """Create the app role (no BYPASSRLS) and the maintenance role (BYPASSRLS) when missing."""
    for url, bypass in ((app_url, False), (maintenance_url, True)):
        parsed = make_url(url)
        name = parsed.username
        if not name or name == connection.engine.url.username:
            continue
        exists = connection.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :n"), {"n": name}).first()
        flag = "BYPASSRLS" if bypass else "NOBYPASSRLS"
        password = f" PASSWORD '{_quote(parsed.password)}'" if parsed.password else ""
        verb = "ALTER" if exists else "CREATE"
        connection.execute(text(f'{verb} ROLE "{name}" LOGIN NOSUPERUSER {flag}{password}'))


def grant_privileges(connection: Connection, *, app_url: str, maintenance_url: str) -> None:
    for url in (app_url, maintenance_url):
        name = role_name(url)
        if not name or name == connection.engine.url.username:
            continue
        connection.execute(text(f'GRANT USAGE ON SCHEMA public TO "{name}"'))
        connection.execute(
            text(f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "{name}"')
        )
        connection.execute(text(f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "{name}"'))
        connection.execute(text(f'REVOKE ALL ON TABLE alembic_version FROM "{name}"'))


def _quote(value: str) -> str:
    return value.replace("'", "''")
