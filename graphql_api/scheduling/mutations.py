"""Booking mutations for staff (source DASHBOARD) and customers (source WEBSITE, their own bookings only,
the cancellation cut-off applies). Each resolver owns its transaction: a ``DomainError`` rolls it back
(the seat and any quota unit with it) and becomes ``errors``."""

from __future__ import annotations

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from bizzly.errors import DomainError
from domain.customers.service import customer_actor
from domain.scheduling import service as scheduling
from domain.scheduling.models import BookingSource
from domain.scheduling.models import BookingStatus as Status
from graphql_api.context import Caller, Info
from graphql_api.errors import user_errors
from graphql_api.permissions import Authenticated, CanOperate
from graphql_api.relay import parse_id
from graphql_api.scheduling.payloads import (
    BookingPayload,
    CancelBookingInput,
    CreateBookingInput,
    MarkBookingInput,
    RescheduleBookingInput,
)
from graphql_api.scheduling.types import Booking
from tenants.service import staff_actor


async def booking_caller(session: AsyncSession, caller: Caller) -> scheduling.BookingCaller:
    """The source follows from who calls: a customer token is the website, staff the dashboard."""
    if caller.is_customer and caller.subject_id is not None:
        return scheduling.BookingCaller(
            actor=customer_actor(caller.subject_id),
            source=BookingSource.WEBSITE,
            customer_id=caller.subject_id,
        )
    return scheduling.BookingCaller(actor=await staff_actor(session, caller), source=BookingSource.DASHBOARD)


@strawberry.type
class SchedulingMutation:
    @strawberry.mutation(
        permission_classes=[Authenticated],
        description="Book a free slot. Staff book for a customer; a customer books for themself. "
        "UNAVAILABLE when the time is full, LIMIT_REACHED when the customer's plan has no units left.",
    )
    async def create_booking(self, info: Info, input: CreateBookingInput) -> BookingPayload:
        ctx = info.context
        try:
            service_id = parse_id(input.service_id, "Service", field="serviceId")
            customer_id = (
                parse_id(input.customer_id, "Customer", field="customerId") if input.customer_id else None
            )
            async with await ctx.session(write=True) as s, s.begin():
                row = await scheduling.create_booking(
                    s,
                    caller=await booking_caller(s, ctx.caller),
                    customer_id=customer_id,
                    service_id=service_id,
                    starts_at=input.starts_at,
                    analytics_client_id=input.analytics_client_id,
                )
        except DomainError as exc:
            return BookingPayload(errors=user_errors(exc))
        return BookingPayload(booking=Booking.from_model(row))

    @strawberry.mutation(
        permission_classes=[Authenticated],
        description="Move a booking to another free slot (customers: their own, before the cut-off).",
    )
    async def reschedule_booking(self, info: Info, input: RescheduleBookingInput) -> BookingPayload:
        ctx = info.context
        try:
            booking_id = parse_id(input.id, "Booking", field="id")
            async with await ctx.session(write=True) as s, s.begin():
                row = await scheduling.reschedule_booking(
                    s,
                    caller=await booking_caller(s, ctx.caller),
                    booking_id=booking_id,
                    starts_at=input.starts_at,
                )
        except DomainError as exc:
            return BookingPayload(errors=user_errors(exc))
        return BookingPayload(booking=Booking.from_model(row))

    @strawberry.mutation(
        permission_classes=[Authenticated],
        description="Cancel a booking. Customers: their own, before the cut-off (TOO_LATE after it). "
        "Staff may cancel after the cut-off too; the quota unit then stays used unless refundQuota is true.",
    )
    async def cancel_booking(self, info: Info, input: CancelBookingInput) -> BookingPayload:
        ctx = info.context
        try:
            booking_id = parse_id(input.id, "Booking", field="id")
            async with await ctx.session(write=True) as s, s.begin():
                row = await scheduling.cancel_booking(
                    s,
                    caller=await booking_caller(s, ctx.caller),
                    booking_id=booking_id,
                    reason=input.reason,
                    refund_quota=input.refund_quota,
                )
        except DomainError as exc:
            return BookingPayload(errors=user_errors(exc))
        return BookingPayload(booking=Booking.from_model(row))

    @strawberry.mutation(
        permission_classes=[CanOperate],
        description="Record how a booking that has started went: COMPLETED or NO_SHOW.",
    )
    async def mark_booking(self, info: Info, input: MarkBookingInput) -> BookingPayload:
        ctx = info.context
        try:
            booking_id = parse_id(input.id, "Booking", field="id")
            async with await ctx.session(write=True) as s, s.begin():
                row = await scheduling.mark_booking(
                    s,
                    caller=await booking_caller(s, ctx.caller),
                    booking_id=booking_id,
                    status=Status(input.status.value),
                )
        except DomainError as exc:
            return BookingPayload(errors=user_errors(exc))
        return BookingPayload(booking=Booking.from_model(row))
