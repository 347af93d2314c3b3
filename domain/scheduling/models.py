"""Bookings, and the seats that let the database itself refuse a booking beyond a service's capacity."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bizzly import clock
from bizzly.db.base import Base, TenantScoped, tenant_fk


class BookingStatus(StrEnum):
    CONFIRMED = "CONFIRMED"
    CANCELLED = "CANCELLED"
    COMPLETED = "COMPLETED"
    NO_SHOW = "NO_SHOW"


class BookingSource(StrEnum):
    DASHBOARD = "DASHBOARD"
    WEBSITE = "WEBSITE"
    WHATSAPP = "WHATSAPP"


class Booking(TenantScoped, Base):
    __tablename__ = "bookings"
    __table_args__ = (
        tenant_fk(["customer_id"], "customers", ondelete="CASCADE"),
        tenant_fk(["service_id"], "services"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        Index("ix_bookings_tenant_starts", "tenant_id", "starts_at", "id"),
        Index("ix_bookings_tenant_customer_starts", "tenant_id", "customer_id", "starts_at"),
        Index("ix_bookings_tenant_service", "tenant_id", "service_id"),
    )

    customer_id: Mapped[uuid.UUID]
    service_id: Mapped[uuid.UUID]
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default=BookingStatus.CONFIRMED)
    source: Mapped[str] = mapped_column(String(16))
    # The website's GA client id, so the analytics event joins the visitor's session.
    analytics_client_id: Mapped[str | None] = mapped_column(String(100))
    cancelled_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now, onupdate=clock.now)


class BookingSeat(TenantScoped, Base):
    """One unit of a service's capacity taken by one booking during one 5-minute tick.

    A booking holds a seat at every tick of the UTC 5-minute grid inside [starts_at, ends_at): two bookings
    overlap exactly when they share a tick, so "at most ``capacity`` overlapping bookings" is "at most
    ``capacity`` seats per tick". The unique key and the check below make the database refuse a seat
    beyond capacity whatever the code does or however many requests race; the capacity is copied from the
    service when the seat is taken (a later change of capacity applies to new bookings).
    """

    __tablename__ = "booking_seats"
    __table_args__ = (
        tenant_fk(["booking_id"], "bookings", ondelete="CASCADE"),
        tenant_fk(["service_id"], "services"),
        UniqueConstraint("tenant_id", "service_id", "starts_at", "seat_no"),
        CheckConstraint("seat_no >= 0 AND seat_no < capacity", name="seat_within_capacity"),
        Index("ix_booking_seats_tenant_booking", "tenant_id", "booking_id"),
    )

    booking_id: Mapped[uuid.UUID]
    service_id: Mapped[uuid.UUID]
    starts_at: Mapped[datetime]  # the tick
    seat_no: Mapped[int] = mapped_column(Integer)
    capacity: Mapped[int] = mapped_column(Integer)
