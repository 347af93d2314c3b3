"""What to tell whom and when. Nothing here commits.

A notification is *decided* once -- a row in ``notifications`` whose ``dedupe_key`` is unique per tenant,
written in the transaction of what caused it (the booking change, the reminder scan, the owner alert) together
with a ``notifications.deliver`` outbox row -- and *sent* at least once by that row's handler
(``deliver``): a worker that dies after the provider answered but before its commit sends again, it never
decides again.

Customers hear on WhatsApp when they have a proven phone (``Customer.phone_proven``), the business has
WhatsApp connected and they have not opted out (free text inside the 24-hour window, an approved template
outside it), else by email. A customer
who opted out (WhatsApp "stop") gets no booking notices on any channel; such a notification, and one for a
customer with no channel, is recorded as ``SKIPPED`` with the reason. Owners hear by email (``ownerEmail``,
else the owner's account email).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bizzly import clock
from bizzly.crypto import KeyRing
from bizzly.db.paging import Page, PageRequest
from bizzly.errors import DomainError, ErrorCode, InputErrors, Invalid
from bizzly.ids import new_id
from bizzly.outbox import add_outbox
from bizzly.patch import UNSET
from bizzly.ports import EmailMessage, Mailer
from domain.assistant.repository import AssistantStore
from domain.assistant.texts import mask_email
from domain.catalog.repository import Services
from domain.connections.models import ConnectionStatus, Provider
from domain.connections.service import live_connection
from domain.conversations import service as conversations
from domain.conversations.models import MessageStatus
from domain.conversations.repository import Conversations
from domain.customers.models import Customer
from domain.customers.repository import Customers
from domain.customers.service import check_email, current_tenant
from domain.identity.phones import mask_phone
from domain.notifications import OWNER_ALERT_TOPIC
from domain.notifications.models import (
    Notification,
    NotificationChannel,
    NotificationKind,
    NotificationSettings,
    NotificationStatus,
)
from domain.notifications.repository import Notifications, tenants_with_upcoming_bookings
from domain.privacy.erasure import whatsapp_id
from domain.scheduling.models import Booking, BookingStatus
from domain.scheduling.repository import Bookings
from tenants.models import Tenant

__all__ = ["OWNER_ALERT_TOPIC"]

DELIVER_TOPIC = "notifications.deliver"
REMINDER_SCAN_TOPIC = "notifications.reminders"
REMINDER_HOURS_MAX = 168
WHATSAPP = "whatsapp"

# Approved WhatsApp templates a business needs for notices outside the 24-hour window (utility category;
# body parameters: service, local date and time, business name).
TEMPLATES: dict[NotificationKind, str] = {
    NotificationKind.BOOKING_CONFIRMATION: "bizzly_booking_confirmed",
    NotificationKind.BOOKING_REMINDER: "bizzly_booking_reminder",
    NotificationKind.BOOKING_CANCELLED: "bizzly_booking_cancelled",
    NotificationKind.BOOKING_RESCHEDULED: "bizzly_booking_rescheduled",
}
CUSTOMER_KINDS = frozenset(TEMPLATES)

# Owner alert kinds on ``OWNER_ALERT_TOPIC``.
ALERT_KINDS: dict[str, NotificationKind] = {
    "new_booking": NotificationKind.OWNER_NEW_BOOKING,
    "new_lead": NotificationKind.OWNER_NEW_LEAD,
    "integration_error": NotificationKind.OWNER_INTEGRATION_ERROR,
}


# --- settings -------------------------------------------------------------------------------------------


def _defaults() -> NotificationSettings:
    return NotificationSettings(
        booking_confirmation=True,
        reminder_hours_before=24,
        cancellation=True,
        owner_new_booking=True,
        owner_new_lead=True,
        owner_integration_error=True,
        owner_email=None,
    )


async def get_settings(session: AsyncSession) -> NotificationSettings:
    """The tenant's settings (the defaults, not stored, when it never changed them)."""
    return await Notifications(session).settings() or _defaults()


