"""Booking notices and reminders end to end: a booking made on the dashboard, on the website and on WhatsApp
each gives one confirmation (WhatsApp template outside the 24-hour window, free text inside it, email
without a WhatsApp route), one GA event, one owner email, and one reminder at the right local time however
many schedulers run; a worker that dies after the provider answered sends at most a duplicate."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from bizzly import clock
from bizzly.settings import Settings
from domain.conversations.service import Sender, record_inbound
from domain.customers.service import set_whatsapp_opt_out
from domain.notifications.models import Notification, NotificationKind, NotificationStatus
from domain.scheduling.models import BookingSource
from domain.scheduling.service import BookingCaller, cancel_booking, create_booking, reschedule_booking
from tests.domain.notifications.conftest import (
    Shop,
    db,
    notifications,
    open_shop,
    outbox_topics,
    two_schedulers_tick,
    until,
)
from tests.fakes.ga import GaFake
from tests.fakes.meta import MetaFake, Send
from tests.support.customers import create_customer, register, row_id
from tests.support.graphql import GraphQLClient
from tests.support.outbox import RecordingMailer, drain_outbox
from tests.support.scheduling import book

STAFF = BookingCaller(actor="staff:test", source=BookingSource.DASHBOARD)


def when(day: date, hhmm: str) -> str:
    return f"{day:%A} {day.day} {day:%B} at {hhmm}"


def templates(meta: MetaFake, name: str) -> list[Send]:
    return [s for s in meta.sends if s.body.get("type") == "template" and s.body["template"]["name"] == name]


def params(send: Send) -> list[str]:
    [component] = send.body["template"]["components"]
    return [p["text"] for p in component["parameters"]]


def of_kind(rows: list[Notification], kind: NotificationKind) -> list[Notification]:
    return [r for r in rows if r.kind == kind.value]


async def tenant_session(gql: GraphQLClient, shop: Shop) -> Any:
    return db(gql).tenant_session(shop.tenant_id, write=True)


async def test_every_channel_gets_one_confirmation_one_reminder_and_one_ga_event(
    gql: GraphQLClient, settings: Settings, meta: MetaFake, ga: GaFake
) -> None:
    shop = await open_shop(gql, meta, "notify-three")
    token = shop.owner.access_token
    day = (clock.now() + timedelta(days=3)).date()
    # Dashboard: staff book for a customer with a phone who never wrote (outside the window: template).
    dana = await create_customer(
        gql, token, name="Dana Desk", email="dana@example.com", phone="+447700900001"
    )
    made = await book(
        gql, token, service_id=shop.service_id, starts_at=shop.at(day, 10), customer_id=dana["id"]
    )
    assert made["errors"] == []
    # Website: a customer with no phone books for herself (no WhatsApp route: email).
    wendy = await register(gql, shop.owner.slug, name="Wendy Web", email="wendy@example.com")
    made = await book(gql, wendy["accessToken"], service_id=shop.service_id, starts_at=shop.at(day, 11))
    assert made["errors"] == []
    # WhatsApp: a customer who just wrote books in the chat (inside the window: free text).
    walt = await create_customer(
        gql, token, name="Walt Chat", email="walt@example.com", phone="+447700900002"
    )
    async with await tenant_session(gql, shop) as s, s.begin():
        await record_inbound(
            s,
            channel="whatsapp",
            connection_id=None,
            sender=Sender(wa_id="447700900002"),
            wamid="wamid.W1",
            kind="text",
            body="book a haircut",
        )
        await create_booking(
            s,
            caller=BookingCaller(
                actor="whatsapp:+447700900002", source=BookingSource.WHATSAPP, customer_id=row_id(walt["id"])
            ),
            customer_id=None,
            service_id=row_id(shop.service_id),
            starts_at=shop.at(day, 12),
        )

    mailer = RecordingMailer()
    await drain_outbox(settings, mailer=mailer)

    [dana_confirmed] = templates(meta, "bizzly_booking_confirmed")
    assert dana_confirmed.to == "447700900001"
    assert params(dana_confirmed) == ["Haircut", when(day, "10:00"), "Notify Three"]
    [walt_confirmed] = [s for s in meta.sends if s.text]
    assert walt_confirmed.to == "447700900002"
    assert (
        walt_confirmed.text
        == f"Your booking for Haircut at Notify Three on {when(day, '12:00')} is confirmed."
    )
    customer_mail = [m for m in mailer.sent if m.to == "wendy@example.com"]
    assert [(m.subject, m.text) for m in customer_mail] == [
        (
            "Your booking at Notify Three is confirmed",
            f"Your booking for Haircut at Notify Three on {when(day, '11:00')} is confirmed.",
        )
    ]
    owner_mail = sorted(m.subject for m in mailer.sent if m.to == shop.owner.email)
    assert owner_mail == [f"New booking: Haircut on {when(day, f'{h}:00')}" for h in (10, 11, 12)]
    assert [e["name"] for e in ga.events()] == ["booking_created"] * 3

    rows = await notifications(gql, shop.tenant_id)
    confirmations = of_kind(rows, NotificationKind.BOOKING_CONFIRMATION)
    assert sorted((r.channel, r.recipient) for r in confirmations) == [
        ("EMAIL", "w***y@example.com"),
        ("WHATSAPP", "+44•••••••001"),
        ("WHATSAPP", "+44•••••••002"),
    ]
    sends_before = len(meta.sends)

    # Reminders: 24 hours before on the wall clock. Six minutes early nothing is decided; four minutes
    # early (before the next scan) Dana's is; two schedulers ticking at once decide it once.
    first_due = shop.at(day - timedelta(days=1), 10)
    clock.advance(until(first_due - timedelta(minutes=6)))
    fired = await two_schedulers_tick(gql, settings)
    assert sorted(len(f) for f in fired) == [0, 1]
    await drain_outbox(settings, mailer=mailer)
    assert of_kind(await notifications(gql, shop.tenant_id), NotificationKind.BOOKING_REMINDER) == []

    clock.advance(timedelta(minutes=2))
    fired = await two_schedulers_tick(gql, settings)
    assert sorted(len(f) for f in fired) == [0, 1]
    await drain_outbox(settings, mailer=mailer)
    [dana_reminder] = templates(meta, "bizzly_booking_reminder")
    assert dana_reminder.to == "447700900001"
    assert params(dana_reminder) == ["Haircut", when(day, "10:00"), "Notify Three"]

    # Past the last one: Wendy by email, Walt by template (his window closed two days ago).
    clock.advance(until(shop.at(day - timedelta(days=1), 12, 1)))
    await two_schedulers_tick(gql, settings)
    await drain_outbox(settings, mailer=mailer)
    # A later scan (a second scheduler, a retried tick) sees them all again and decides nothing new.
    for _ in range(2):
        clock.advance(timedelta(minutes=5))
        await two_schedulers_tick(gql, settings)
        await drain_outbox(settings, mailer=mailer)

    reminders = templates(meta, "bizzly_booking_reminder")
    assert sorted(s.to for s in reminders) == ["447700900001", "447700900002"]
    assert len(meta.sends) == sends_before + 2
    assert [m.subject for m in mailer.sent if m.to == "wendy@example.com"][1:] == [
        "Reminder: Haircut at Notify Three"
    ]
    rows = of_kind(await notifications(gql, shop.tenant_id), NotificationKind.BOOKING_REMINDER)
    assert len(rows) == 3
    assert len({r.booking_id for r in rows}) == 3
    assert [e["name"] for e in ga.events()] == ["booking_created"] * 3


async def test_a_worker_killed_after_the_send_sends_again_but_decides_once(
    gql: GraphQLClient, settings: Settings, meta: MetaFake
) -> None:
    shop = await open_shop(gql, meta, "notify-kill", whatsapp=False)
    token = shop.owner.access_token
    day = (clock.now() + timedelta(days=2)).date()
    ada = await create_customer(gql, token, name="Ada", email="ada@example.com", phone="+447700900003")
    made = await book(
        gql, token, service_id=shop.service_id, starts_at=shop.at(day, 10), customer_id=ada["id"]
    )
    assert made["errors"] == []

    class WorkerDied(BaseException):
        """SIGKILL, as far as the handler's transaction is concerned: nothing after it runs."""

    class DiesAfterSending(RecordingMailer):
        async def send(self, message: Any) -> None:
            await super().send(message)  # the SMTP server took it...
            if message.to == "ada@example.com":
                raise WorkerDied  # ...and the worker died before its commit

    dying = DiesAfterSending()
    try:
        await drain_outbox(settings, mailer=dying)
    except WorkerDied:
        pass
    assert [m.to for m in dying.sent].count("ada@example.com") == 1
    [decided] = of_kind(await notifications(gql, shop.tenant_id), NotificationKind.BOOKING_CONFIRMATION)
    assert decided.status == NotificationStatus.PENDING  # the send was not recorded

    # The row's lease runs out; another worker runs it again: one more email, the same decision.
    clock.advance(timedelta(seconds=settings.outbox_lease_seconds + 1))
    mailer = RecordingMailer()
    await drain_outbox(settings, mailer=mailer)
    assert [m.to for m in mailer.sent].count("ada@example.com") == 1
    rows = of_kind(await notifications(gql, shop.tenant_id), NotificationKind.BOOKING_CONFIRMATION)
    assert [(r.id, r.status, r.channel) for r in rows] == [(decided.id, NotificationStatus.SENT, "EMAIL")]
    assert len(await outbox_topics(gql, shop.tenant_id, "notifications.deliver")) == 2  # customer + owner


