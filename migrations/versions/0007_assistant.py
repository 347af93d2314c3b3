"""assistant: verification codes, sessions, conversation state, auth events and WhatsApp opt-outs

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bizzly.db.base

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "assistant_states",
        sa.Column("user_key", sa.String(length=160), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("expires_at", bizzly.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", bizzly.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_assistant_states_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_assistant_states")),
        sa.UniqueConstraint("tenant_id", "user_key", name=op.f("uq_assistant_states_tenant_id_user_key")),
    )
    op.create_table(
        "auth_events",
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("user_key", sa.String(length=160), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", bizzly.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_auth_events_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_auth_events")),
    )
    with op.batch_alter_table("auth_events", schema=None) as batch_op:
        batch_op.create_index("ix_auth_events_tenant_created", ["tenant_id", "created_at"], unique=False)

    op.create_table(
        "whatsapp_opt_outs",
        sa.Column("user_key", sa.String(length=160), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("created_at", bizzly.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_whatsapp_opt_outs_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_whatsapp_opt_outs")),
        sa.UniqueConstraint("tenant_id", "user_key", name=op.f("uq_whatsapp_opt_outs_tenant_id_user_key")),
    )
    op.create_table(
        "assistant_codes",
        sa.Column("user_key", sa.String(length=160), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("code_hmac", sa.String(length=64), nullable=False),
        sa.Column("delivery", sa.String(length=8), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", bizzly.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", bizzly.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", bizzly.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("dead_at", bizzly.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "customer_id"],
            ["customers.tenant_id", "customers.id"],
            name=op.f("fk_assistant_codes_tenant_id_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_assistant_codes_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_assistant_codes")),
    )
    with op.batch_alter_table("assistant_codes", schema=None) as batch_op:
        batch_op.create_index("ix_assistant_codes_tenant_created", ["tenant_id", "created_at"], unique=False)
        batch_op.create_index(
            "ix_assistant_codes_tenant_user", ["tenant_id", "user_key", "created_at"], unique=False
        )

    op.create_table(
        "assistant_sessions",
        sa.Column("user_key", sa.String(length=160), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("started_at", bizzly.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", bizzly.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", bizzly.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.String(length=16), nullable=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "customer_id"],
            ["customers.tenant_id", "customers.id"],
            name=op.f("fk_assistant_sessions_tenant_id_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_assistant_sessions_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_assistant_sessions")),
    )
    with op.batch_alter_table("assistant_sessions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_assistant_sessions_tenant_user", ["tenant_id", "user_key", "started_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("assistant_sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_assistant_sessions_tenant_user")

    op.drop_table("assistant_sessions")
    with op.batch_alter_table("assistant_codes", schema=None) as batch_op:
        batch_op.drop_index("ix_assistant_codes_tenant_user")
        batch_op.drop_index("ix_assistant_codes_tenant_created")

    op.drop_table("assistant_codes")
    op.drop_table("whatsapp_opt_outs")
    with op.batch_alter_table("auth_events", schema=None) as batch_op:
        batch_op.drop_index("ix_auth_events_tenant_created")

    op.drop_table("auth_events")
    op.drop_table("assistant_states")
