"""identity: CRM contacts and the phone lookup index

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bizzly.db.base

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.create_index("ix_customers_tenant_meta_user", ["tenant_id", "meta_user_id"], unique=False)

    op.create_table(
        "crm_contacts",
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("email_key", sa.String(length=320), nullable=True),
        sa.Column("first_name", sa.String(length=200), nullable=True),
        sa.Column("last_name", sa.String(length=200), nullable=True),
        sa.Column("phone_raw", sa.String(length=64), nullable=True),
        sa.Column("phone_e164", sa.String(length=20), nullable=True),
        sa.Column("mobile_raw", sa.String(length=64), nullable=True),
        sa.Column("mobile_e164", sa.String(length=20), nullable=True),
        sa.Column("whatsapp_raw", sa.String(length=64), nullable=True),
        sa.Column("whatsapp_e164", sa.String(length=20), nullable=True),
        sa.Column("customer_id", sa.Uuid(), nullable=True),
        sa.Column("link_source", sa.String(length=16), nullable=True),
        sa.Column("sync_status", sa.String(length=16), nullable=False),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.Column("created_at", bizzly.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", bizzly.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_crm_contacts_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "customer_id"],
            ["customers.tenant_id", "customers.id"],
            name=op.f("fk_crm_contacts_tenant_id_customer_id_customers"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_crm_contacts")),
        sa.UniqueConstraint("tenant_id", "external_id", name=op.f("uq_crm_contacts_tenant_id_external_id")),
    )
    with op.batch_alter_table("crm_contacts", schema=None) as batch_op:
        batch_op.create_index("ix_crm_contacts_tenant_email", ["tenant_id", "email_key"], unique=False)
        batch_op.create_index("ix_crm_contacts_tenant_customer", ["tenant_id", "customer_id"], unique=False)

    op.create_table(
        "phone_index",
        sa.Column("e164", sa.String(length=20), nullable=False),
        sa.Column("owner_kind", sa.String(length=16), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_phone_index_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_phone_index")),
        sa.UniqueConstraint(
            "tenant_id", "e164", "owner_kind", "owner_id", name=op.f("uq_phone_index_tenant_id_e164_owner_kind_owner_id")
        ),
    )
    with op.batch_alter_table("phone_index", schema=None) as batch_op:
        batch_op.create_index("ix_phone_index_tenant_owner", ["tenant_id", "owner_kind", "owner_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("phone_index", schema=None) as batch_op:
        batch_op.drop_index("ix_phone_index_tenant_owner")
    op.drop_table("phone_index")
    with op.batch_alter_table("crm_contacts", schema=None) as batch_op:
        batch_op.drop_index("ix_crm_contacts_tenant_customer")
        batch_op.drop_index("ix_crm_contacts_tenant_email")
    op.drop_table("crm_contacts")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_index("ix_customers_tenant_meta_user")
