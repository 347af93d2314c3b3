"""Services (what a business sells), its weekly hours and its help articles."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, Index, Integer, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bizzly import clock
from bizzly.db.base import Base, TenantScoped


class Service(TenantScoped, Base):
    __tablename__ = "services"
    __table_args__ = (
        CheckConstraint("duration_minutes > 0", name="duration_positive"),
        CheckConstraint("capacity > 0", name="capacity_positive"),
        CheckConstraint("price_amount >= 0", name="price_not_negative"),
        Index("ix_services_tenant_name", "tenant_id", "name"),
    )

    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    duration_minutes: Mapped[int] = mapped_column(Integer)
    price_amount: Mapped[int] = mapped_column(Integer)
    price_currency: Mapped[str] = mapped_column(String(3))
    # How many bookings may overlap at any moment (1 for a chair, 12 for a class).
    capacity: Mapped[int] = mapped_column(Integer, default=1)
    # Inactive: hidden from customers and not bookable, still listed for staff.
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Archived: retired for good; hidden from every list, kept for the bookings that point at it.
    archived_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now, onupdate=clock.now)


class BusinessHours(TenantScoped, Base):
    """One opening range of one weekday, in the tenant's time zone; a weekday may have several."""

    __tablename__ = "business_hours"
    __table_args__ = (
        CheckConstraint("weekday >= 0 AND weekday <= 6", name="weekday_range"),
        CheckConstraint("opens_minute >= 0 AND opens_minute < closes_minute", name="opens_before_closes"),
        CheckConstraint("closes_minute <= 1440", name="closes_within_day"),
        Index("ix_business_hours_tenant_weekday", "tenant_id", "weekday"),
    )

    weekday: Mapped[int] = mapped_column(SmallInteger)  # 0 = Monday
    opens_minute: Mapped[int] = mapped_column(SmallInteger)  # minutes after local midnight
    closes_minute: Mapped[int] = mapped_column(SmallInteger)  # 1440 = midnight at the end of the day


class HelpArticle(TenantScoped, Base):
    """A help-centre article. Searched with FTS5 on SQLite and a tsvector index on PostgreSQL (see the
    0004 migration: both are kept in step with this table by the database itself)."""

    __tablename__ = "help_articles"
    __table_args__ = (
        CheckConstraint("read_minutes > 0", name="read_minutes_positive"),
        Index("ix_help_articles_tenant_title", "tenant_id", "title"),
    )

    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(100))
    level: Mapped[str | None] = mapped_column(String(40))
    read_minutes: Mapped[int] = mapped_column(Integer)
    published: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now, onupdate=clock.now)