@dataclass(frozen=True)
class SettingsChanges:
    """``UNSET`` leaves a setting as it is; ``owner_email=None`` goes back to the owner's account email."""

    booking_confirmation: Any = UNSET
    reminder_hours_before: Any = UNSET
    cancellation: Any = UNSET
    owner_new_booking: Any = UNSET
    owner_new_lead: Any = UNSET
    owner_integration_error: Any = UNSET
    owner_email: Any = UNSET


_FLAGS = (
    "booking_confirmation",
    "cancellation",
    "owner_new_booking",
    "owner_new_lead",
    "owner_integration_error",
)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


async def update_settings(
    session: AsyncSession, *, changes: SettingsChanges
) -> tuple[NotificationSettings, list[str]]:
    """Check every sent value first (all problems at once, nothing saved on any), then apply. Returns the
    settings and the names of those that changed."""
    errors: list[DomainError] = []
    updates: dict[str, Any] = {}
    for name in _FLAGS:
        value = getattr(changes, name)
        if value is UNSET:
            continue
        if not isinstance(value, bool):
            errors.append(DomainError(ErrorCode.REQUIRED, "Choose on or off.", field=_camel(name)))
        else:
            updates[name] = value
    hours = changes.reminder_hours_before
    if hours is not UNSET:
        if not isinstance(hours, int) or isinstance(hours, bool) or not 0 <= hours <= REMINDER_HOURS_MAX:
            errors.append(
                Invalid(
                    f"Send reminders between 1 and {REMINDER_HOURS_MAX} hours before, or 0 for none.",
                    field="reminderHoursBefore",
                )
            )
        else:
            updates["reminder_hours_before"] = hours
    email = changes.owner_email
    if email is not UNSET:
        if email is None or not str(email).strip():
            updates["owner_email"] = None
        else:
            try:
                updates["owner_email"] = check_email(str(email), field="ownerEmail")[0]
            except DomainError as exc:
                errors.append(exc)
    if errors:
        raise errors[0] if len(errors) == 1 else InputErrors(errors)
    repo = Notifications(session)
    row = await repo.settings(lock=True)
    if row is None:
        try:
            async with session.begin_nested():
                row = _defaults()
                repo.add_settings(row)
        except IntegrityError:
            # A concurrent first update made the row: change that one.
            row = await repo.settings(lock=True)
            assert row is not None
    changed = [name for name, value in updates.items() if getattr(row, name) != value]
    for name in changed:
        setattr(row, name, updates[name])
    if changed:
        row.updated_at = clock.now()
    await session.flush()
    return row, changed


# --- where a customer is reached ------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    channel: NotificationChannel
    recipient: str | None
    skipped: str | None = None  # why nothing is sent


async def _opted_out(session: AsyncSession, customer: Customer) -> bool:
    if customer.whatsapp_opted_out:
        return True
    # "stop" is kept per WhatsApp id, also for a phone whose account was never verified in the chat.
    if customer.phone_e164 and await AssistantStore(session).opt_out_row(whatsapp_id(customer.phone_e164)):
        return True
    return False


async def customer_route(session: AsyncSession, customer: Customer | None) -> Route:
    if customer is None:
        return Route(NotificationChannel.NONE, None, "the customer no longer exists")
    if await _opted_out(session, customer):
        return Route(NotificationChannel.NONE, None, "the customer opted out of messages (WhatsApp STOP)")
    # WhatsApp only to a proven phone: one typed on a website by anyone must not make the business message
    # a stranger (issue 18); an unproven one hears by email until its owner proves it.
    if customer.phone_e164 and customer.phone_proven:
        connection = await live_connection(session, provider=Provider.WHATSAPP)
        if connection is not None and connection.status != ConnectionStatus.NEEDS_REAUTH:
            return Route(NotificationChannel.WHATSAPP, mask_phone(customer.phone_e164))
    if customer.email and "@" in customer.email:
        return Route(NotificationChannel.EMAIL, mask_email(customer.email))
    return Route(NotificationChannel.NONE, None, "no WhatsApp number or email to reach the customer")


# --- deciding -------------------------------------------------------------------------------------------


