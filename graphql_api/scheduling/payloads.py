"""Inputs and payloads of the booking mutations, named and shaped as the contract says."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from graphql_api.errors import UserError
from graphql_api.scheduling.types import Booking


@strawberry.input(description="Staff name the customer; a customer books for themself (customerId optional).")
class CreateBookingInput:
    customer_id: strawberry.ID | None = None
    service_id: strawberry.ID
    starts_at: datetime
    analytics_client_id: str | None = strawberry.field(default=None, description="The site's GA client id.")


@strawberry.input
class RescheduleBookingInput:
    id: strawberry.ID
    starts_at: datetime


@strawberry.input
class CancelBookingInput:
    id: strawberry.ID
    reason: str | None = None
    refund_quota: bool = strawberry.field(
        default=False,
        description="Staff only, after the cut-off: give the subscription's unit back anyway (before the "
        "cut-off it always comes back).",
    )


@strawberry.enum(description="How a booking that took place went.")
class BookingOutcome(Enum):
    COMPLETED = "COMPLETED"
    NO_SHOW = "NO_SHOW"


@strawberry.input
class MarkBookingInput:
    id: strawberry.ID
    status: BookingOutcome


@strawberry.type
class BookingPayload:
    booking: Booking | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
