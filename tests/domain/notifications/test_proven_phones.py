"""Messages the business starts go by WhatsApp only to a proven phone (issue 18): a phone anyone typed on the
website hears nothing on WhatsApp; its account is told by email."""

from __future__ import annotations

from datetime import timedelta

from bizzly import clock
from bizzly.settings import Settings
from domain.notifications.models import NotificationKind
from tests.domain.notifications.conftest import notifications, open_shop, two_schedulers_tick, until
from tests.fakes.meta import MetaFake
from tests.support.customers import register
from tests.support.graphql import GraphQLClient
from tests.support.outbox import RecordingMailer, drain_outbox
from tests.support.scheduling import book

ALICE_PHONE = "+447700900123"
ALICE_WA = ALICE_PHONE.lstrip("+")


async def test_mallory_books_with_alices_phone_and_hears_by_email_alice_hears_nothing(
    gql: GraphQLClient, settings: Settings, meta: MetaFake
) -> None:
    shop = await open_shop(gql, meta, "proven-shop")
    day = (clock.now() + timedelta(days=3)).date()
    # Anonymous registration with a phone that is not hers, then a booking on the website.
    mallory = await register(
        gql, shop.owner.slug, name="Mallory", email="mallory@example.com", phone=ALICE_PHONE
    )
    made = await book(gql, mallory["accessToken"], service_id=shop.service_id, starts_at=shop.at(day, 10))
    assert made["errors"] == []

    mailer = RecordingMailer()
    await drain_outbox(settings, mailer=mailer)

    assert [s for s in meta.sends if s.to == ALICE_WA] == []
    assert [(m.to, m.subject) for m in mailer.sent if m.to == "mallory@example.com"] == [
        ("mallory@example.com", "Your booking at Proven Shop is confirmed")
    ]
    [confirmation] = [
        n
        for n in await notifications(gql, shop.tenant_id)
        if n.kind == NotificationKind.BOOKING_CONFIRMATION.value
    ]
    assert (confirmation.channel, confirmation.recipient) == ("EMAIL", "m***y@example.com")

    # The reminder the day before goes the same way.
    clock.advance(until(shop.at(day - timedelta(days=1), 10, 1)))
    await two_schedulers_tick(gql, settings)
    await drain_outbox(settings, mailer=mailer)
    assert [s for s in meta.sends if s.to == ALICE_WA] == []
    assert [m.subject for m in mailer.sent if m.to == "mallory@example.com"][-1] == (
        "Reminder: Haircut at Proven Shop"
    )


async def test_a_phone_staff_entered_is_proven_until_the_customer_types_another(
    gql: GraphQLClient, settings: Settings, meta: MetaFake
) -> None:
    shop = await open_shop(gql, meta, "staff-shop")
    token = shop.owner.access_token
    day = (clock.now() + timedelta(days=3)).date()
    walt = await register(gql, shop.owner.slug, name="Walt", email="walt@example.com")
    # Staff enter Walt's phone (the business's own record, which it vouches for): he hears on WhatsApp.
    changed = await gql.op(
        "UpdateCustomer", {"input": {"id": walt["customer"]["id"], "phone": ALICE_PHONE}}, token=token
    )
    assert changed.data["updateCustomer"]["errors"] == []
    made = await book(gql, walt["accessToken"], service_id=shop.service_id, starts_at=shop.at(day, 10))
    assert made["errors"] == []
    mailer = RecordingMailer()
    await drain_outbox(settings, mailer=mailer)
    assert [s.body["template"]["name"] for s in meta.sends if s.to == ALICE_WA] == [
        "bizzly_booking_confirmed"
    ]

    # Walt types another number on the website: unproven, so email until he proves it.
    changed = await gql.op(
        "UpdateMyProfile", {"input": {"phone": "+447700900999"}}, token=walt["accessToken"]
    )
    assert changed.data["updateMyProfile"]["errors"] == []
    made = await book(gql, walt["accessToken"], service_id=shop.service_id, starts_at=shop.at(day, 11))
    assert made["errors"] == []
    await drain_outbox(settings, mailer=mailer)
    assert [s for s in meta.sends if s.to == "447700900999"] == []
    assert len([s for s in meta.sends if s.to == ALICE_WA]) == 1
    assert [m.subject for m in mailer.sent if m.to == "walt@example.com"] == [
        "Your booking at Staff Shop is confirmed"
    ]
