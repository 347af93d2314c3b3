"""hubspot sync: runs, cursors, checkpoints (issue 8)

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bizzly.db.base

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "hubspot_sync_runs",
        sa.Column("connection_id", sa.Uuid(), nullable=False),
        sa.Column("portal_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("phase", sa.String(length=16), nullable=False),
        sa.Column("window_from_ms", sa.BigInteger(), nullable=True),
        sa.Column("window_to_ms", sa.BigInteger(), nullable=False),
        sa.Column("checkpoint", sa.String(length=64), nullable=True),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.Column("read", sa.Integer(), nullable=False),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("linked", sa.Integer(), nullable=False),
        sa.Column("archived", sa.Integer(), nullable=False),
        sa.Column("merged", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", bizzly.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", bizzly.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", bizzly.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_hubspot_sync_runs_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_hubspot_sync_runs")),
    )
    with op.batch_alter_table("hubspot_sync_runs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_hubspot_sync_runs_tenant_connection",
            ["tenant_id", "connection_id", "created_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("hubspot_sync_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_hubspot_sync_runs_tenant_connection")
    op.drop_table("hubspot_sync_runs")