async def test_a_cancelled_booking_gets_its_notice_and_never_a_reminder(
    gql: GraphQLClient, settings: Settings, meta: MetaFake
) -> None:
    shop = await open_shop(gql, meta, "notify-cancel")
    token = shop.owner.access_token
    day = (clock.now() + timedelta(days=3)).date()
    cleo = await create_customer(gql, token, name="Cleo", email="cleo@example.com", phone="+447700900004")
    first = await book(
        gql, token, service_id=shop.service_id, starts_at=shop.at(day, 10), customer_id=cleo["id"]
    )
    second = await book(
        gql, token, service_id=shop.service_id, starts_at=shop.at(day, 11), customer_id=cleo["id"]
    )
    third = await book(
        gql, token, service_id=shop.service_id, starts_at=shop.at(day, 14), customer_id=cleo["id"]
    )
    await drain_outbox(settings, mailer=RecordingMailer())
    # Cancelled well before its reminder: the cancellation notice goes, no reminder is ever decided.
    async with await tenant_session(gql, shop) as s, s.begin():
        await cancel_booking(s, caller=STAFF, booking_id=row_id(first["booking"]["id"]))
    await drain_outbox(settings, mailer=RecordingMailer())
    [cancelled] = templates(meta, "bizzly_booking_cancelled")
    assert params(cancelled) == ["Haircut", when(day, "10:00"), "Notify Cancel"]

    # The reminders of the other two are decided, then one booking is cancelled and the other moved
    # before the reminders go out: the check at send time stops both.
    clock.advance(until(shop.at(day - timedelta(days=1), 14, 1)))
    from domain.notifications.service import decide_reminders

    async with await tenant_session(gql, shop) as s, s.begin():
        assert await decide_reminders(s, now=clock.now(), lead=timedelta(minutes=5)) == 2
    async with await tenant_session(gql, shop) as s, s.begin():
        await cancel_booking(s, caller=STAFF, booking_id=row_id(second["booking"]["id"]))
        await reschedule_booking(
            s, caller=STAFF, booking_id=row_id(third["booking"]["id"]), starts_at=shop.at(day, 16)
        )
    await drain_outbox(settings, mailer=RecordingMailer())
    assert templates(meta, "bizzly_booking_reminder") == []
    [moved] = templates(meta, "bizzly_booking_rescheduled")
    assert params(moved) == ["Haircut", when(day, "16:00"), "Notify Cancel"]
    rows = of_kind(await notifications(gql, shop.tenant_id), NotificationKind.BOOKING_REMINDER)
    assert sorted((r.status, r.error) for r in rows) == [
        (NotificationStatus.SKIPPED, "the booking was cancelled"),
        (NotificationStatus.SKIPPED, "the booking was moved"),
    ]
    # The moved booking gets its reminder for the new time, once; the cancelled ones none.
    clock.advance(until(shop.at(day - timedelta(days=1), 16, 1)))
    async with await tenant_session(gql, shop) as s, s.begin():
        assert await decide_reminders(s, now=clock.now(), lead=timedelta(minutes=5)) == 1
        assert await decide_reminders(s, now=clock.now(), lead=timedelta(minutes=5)) == 0
    await drain_outbox(settings, mailer=RecordingMailer())
    [reminded] = templates(meta, "bizzly_booking_reminder")
    assert params(reminded) == ["Haircut", when(day, "16:00"), "Notify Cancel"]


