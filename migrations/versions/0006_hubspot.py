"""HubSpot: single-use OAuth states and the per-portal shared request budget

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bizzly.db.base

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "hubspot_oauth_states",
        sa.Column("nonce_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("expires_at", bizzly.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", bizzly.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", bizzly.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_hubspot_oauth_states_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_hubspot_oauth_states")),
        sa.UniqueConstraint(
            "tenant_id", "nonce_hash", name=op.f("uq_hubspot_oauth_states_tenant_id_nonce_hash")
        ),
    )
    op.create_table(
        "hubspot_rate_windows",
        sa.Column("portal_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("stamps", sa.Text(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_hubspot_rate_windows_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_hubspot_rate_windows")),
        sa.UniqueConstraint(
            "tenant_id", "portal_id", "kind", name=op.f("uq_hubspot_rate_windows_tenant_id_portal_id_kind")
        ),
    )


def downgrade() -> None:
    op.drop_table("hubspot_rate_windows")
    op.drop_table("hubspot_oauth_states")
