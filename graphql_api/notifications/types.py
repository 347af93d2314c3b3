"""Notification settings, the settings input and payload, and the Notification node."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import Enum

import strawberry
from strawberry import relay

from domain.notifications import models
from domain.notifications import service as notifications
from graphql_api.context import Info
from graphql_api.errors import UserError
from graphql_api.permissions import staff_can
from graphql_api.relay import node_uuids
from tenants.permissions import Permission


@strawberry.enum(description="What a notification is about.")
class NotificationKind(Enum):
    BOOKING_CONFIRMATION = "BOOKING_CONFIRMATION"
    BOOKING_REMINDER = "BOOKING_REMINDER"
    BOOKING_CANCELLED = "BOOKING_CANCELLED"
    BOOKING_RESCHEDULED = "BOOKING_RESCHEDULED"
    OWNER_NEW_BOOKING = "OWNER_NEW_BOOKING"
    OWNER_NEW_LEAD = "OWNER_NEW_LEAD"
    OWNER_INTEGRATION_ERROR = "OWNER_INTEGRATION_ERROR"


@strawberry.enum(
    description="How a notification goes out (NONE: it was skipped before a channel was chosen)."
)
class NotificationChannel(Enum):
    WHATSAPP = "WHATSAPP"
    EMAIL = "EMAIL"
    NONE = "NONE"


@strawberry.enum(description="Where a notification is: PENDING until sent; SKIPPED (with why) when not sent.")
class NotificationStatus(Enum):
    PENDING = "PENDING"
    SENT = "SENT"
    DELIVERED = "DELIVERED"
    READ = "READ"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"


@strawberry.type(description="Who is told what, automatically.")
class NotificationSettings:
    booking_confirmation: bool = strawberry.field(description="Tell customers when they book.")
    reminder_hours_before: int = strawberry.field(
        description="Remind customers this many hours before a booking (0 = no reminders, at most 168)."
    )
    cancellation: bool = strawberry.field(description="Tell customers when a booking is cancelled or moved.")
    owner_new_booking: bool = strawberry.field(description="Email the owner about each new booking.")
    owner_new_lead: bool = strawberry.field(description="Email the owner about each new website lead.")
    owner_integration_error: bool = strawberry.field(
        description="Email the owner when an integration needs attention."
    )
    owner_email: str | None = strawberry.field(
        description="Where owner emails go; null: the owner's account email."
    )

    @classmethod
    def from_model(cls, row: models.NotificationSettings) -> NotificationSettings:
        return cls(
            booking_confirmation=row.booking_confirmation,
            reminder_hours_before=row.reminder_hours_before,
            cancellation=row.cancellation,
            owner_new_booking=row.owner_new_booking,
            owner_new_lead=row.owner_new_lead,
            owner_integration_error=row.owner_integration_error,
            owner_email=row.owner_email,
        )


@strawberry.input(description="Omitted fields are unchanged; ownerEmail null goes back to the owner's email.")
class NotificationSettingsInput:
    booking_confirmation: bool | None = strawberry.UNSET
    reminder_hours_before: int | None = strawberry.UNSET
    cancellation: bool | None = strawberry.UNSET
    owner_new_booking: bool | None = strawberry.UNSET
    owner_new_lead: bool | None = strawberry.UNSET
    owner_integration_error: bool | None = strawberry.UNSET
    owner_email: str | None = strawberry.UNSET


@strawberry.type
class UpdateNotificationSettingsPayload:
    settings: NotificationSettings | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type(description="One automatic notification and how its delivery went.")
class Notification(relay.Node):
    id: relay.NodeID[str]
    kind: NotificationKind
    channel: NotificationChannel
    status: NotificationStatus
    recipient: str | None = strawberry.field(
        description="Masked (`a***e@example.com`, `+44•••••••123`); the address itself is never shown here."
    )
    error: str | None = strawberry.field(description="Why it failed or was skipped.")
    created_at: datetime
    sent_at: datetime | None

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Notification | None]:
        ids = node_uuids(node_ids)
        if not staff_can(info, Permission.OPERATE):
            return [None for _ in ids]
        async with await info.context.session() as session:
            found = {
                d.row.id: d
                for d in await notifications.notifications_by_ids(session, [i for i in ids if i is not None])
            }
        return [cls.from_delivery(found[i]) if i in found else None for i in ids]

    @classmethod
    def from_delivery(cls, d: notifications.Delivery) -> Notification:
        return cls(
            id=str(d.row.id),
            kind=NotificationKind(d.row.kind),
            channel=NotificationChannel(d.row.channel),
            status=NotificationStatus(d.status.value),
            recipient=d.row.recipient,
            error=d.error,
            created_at=d.row.created_at,
            sent_at=d.sent_at,
        )