async def _decide(
    session: AsyncSession,
    *,
    kind: NotificationKind,
    key: str,
    route: Route,
    booking: Booking | None = None,
    subject_id: uuid.UUID | None = None,
    detail: str | None = None,
) -> uuid.UUID | None:
    """Record the decision unless ``key`` was decided already, and queue its delivery. The new id or None."""
    now = clock.now()
    status = NotificationStatus.SKIPPED if route.skipped else NotificationStatus.PENDING
    made = await Notifications(session).decide(
        {
            "id": new_id(),
            "kind": kind.value,
            "dedupe_key": key[:200],
            "channel": route.channel.value,
            "status": status.value,
            "recipient": route.recipient,
            "error": route.skipped,
            "booking_id": booking.id if booking else None,
            "customer_id": booking.customer_id if booking else None,
            "starts_at": booking.starts_at if booking else None,
            "subject_id": subject_id,
            "detail": detail,
            "created_at": now,
        }
    )
    if made is not None and status is NotificationStatus.PENDING:
        await add_outbox(
            session, topic=DELIVER_TOPIC, payload={"notification_id": str(made)}, dedupe_key=f"notify:{made}"
        )
    return made


_SETTING_OF: dict[NotificationKind, str] = {
    NotificationKind.BOOKING_CONFIRMATION: "booking_confirmation",
    NotificationKind.BOOKING_CANCELLED: "cancellation",
    NotificationKind.BOOKING_RESCHEDULED: "cancellation",
    NotificationKind.OWNER_NEW_BOOKING: "owner_new_booking",
    NotificationKind.OWNER_NEW_LEAD: "owner_new_lead",
    NotificationKind.OWNER_INTEGRATION_ERROR: "owner_integration_error",
}


def _enabled(settings: NotificationSettings, kind: NotificationKind) -> bool:
    if kind is NotificationKind.BOOKING_REMINDER:
        return settings.reminder_hours_before > 0
    return bool(getattr(settings, _SETTING_OF[kind]))


async def booking_notices(session: AsyncSession, *, booking: Booking, kind: NotificationKind) -> None:
    """Decide the notices of a booking change (in the change's transaction): the customer's notice of
    ``kind`` and, for a new booking, the owner's."""
    settings = await get_settings(session)
    if _enabled(settings, kind):
        customer = await Customers(session).get(booking.customer_id)
        key = {
            NotificationKind.BOOKING_CONFIRMATION: f"confirmation:{booking.id}",
            NotificationKind.BOOKING_CANCELLED: f"cancellation:{booking.id}",
            # Each move is its own notice (a booking may move back to an earlier time).
            NotificationKind.BOOKING_RESCHEDULED: f"reschedule:{booking.id}:{clock.now().isoformat()}",
        }[kind]
        await _decide(
            session, kind=kind, key=key, route=await customer_route(session, customer), booking=booking
        )
    if kind is NotificationKind.BOOKING_CONFIRMATION and _enabled(
        settings, NotificationKind.OWNER_NEW_BOOKING
    ):
        await _decide(
            session,
            kind=NotificationKind.OWNER_NEW_BOOKING,
            key=f"owner_new_booking:{booking.id}",
            route=Route(NotificationChannel.EMAIL, await _masked_owner(session, settings)),
            booking=booking,
        )


async def owner_alert(
    session: AsyncSession, *, data: dict[str, Any], alert_id: uuid.UUID
) -> uuid.UUID | None:
    """Decide the owner's email for an ``OWNER_ALERT_TOPIC`` row (``alert_id``: that row's id)."""
    kind = ALERT_KINDS.get(str(data.get("kind")))
    if kind is None:
        raise Invalid(f"unknown owner alert kind {data.get('kind')!r}")
    settings = await get_settings(session)
    if not _enabled(settings, kind):
        return None
    subject = next((data[k] for k in ("lead_id", "booking_id", "connection_id") if data.get(k)), None)
    try:
        subject_id = uuid.UUID(str(subject)) if subject is not None else None
    except ValueError:
        subject_id = None
    booking = None
    if kind is NotificationKind.OWNER_NEW_BOOKING and subject_id is not None:
        booking = await Bookings(session).get(subject_id)
    detail = None
    if kind is NotificationKind.OWNER_INTEGRATION_ERROR:
        detail = " ".join(str(data.get(k) or "") for k in ("provider", "message")).strip()[:1000] or None
    key = f"owner:{kind.value}:{subject_id or alert_id}"
    if kind is NotificationKind.OWNER_INTEGRATION_ERROR:
        key = f"owner:{kind.value}:{alert_id}"  # one email per breakage (the writer dedupes breakages)
    return await _decide(
        session,
        kind=kind,
        key=key,
        route=Route(NotificationChannel.EMAIL, await _masked_owner(session, settings)),
        booking=booking,
        subject_id=subject_id if booking is None else None,
        detail=detail,
    )