async def test_an_opted_out_customer_gets_nothing_and_a_skipped_row_says_why(
    gql: GraphQLClient, settings: Settings, meta: MetaFake
) -> None:
    shop = await open_shop(gql, meta, "notify-stop")
    token = shop.owner.access_token
    day = (clock.now() + timedelta(days=2)).date()
    olive = await create_customer(gql, token, name="Olive", email="olive@example.com", phone="+447700900005")
    async with await tenant_session(gql, shop) as s, s.begin():
        await set_whatsapp_opt_out(
            s, customer_id=row_id(olive["id"]), opted_out=True, actor="whatsapp:+447700900005"
        )
    made = await book(
        gql, token, service_id=shop.service_id, starts_at=shop.at(day, 10), customer_id=olive["id"]
    )
    assert made["errors"] == []
    mailer = RecordingMailer()
    await drain_outbox(settings, mailer=mailer)
    clock.advance(until(shop.at(day - timedelta(days=1), 10, 1)))
    async with await tenant_session(gql, shop) as s, s.begin():
        from domain.notifications.service import decide_reminders

        await decide_reminders(s, now=clock.now(), lead=timedelta(minutes=5))
    await drain_outbox(settings, mailer=mailer)

    assert meta.sends == []
    assert [m.to for m in mailer.sent] == [shop.owner.email]  # the owner hears of the booking
    rows = await notifications(gql, shop.tenant_id)
    skipped = [(r.kind, r.channel, r.status, r.error) for r in rows if r.status == NotificationStatus.SKIPPED]
    reason = "the customer opted out of messages (WhatsApp STOP)"
    assert skipped == [
        ("BOOKING_CONFIRMATION", "NONE", "SKIPPED", reason),
        ("BOOKING_REMINDER", "NONE", "SKIPPED", reason),
    ]
    assert uuid.UUID(str(rows[0].booking_id)) == row_id(made["booking"]["id"])


