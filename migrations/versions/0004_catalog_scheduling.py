"""catalog, scheduling and subscriptions: services, hours, help articles (+ full-text search), bookings
with their capacity seats, plans, subscriptions and quota units

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bizzly.db.base


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('business_hours',
    sa.Column('weekday', sa.SmallInteger(), nullable=False),
    sa.Column('opens_minute', sa.SmallInteger(), nullable=False),
    sa.Column('closes_minute', sa.SmallInteger(), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint('closes_minute <= 1440', name=op.f('ck_business_hours_closes_within_day')),
    sa.CheckConstraint('opens_minute >= 0 AND opens_minute < closes_minute', name=op.f('ck_business_hours_opens_before_closes')),
    sa.CheckConstraint('weekday >= 0 AND weekday <= 6', name=op.f('ck_business_hours_weekday_range')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_business_hours_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_business_hours'))
    )
    with op.batch_alter_table('business_hours', schema=None) as batch_op:
        batch_op.create_index('ix_business_hours_tenant_weekday', ['tenant_id', 'weekday'], unique=False)

    op.create_table('help_articles',
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('category', sa.String(length=100), nullable=False),
    sa.Column('level', sa.String(length=40), nullable=True),
    sa.Column('read_minutes', sa.Integer(), nullable=False),
    sa.Column('published', sa.Boolean(), nullable=False),
    sa.Column('created_at', bizzly.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', bizzly.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint('read_minutes > 0', name=op.f('ck_help_articles_read_minutes_positive')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_help_articles_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_help_articles'))
    )
    with op.batch_alter_table('help_articles', schema=None) as batch_op:
        batch_op.create_index('ix_help_articles_tenant_title', ['tenant_id', 'title'], unique=False)

    op.create_table('plans',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('quota', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=8), nullable=False),
    sa.Column('price_amount', sa.Integer(), nullable=False),
    sa.Column('price_currency', sa.String(length=3), nullable=False),
    sa.Column('covers_all_services', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', bizzly.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', bizzly.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint('price_amount >= 0', name=op.f('ck_plans_price_not_negative')),
    sa.CheckConstraint('quota > 0', name=op.f('ck_plans_quota_positive')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_plans_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_plans'))
    )
    op.create_table('services',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('duration_minutes', sa.Integer(), nullable=False),
    sa.Column('price_amount', sa.Integer(), nullable=False),
    sa.Column('price_currency', sa.String(length=3), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('archived_at', bizzly.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', bizzly.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', bizzly.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint('capacity > 0', name=op.f('ck_services_capacity_positive')),
    sa.CheckConstraint('duration_minutes > 0', name=op.f('ck_services_duration_positive')),
    sa.CheckConstraint('price_amount >= 0', name=op.f('ck_services_price_not_negative')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_services_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_services'))
    )
    with op.batch_alter_table('services', schema=None) as batch_op:
        batch_op.create_index('ix_services_tenant_name', ['tenant_id', 'name'], unique=False)

    op.create_table('bookings',
    sa.Column('customer_id', sa.Uuid(), nullable=False),
    sa.Column('service_id', sa.Uuid(), nullable=False),
    sa.Column('starts_at', bizzly.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', bizzly.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('analytics_client_id', sa.String(length=100), nullable=True),
    sa.Column('cancelled_at', bizzly.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cancel_reason', sa.Text(), nullable=True),
    sa.Column('created_at', bizzly.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', bizzly.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_bookings_ends_after_start')),
    sa.ForeignKeyConstraint(['tenant_id', 'customer_id'], ['customers.tenant_id', 'customers.id'], name=op.f('fk_bookings_tenant_id_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'service_id'], ['services.tenant_id', 'services.id'], name=op.f('fk_bookings_tenant_id_service_id_services')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_bookings_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_bookings'))
    )
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.create_index('ix_bookings_tenant_customer_starts', ['tenant_id', 'customer_id', 'starts_at'], unique=False)
        batch_op.create_index('ix_bookings_tenant_service', ['tenant_id', 'service_id'], unique=False)
        batch_op.create_index('ix_bookings_tenant_starts', ['tenant_id', 'starts_at', 'id'], unique=False)

    op.create_table('customer_subscriptions',
    sa.Column('customer_id', sa.Uuid(), nullable=False),
    sa.Column('plan_id', sa.Uuid(), nullable=False),
    sa.Column('started_at', bizzly.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', bizzly.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', bizzly.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', bizzly.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'customer_id'], ['customers.tenant_id', 'customers.id'], name=op.f('fk_customer_subscriptions_tenant_id_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'plan_id'], ['plans.tenant_id', 'plans.id'], name=op.f('fk_customer_subscriptions_tenant_id_plan_id_plans')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_customer_subscriptions_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_customer_subscriptions'))
    )
    with op.batch_alter_table('customer_subscriptions', schema=None) as batch_op:
        batch_op.create_index('ix_customer_subscriptions_tenant_customer', ['tenant_id', 'customer_id'], unique=False)

    op.create_table('plan_services',
    sa.Column('plan_id', sa.Uuid(), nullable=False),
    sa.Column('service_id', sa.Uuid(), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'plan_id'], ['plans.tenant_id', 'plans.id'], name=op.f('fk_plan_services_tenant_id_plan_id_plans'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'service_id'], ['services.tenant_id', 'services.id'], name=op.f('fk_plan_services_tenant_id_service_id_services'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_plan_services_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_plan_services')),
    sa.UniqueConstraint('tenant_id', 'plan_id', 'service_id', name=op.f('uq_plan_services_tenant_id_plan_id_service_id'))
    )
    op.create_table('booking_seats',
    sa.Column('booking_id', sa.Uuid(), nullable=False),
    sa.Column('service_id', sa.Uuid(), nullable=False),
    sa.Column('starts_at', bizzly.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('seat_no', sa.Integer(), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint('seat_no >= 0 AND seat_no < capacity', name=op.f('ck_booking_seats_seat_within_capacity')),
    sa.ForeignKeyConstraint(['tenant_id', 'booking_id'], ['bookings.tenant_id', 'bookings.id'], name=op.f('fk_booking_seats_tenant_id_booking_id_bookings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'service_id'], ['services.tenant_id', 'services.id'], name=op.f('fk_booking_seats_tenant_id_service_id_services')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_booking_seats_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_booking_seats')),
    sa.UniqueConstraint('tenant_id', 'service_id', 'starts_at', 'seat_no', name=op.f('uq_booking_seats_tenant_id_service_id_starts_at_seat_no'))
    )
    with op.batch_alter_table('booking_seats', schema=None) as batch_op:
        batch_op.create_index('ix_booking_seats_tenant_booking', ['tenant_id', 'booking_id'], unique=False)

    op.create_table('quota_uses',
    sa.Column('subscription_id', sa.Uuid(), nullable=False),
    sa.Column('booking_id', sa.Uuid(), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('unit_no', sa.Integer(), nullable=False),
    sa.Column('quota', sa.Integer(), nullable=False),
    sa.Column('created_at', bizzly.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint('unit_no >= 0 AND unit_no < quota', name=op.f('ck_quota_uses_unit_within_quota')),
    sa.ForeignKeyConstraint(['tenant_id', 'booking_id'], ['bookings.tenant_id', 'bookings.id'], name=op.f('fk_quota_uses_tenant_id_booking_id_bookings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id', 'subscription_id'], ['customer_subscriptions.tenant_id', 'customer_subscriptions.id'], name=op.f('fk_quota_uses_tenant_id_subscription_id_customer_subscriptions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_quota_uses_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_quota_uses')),
    sa.UniqueConstraint('tenant_id', 'booking_id', name=op.f('uq_quota_uses_tenant_id_booking_id')),
    sa.UniqueConstraint('tenant_id', 'subscription_id', 'period_start', 'unit_no', name=op.f('uq_quota_uses_tenant_id_subscription_id_period_start_unit_no'))
    )

    # Full-text search on help articles, a different object on each dialect (alembic check skips both:
    # see DIALECT_ONLY_* in migrations/env.py). The database keeps it in step with the table.
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE fts_help_articles USING fts5("
            "title, category, body, tenant_id UNINDEXED, article_id UNINDEXED, "
            "tokenize = 'unicode61 remove_diacritics 2')"
        )
        # A later batch migration of help_articles drops these triggers with the old table: recreate them.
        op.execute(
            "CREATE TRIGGER fts_help_articles_insert AFTER INSERT ON help_articles BEGIN "
            "INSERT INTO fts_help_articles (title, category, body, tenant_id, article_id) "
            "VALUES (new.title, new.category, new.body, new.tenant_id, new.id); END"
        )
        op.execute(
            "CREATE TRIGGER fts_help_articles_delete AFTER DELETE ON help_articles BEGIN "
            "DELETE FROM fts_help_articles WHERE article_id = old.id AND tenant_id = old.tenant_id; END"
        )
        op.execute(
            "CREATE TRIGGER fts_help_articles_update AFTER UPDATE OF title, category, body ON help_articles "
            "BEGIN "
            "DELETE FROM fts_help_articles WHERE article_id = old.id AND tenant_id = old.tenant_id; "
            "INSERT INTO fts_help_articles (title, category, body, tenant_id, article_id) "
            "VALUES (new.title, new.category, new.body, new.tenant_id, new.id); END"
        )
    else:
        # Same expression, character for character, as PG_VECTOR in domain/catalog/help_repository.py.
        op.execute(
            "CREATE INDEX ix_help_articles_tsv ON help_articles USING gin ("
            "(setweight(to_tsvector('simple'::regconfig, title), 'A') || "
            "setweight(to_tsvector('simple'::regconfig, category), 'B') || "
            "setweight(to_tsvector('simple'::regconfig, body), 'D')))"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS fts_help_articles_{trigger}")
        op.execute("DROP TABLE IF EXISTS fts_help_articles")
    else:
        op.execute("DROP INDEX IF EXISTS ix_help_articles_tsv")
    op.drop_table('quota_uses')
    with op.batch_alter_table('booking_seats', schema=None) as batch_op:
        batch_op.drop_index('ix_booking_seats_tenant_booking')

    op.drop_table('booking_seats')
    op.drop_table('plan_services')
    with op.batch_alter_table('customer_subscriptions', schema=None) as batch_op:
        batch_op.drop_index('ix_customer_subscriptions_tenant_customer')

    op.drop_table('customer_subscriptions')
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_index('ix_bookings_tenant_starts')
        batch_op.drop_index('ix_bookings_tenant_service')
        batch_op.drop_index('ix_bookings_tenant_customer_starts')

    op.drop_table('bookings')
    with op.batch_alter_table('services', schema=None) as batch_op:
        batch_op.drop_index('ix_services_tenant_name')

    op.drop_table('services')
    op.drop_table('plans')
    with op.batch_alter_table('help_articles', schema=None) as batch_op:
        batch_op.drop_index('ix_help_articles_tenant_title')

    op.drop_table('help_articles')
    with op.batch_alter_table('business_hours', schema=None) as batch_op:
        batch_op.drop_index('ix_business_hours_tenant_weekday')

    op.drop_table('business_hours')