def reminder_due(starts_at: datetime, hours: int, zone: ZoneInfo) -> datetime:
    """When the reminder of a booking goes: ``hours`` before its start on the business's wall clock, so a
    10:00 appointment is reminded at 10:00 the day before even across a daylight-saving change."""
    wall = starts_at.astimezone(zone).replace(tzinfo=None) - timedelta(hours=hours)
    return wall.replace(tzinfo=zone).astimezone(starts_at.tzinfo)


def _reminder_horizon(hours: int, lead: timedelta) -> timedelta:
    """How far ahead of now a scan looks for bookings: the reminder distance and the scan's lead, plus two
    hours for a daylight-saving shift between the wall-clock and the UTC distance."""
    return timedelta(hours=hours) + lead + timedelta(hours=2)


async def tenants_to_remind(session: AsyncSession, *, now: datetime, lead: timedelta) -> list[uuid.UUID]:
    """The tenants a reminder scan may find work for (the scheduler's maintenance session): reminders on
    and a confirmed booking within the longest reminder distance."""
    return await tenants_with_upcoming_bookings(
        session, now=now, until=now + _reminder_horizon(REMINDER_HOURS_MAX, lead)
    )


def reminder_key(booking: Booking) -> str:
    return f"reminder:{booking.id}:{booking.starts_at.isoformat()}"


async def decide_reminders(session: AsyncSession, *, now: datetime, lead: timedelta) -> int:
    """Decide the reminders due by ``now + lead`` (the scan looks ahead to its next run, and back to any
    booking not started yet whose reminder was missed). Returns how many were decided here."""
    settings = await get_settings(session)
    hours = settings.reminder_hours_before
    if hours <= 0:
        return 0
    tenant = await current_tenant(session)
    zone = ZoneInfo(tenant.timezone)
    repo = Notifications(session)
    candidates = await repo.bookings_starting(now, now + _reminder_horizon(hours, lead))
    due = []
    for booking in candidates:
        at = reminder_due(booking.starts_at, hours, zone)
        # A booking made after its reminder time had its confirmation just now: no reminder as well.
        if at <= now + lead and booking.created_at < at:
            due.append(booking)
    decided = await repo.decided_keys([reminder_key(b) for b in due])
    due = [b for b in due if reminder_key(b) not in decided]
    if not due:
        return 0
    customers = await Customers(session).by_ids([b.customer_id for b in due])
    count = 0
    for booking in due:
        route = await customer_route(session, customers.get(booking.customer_id))
        made = await _decide(
            session,
            kind=NotificationKind.BOOKING_REMINDER,
            key=reminder_key(booking),
            route=route,
            booking=booking,
        )
        count += made is not None
    return count


# --- sending --------------------------------------------------------------------------------------------


async def _owner_email(session: AsyncSession, settings: NotificationSettings) -> str | None:
    if settings.owner_email:
        return settings.owner_email
    return await Notifications(session).owner_email()


async def _masked_owner(session: AsyncSession, settings: NotificationSettings) -> str | None:
    email = await _owner_email(session, settings)
    return mask_email(email) if email else None


def _when(starts_at: datetime, zone: ZoneInfo) -> str:
    local = starts_at.astimezone(zone)
    return f"{local:%A} {local.day} {local:%B} at {local:%H:%M}"