async def test_a_reminder_keeps_the_local_time_across_a_daylight_saving_change(
    gql: GraphQLClient, settings: Settings, meta: MetaFake
) -> None:
    from tests.support.scheduling import next_last_sunday

    shop = await open_shop(gql, meta, "notify-dst", whatsapp=False)
    token = shop.owner.access_token
    # Clocks go back early on the last Sunday of October: the Sunday 10:00 appointment is reminded at
    # 10:00 on Saturday, local time -- 25 real hours before, not 24.
    sunday = next_last_sunday(10)
    dora = await create_customer(gql, token, name="Dora", email="dora@example.com")
    made = await book(
        gql, token, service_id=shop.service_id, starts_at=shop.at(sunday, 10), customer_id=dora["id"]
    )
    assert made["errors"] == []
    await drain_outbox(settings, mailer=RecordingMailer())
    due = shop.at(sunday - timedelta(days=1), 10)
    assert shop.at(sunday, 10) - due == timedelta(hours=25)

    mailer = RecordingMailer()
    clock.advance(until(due - timedelta(minutes=6)))
    await two_schedulers_tick(gql, settings)
    await drain_outbox(settings, mailer=mailer)
    assert mailer.sent == []  # not early
    clock.advance(timedelta(minutes=2))
    await two_schedulers_tick(gql, settings)
    await drain_outbox(settings, mailer=mailer)
    # Sent at 09:56 local; 24 real hours before the start would have been 11:00 local.
    assert [(m.to, m.text) for m in mailer.sent] == [
        ("dora@example.com", f"Reminder: your Haircut at Notify Dst is on {when(sunday, '10:00')}.")
    ]


async def test_a_whatsapp_worker_killed_after_meta_answered_sends_a_duplicate_and_decides_once(
    gql: GraphQLClient, settings: Settings, meta: MetaFake, monkeypatch: Any
) -> None:
    from domain.conversations import service as conversations

    shop = await open_shop(gql, meta, "notify-kill-wa")
    token = shop.owner.access_token
    day = (clock.now() + timedelta(days=2)).date()
    una = await create_customer(gql, token, name="Una", email="una@example.com", phone="+447700900007")
    made = await book(
        gql, token, service_id=shop.service_id, starts_at=shop.at(day, 10), customer_id=una["id"]
    )
    assert made["errors"] == []

    class WorkerDied(BaseException):
        pass

    def dies(*args: Any, **kwargs: Any) -> None:
        raise WorkerDied  # Meta accepted the message; the worker is gone before recording it

    monkeypatch.setattr(conversations, "mark_sent", dies)
    try:
        await drain_outbox(settings, mailer=RecordingMailer())
    except WorkerDied:
        pass
    monkeypatch.undo()
    assert [s.to for s in meta.sends] == ["447700900007"]
    clock.advance(timedelta(seconds=settings.outbox_lease_seconds + 1))
    await drain_outbox(settings, mailer=RecordingMailer())
    assert [s.to for s in meta.sends] == ["447700900007", "447700900007"]  # at most a duplicate
    [row] = of_kind(await notifications(gql, shop.tenant_id), NotificationKind.BOOKING_CONFIRMATION)
    assert row.message_id is not None
    assert len(await outbox_topics(gql, shop.tenant_id, "whatsapp.send")) == 1  # one message queued
