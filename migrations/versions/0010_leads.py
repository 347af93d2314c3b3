"""leads: website contact forms (issue 8)

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bizzly.db.base

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "leads",
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("email_key", sa.String(length=320), nullable=False),
        sa.Column("first_name", sa.String(length=100), nullable=True),
        sa.Column("last_name", sa.String(length=100), nullable=True),
        sa.Column("phone_raw", sa.String(length=64), nullable=True),
        sa.Column("phone_e164", sa.String(length=20), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("page_uri", sa.String(length=2000), nullable=True),
        sa.Column("hutk", sa.String(length=100), nullable=True),
        sa.Column("consent", sa.Boolean(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=True),
        sa.Column("sync_status", sa.String(length=16), nullable=False),
        sa.Column("push_pending", sa.Boolean(), nullable=False),
        sa.Column("hubspot_contact_id", sa.String(length=64), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.Column("created_at", bizzly.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("synced_at", bizzly.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_leads_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_leads")),
    )
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.create_index("ix_leads_tenant_email", ["tenant_id", "email_key"], unique=False)
        batch_op.create_index("ix_leads_tenant_push", ["tenant_id", "push_pending"], unique=False)

    op.create_table(
        "customer_pushes",
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("pending", sa.Boolean(), nullable=False),
        sa.Column("changed_at", bizzly.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("pushed_at", bizzly.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("hubspot_contact_id", sa.String(length=64), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_customer_pushes_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_customer_pushes")),
        sa.UniqueConstraint(
            "tenant_id", "customer_id", name=op.f("uq_customer_pushes_tenant_id_customer_id")
        ),
    )
    with op.batch_alter_table("customer_pushes", schema=None) as batch_op:
        batch_op.create_index("ix_customer_pushes_tenant_pending", ["tenant_id", "pending"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("customer_pushes", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_pushes_tenant_pending")
    op.drop_table("customer_pushes")
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_index("ix_leads_tenant_push")
        batch_op.drop_index("ix_leads_tenant_email")
    op.drop_table("leads")