def _customer_text(kind: NotificationKind, service: str, when: str, business: str) -> tuple[str, str]:
    """(email subject, message text)."""
    return {
        NotificationKind.BOOKING_CONFIRMATION: (
            f"Your booking at {business} is confirmed",
            f"Your booking for {service} at {business} on {when} is confirmed.",
        ),
        NotificationKind.BOOKING_REMINDER: (
            f"Reminder: {service} at {business}",
            f"Reminder: your {service} at {business} is on {when}.",
        ),
        NotificationKind.BOOKING_CANCELLED: (
            f"Your booking at {business} is cancelled",
            f"Your booking for {service} at {business} on {when} is cancelled.",
        ),
        NotificationKind.BOOKING_RESCHEDULED: (
            f"Your booking at {business} has moved",
            f"Your booking for {service} at {business} is now on {when}.",
        ),
    }[kind]


def _stale(
    note: Notification, booking: Booking | None, settings: NotificationSettings, now: datetime
) -> str | None:
    """Why a customer notice decided earlier must not go out now (checked against the booking's state)."""
    kind = NotificationKind(note.kind)
    if booking is None:
        return "the booking no longer exists"
    if kind is NotificationKind.BOOKING_CANCELLED:
        return None if booking.status == BookingStatus.CANCELLED.value else "the booking is not cancelled"
    if booking.status == BookingStatus.CANCELLED.value:
        return "the booking was cancelled"
    if booking.status != BookingStatus.CONFIRMED.value:
        return "the booking has taken place"  # completed, or a no-show
    if note.starts_at is not None and booking.starts_at != note.starts_at:
        return "the booking was moved"
    if kind is NotificationKind.BOOKING_REMINDER:
        if booking.starts_at <= now:
            return "the booking has started"
        if settings.reminder_hours_before <= 0:
            return "reminders were turned off"
    return None


def _skip(note: Notification, reason: str) -> None:
    note.status = NotificationStatus.SKIPPED.value
    note.error = reason


async def deliver(
    session: AsyncSession, *, keys: KeyRing, mailer: Mailer, notification_id: uuid.UUID
) -> Notification | None:
    """Send a decided notification (``DELIVER_TOPIC``'s handler). Runs again after a crash: a notification
    no longer ``PENDING`` (or already handed to WhatsApp) is left alone."""
    note = await Notifications(session).get(notification_id, lock=True)
    if note is None or note.status != NotificationStatus.PENDING.value or note.message_id is not None:
        return note
    kind = NotificationKind(note.kind)
    settings = await get_settings(session)
    tenant = await current_tenant(session)
    now = clock.now()
    if kind in CUSTOMER_KINDS:
        await _deliver_to_customer(
            session, keys=keys, mailer=mailer, note=note, settings=settings, tenant=tenant
        )
    else:
        to = await _owner_email(session, settings)
        if not to:
            _skip(note, "the business has no owner email")
            return note
        subject, text = await _owner_text(session, note, tenant)
        await mailer.send(EmailMessage(to=to, subject=subject, text=text))
        note.status = NotificationStatus.SENT.value
        note.sent_at = now
    return note


async def _deliver_to_customer(
    session: AsyncSession,
    *,
    keys: KeyRing,
    mailer: Mailer,
    note: Notification,
    settings: NotificationSettings,
    tenant: Tenant,
) -> None:
    kind = NotificationKind(note.kind)
    now = clock.now()
    booking = await Bookings(session).get(note.booking_id) if note.booking_id else None
    reason = _stale(note, booking, settings, now)
    if reason is not None or booking is None:
        _skip(note, reason or "the booking no longer exists")
        return
    # Checked again at send time: the customer may have opted out or WhatsApp been disconnected since.
    customer = await Customers(session).get(booking.customer_id)
    route = await customer_route(session, customer)
    if route.skipped is not None or customer is None:
        _skip(note, route.skipped or "the customer no longer exists")
        return
    service = await Services(session).get(booking.service_id)
    zone = ZoneInfo(tenant.timezone)
    when = _when(booking.starts_at, zone)
    subject, text = _customer_text(kind, service.name if service else "your appointment", when, tenant.name)
    note.channel = route.channel.value
    note.recipient = route.recipient
    if route.channel is NotificationChannel.WHATSAPP and customer.phone_e164:
        conversation = await conversations.conversation_for_phone(
            session, channel=WHATSAPP, phone=customer.phone_e164
        )
        template = conversations.Template(
            name=TEMPLATES[kind], params=(service.name if service else "", when, tenant.name)
        )
        # Inside the window free text (the template if the window closes before the send); outside it the
        # template, the only thing WhatsApp accepts there.
        if conversations.in_window(conversation, now=now):
            reply = conversations.Reply(text=text, fallback=template)
        else:
            reply = conversations.Reply(template=template, log_text=text)
        message = await conversations.queue_reply(session, keys=keys, conversation=conversation, reply=reply)
        note.message_id = message.id
        return
    await mailer.send(EmailMessage(to=customer.email, subject=subject, text=text))
    note.status = NotificationStatus.SENT.value
    note.sent_at = now


