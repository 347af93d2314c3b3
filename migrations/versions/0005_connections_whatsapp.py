"""connections (per-tenant provider records + the RLS-exempt routing keys), WhatsApp conversations and
messages

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bizzly.db.base


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('connection_routes',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('provider', sa.String(length=32), nullable=False),
    sa.Column('external_id', sa.String(length=128), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('connection_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', bizzly.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_connection_routes_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_connection_routes')),
    sa.UniqueConstraint('provider', 'external_id', name=op.f('uq_connection_routes_provider_external_id'))
    )
    with op.batch_alter_table('connection_routes', schema=None) as batch_op:
        batch_op.create_index('ix_connection_routes_tenant', ['tenant_id'], unique=False)

    op.create_table('connections',
    sa.Column('provider', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('config', sa.Text(), nullable=False),
    sa.Column('secrets', sa.Text(), nullable=True),
    sa.Column('last_success_at', bizzly.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('last_error_at', bizzly.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('disconnected_at', bizzly.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', bizzly.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', bizzly.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_connections_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_connections'))
    )
    with op.batch_alter_table('connections', schema=None) as batch_op:
        batch_op.create_index('ix_connections_tenant_provider', ['tenant_id', 'provider', 'created_at'], unique=False)

    op.create_table('conversations',
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('user_key', sa.String(length=160), nullable=False),
    sa.Column('connection_id', sa.Uuid(), nullable=True),
    sa.Column('phone_e164', sa.String(length=20), nullable=True),
    sa.Column('meta_user_id', sa.String(length=128), nullable=True),
    sa.Column('display_name', sa.String(length=200), nullable=True),
    sa.Column('customer_id', sa.Uuid(), nullable=True),
    sa.Column('verified', sa.Boolean(), nullable=False),
    sa.Column('last_inbound_at', bizzly.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_message_at', bizzly.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', bizzly.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_conversations_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_conversations')),
    sa.UniqueConstraint('tenant_id', 'channel', 'user_key', name=op.f('uq_conversations_tenant_id_channel_user_key'))
    )
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.create_index('ix_conversations_tenant_last', ['tenant_id', 'last_message_at'], unique=False)

    op.create_table('messages',
    sa.Column('conversation_id', sa.Uuid(), nullable=False),
    sa.Column('direction', sa.String(length=8), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('body', sa.Text(), nullable=True),
    sa.Column('reply_id', sa.String(length=256), nullable=True),
    sa.Column('media_id', sa.String(length=256), nullable=True),
    sa.Column('wamid', sa.String(length=256), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('error_code', sa.Integer(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('sent_at', bizzly.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('status_at', bizzly.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', bizzly.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'conversation_id'], ['conversations.tenant_id', 'conversations.id'], name=op.f('fk_messages_tenant_id_conversation_id_conversations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_messages_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_messages')),
    sa.UniqueConstraint('tenant_id', 'wamid', name=op.f('uq_messages_tenant_id_wamid'))
    )
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.create_index('ix_messages_created_at', ['created_at'], unique=False)
        batch_op.create_index('ix_messages_tenant_conversation', ['tenant_id', 'conversation_id', 'created_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index('ix_messages_tenant_conversation')
        batch_op.drop_index('ix_messages_created_at')

    op.drop_table('messages')
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_index('ix_conversations_tenant_last')

    op.drop_table('conversations')
    with op.batch_alter_table('connections', schema=None) as batch_op:
        batch_op.drop_index('ix_connections_tenant_provider')

    op.drop_table('connections')
    with op.batch_alter_table('connection_routes', schema=None) as batch_op:
        batch_op.drop_index('ix_connection_routes_tenant')

    op.drop_table('connection_routes')
