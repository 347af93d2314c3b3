"""notifications: settings and deliveries (issue 9)

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bizzly.db.base

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notification_settings",
        sa.Column("booking_confirmation", sa.Boolean(), nullable=False),
        sa.Column("reminder_hours_before", sa.Integer(), nullable=False),
        sa.Column("cancellation", sa.Boolean(), nullable=False),
        sa.Column("owner_new_booking", sa.Boolean(), nullable=False),
        sa.Column("owner_new_lead", sa.Boolean(), nullable=False),
        sa.Column("owner_integration_error", sa.Boolean(), nullable=False),
        sa.Column("owner_email", sa.String(length=320), nullable=True),
        sa.Column("updated_at", bizzly.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_notification_settings_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_notification_settings")),
        sa.UniqueConstraint("tenant_id", name=op.f("uq_notification_settings_tenant_id")),
    )
    op.create_table(
        "notifications",
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("booking_id", sa.Uuid(), nullable=True),
        sa.Column("customer_id", sa.Uuid(), nullable=True),
        sa.Column("subject_id", sa.Uuid(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("starts_at", bizzly.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("message_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", bizzly.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", bizzly.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_notifications_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_notifications")),
        sa.UniqueConstraint("tenant_id", "dedupe_key", name=op.f("uq_notifications_tenant_id_dedupe_key")),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index(
            "ix_notifications_tenant_created", ["tenant_id", "created_at", "id"], unique=False
        )
        batch_op.create_index("ix_notifications_tenant_booking", ["tenant_id", "booking_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notifications_tenant_booking")
        batch_op.drop_index("ix_notifications_tenant_created")
    op.drop_table("notifications")
    op.drop_table("notification_settings")