async def _owner_text(session: AsyncSession, note: Notification, tenant: Tenant) -> tuple[str, str]:
    kind = NotificationKind(note.kind)
    if kind is NotificationKind.OWNER_NEW_BOOKING:
        booking = await Bookings(session).get(note.booking_id) if note.booking_id else None
        if booking is not None:
            service = await Services(session).get(booking.service_id)
            when = _when(booking.starts_at, ZoneInfo(tenant.timezone))
            name = service.name if service else "a service"
            return (
                f"New booking: {name} on {when}",
                f"A new booking for {name} on {when} ({booking.source.lower()}). "
                "See Bookings in your dashboard.",
            )
        return "New booking", "A new booking was made. See Bookings in your dashboard."
    if kind is NotificationKind.OWNER_NEW_LEAD:
        return (
            "New lead from your website",
            "A new lead came in from your website. See Leads in your dashboard.",
        )
    return (
        "An integration needs your attention",
        f"{note.detail or 'One of your integrations stopped working.'}\n"
        "See Settings > Integrations in your dashboard.",
    )


async def mark_failed(session: AsyncSession, *, notification_id: uuid.UUID, error: str) -> None:
    """The send failed for good (retries used up): recorded so staff see it."""
    note = await Notifications(session).get(notification_id, lock=True)
    if note is not None and note.status == NotificationStatus.PENDING.value and note.message_id is None:
        note.status = NotificationStatus.FAILED.value
        note.error = error[:500]


# --- reading --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    """A notification as staff see it: a WhatsApp notice's status is its message's status."""

    row: Notification
    status: NotificationStatus
    error: str | None
    sent_at: datetime | None


_FROM_MESSAGE = {
    MessageStatus.QUEUED: NotificationStatus.PENDING,
    MessageStatus.SENT: NotificationStatus.SENT,
    MessageStatus.DELIVERED: NotificationStatus.DELIVERED,
    MessageStatus.READ: NotificationStatus.READ,
    MessageStatus.FAILED: NotificationStatus.FAILED,
}


async def deliveries(session: AsyncSession, rows: Sequence[Notification]) -> list[Delivery]:
    """One query for the WhatsApp messages of a page of notifications."""
    messages = await Conversations(session).messages_by_ids([r.message_id for r in rows if r.message_id])
    out = []
    for row in rows:
        message = messages.get(row.message_id) if row.message_id else None
        if message is None:
            out.append(Delivery(row, NotificationStatus(row.status), row.error, row.sent_at))
            continue
        status = _FROM_MESSAGE.get(MessageStatus(message.status), NotificationStatus.PENDING)
        sent_at = (
            message.status_at
            if status not in (NotificationStatus.PENDING, NotificationStatus.FAILED)
            else None
        )
        out.append(
            Delivery(row, status, message.error if status is NotificationStatus.FAILED else None, sent_at)
        )
    return out


async def list_notifications(
    session: AsyncSession, *, page: PageRequest
) -> tuple[Page[Notification], list[Delivery]]:
    found = await Notifications(session).page(page)
    return found, await deliveries(session, [n for _, n in found.items])


async def notifications_by_ids(session: AsyncSession, ids: Sequence[uuid.UUID]) -> list[Delivery]:
    return await deliveries(session, await Notifications(session).by_ids(ids))
