"""Plans (a quota of bookings per week or month), customers' subscriptions, and the units they use."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Boolean, CheckConstraint, Date, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bizzly import clock
from bizzly.db.base import Base, TenantScoped, tenant_fk


class PlanPeriod(StrEnum):
    WEEK = "WEEK"
    MONTH = "MONTH"


class Plan(TenantScoped, Base):
    __tablename__ = "plans"
    __table_args__ = (
        CheckConstraint("quota > 0", name="quota_positive"),
        CheckConstraint("price_amount >= 0", name="price_not_negative"),
    )

    name: Mapped[str] = mapped_column(String(200))
    quota: Mapped[int] = mapped_column(Integer)
    period: Mapped[str] = mapped_column(String(8))
    price_amount: Mapped[int] = mapped_column(Integer)
    price_currency: Mapped[str] = mapped_column(String(3))
    # True: bookings of every service use the quota; False: only the services in plan_services.
    covers_all_services: Mapped[bool] = mapped_column(Boolean, default=True)
    # Inactive plans take no new subscribers; existing subscriptions go on.
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now, onupdate=clock.now)


class PlanService(TenantScoped, Base):
    __tablename__ = "plan_services"
    __table_args__ = (
        tenant_fk(["plan_id"], "plans", ondelete="CASCADE"),
        tenant_fk(["service_id"], "services", ondelete="CASCADE"),
        UniqueConstraint("tenant_id", "plan_id", "service_id"),
    )

    plan_id: Mapped[uuid.UUID]
    service_id: Mapped[uuid.UUID]


class CustomerSubscription(TenantScoped, Base):
    __tablename__ = "customer_subscriptions"
    __table_args__ = (
        tenant_fk(["customer_id"], "customers", ondelete="CASCADE"),
        tenant_fk(["plan_id"], "plans"),
        Index("ix_customer_subscriptions_tenant_customer", "tenant_id", "customer_id"),
    )

    customer_id: Mapped[uuid.UUID]
    plan_id: Mapped[uuid.UUID]
    started_at: Mapped[datetime] = mapped_column(default=clock.now)
    # Null: runs until cancelled. Past: EXPIRED.
    ends_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=clock.now)


class QuotaUse(TenantScoped, Base):
    """One unit of a subscription's quota in one period, used by one booking.

    Like booking seats, units are numbered and the database refuses a unit number at or beyond the quota
    (copied from the plan when the unit is taken), so two bookings racing for the last unit cannot both
    win. A refund deletes the row.
    """

    __tablename__ = "quota_uses"
    __table_args__ = (
        tenant_fk(["subscription_id"], "customer_subscriptions", ondelete="CASCADE"),
        tenant_fk(["booking_id"], "bookings", ondelete="CASCADE"),
        UniqueConstraint("tenant_id", "subscription_id", "period_start", "unit_no"),
        UniqueConstraint("tenant_id", "booking_id"),
        CheckConstraint("unit_no >= 0 AND unit_no < quota", name="unit_within_quota"),
    )

    subscription_id: Mapped[uuid.UUID]
    booking_id: Mapped[uuid.UUID]
    # First local day of the period (a Monday for WEEK, the 1st for MONTH) in the tenant's time zone.
    period_start: Mapped[date] = mapped_column(Date)
    unit_no: Mapped[int] = mapped_column(Integer)
    quota: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
