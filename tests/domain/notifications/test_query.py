"""The ``notifications`` query: newest first, masked recipients, WhatsApp delivery status from the message,
who may read it, and a page of 60 costs the SQL a page of 3 does."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from starlette.applications import Starlette

from bizzly import clock
from bizzly.settings import Settings
from domain.scheduling.models import BookingSource
from domain.scheduling.service import BookingCaller, create_booking
from tests.domain.notifications.conftest import open_shop
from tests.fakes.meta import MetaFake
from tests.support.accounts import staff_token
from tests.support.customers import create_customer, register, row_id
from tests.support.graphql import GraphQLClient, contract_operations
from tests.support.outbox import RecordingMailer, drain_outbox
from tests.support.queries import count_queries
from tests.support.scheduling import book


async def listed(gql: GraphQLClient, token: str, first: int = 50) -> list[dict[str, Any]]:
    result = await gql.op("Notifications", {"first": first}, token=token)
    assert not result.errors, result.body
    return [e["node"] for e in result.data["notifications"]["edges"]]


async def test_staff_see_deliveries_newest_first_with_masked_recipients(
    gql: GraphQLClient, settings: Settings, meta: MetaFake
) -> None:
    shop = await open_shop(gql, meta, "notify-list")
    token = shop.owner.access_token
    day = (clock.now() + timedelta(days=2)).date()
    kim = await create_customer(gql, token, name="Kim", email="kim@example.com", phone="+447700900006")
    assert (
        await book(gql, token, service_id=shop.service_id, starts_at=shop.at(day, 10), customer_id=kim["id"])
    )["errors"] == []
    pending = await listed(gql, token)
    assert [(n["kind"], n["status"]) for n in pending] == [
        ("OWNER_NEW_BOOKING", "PENDING"),
        ("BOOKING_CONFIRMATION", "PENDING"),
    ]
    await drain_outbox(settings, mailer=RecordingMailer())
    staff = await staff_token(gql, shop.owner, role="STAFF")
    owner_row, customer_row = await listed(gql, staff)
    assert customer_row["channel"] == "WHATSAPP"
    assert customer_row["status"] == "SENT"  # Meta accepted the template
    assert customer_row["recipient"] == "+44•••••••006"
    assert customer_row["sentAt"] is not None
    assert customer_row["error"] is None
    assert owner_row["channel"] == "EMAIL"
    assert owner_row["status"] == "SENT"
    assert owner_row["recipient"] == "o***r@notify-list.example.com"
    assert owner_row["createdAt"] >= customer_row["createdAt"]
    # No address appears in full.
    assert "kim@example.com" not in str(customer_row)
    assert "447700900006" not in str(customer_row)

    # A failed WhatsApp send shows as FAILED with Meta's reason.
    meta.fail_next("invalid")
    assert (
        await book(gql, token, service_id=shop.service_id, starts_at=shop.at(day, 12), customer_id=kim["id"])
    )["errors"] == []
    await drain_outbox(settings, mailer=RecordingMailer())
    failed = [n for n in await listed(gql, token) if n["status"] == "FAILED"]
    assert [(n["kind"], n["channel"]) for n in failed] == [("BOOKING_CONFIRMATION", "WHATSAPP")]
    assert failed[0]["error"]
    assert failed[0]["sentAt"] is None


async def test_customers_and_strangers_cannot_list_notifications(
    gql: GraphQLClient, settings: Settings, meta: MetaFake
) -> None:
    shop = await open_shop(gql, meta, "notify-private", whatsapp=False)
    customer = await register(gql, shop.owner.slug, name="Cara", email="cara@example.com")
    for token, code in ((customer["accessToken"], "FORBIDDEN"), (None, "UNAUTHENTICATED")):
        result = await gql.op("Notifications", {"first": 5}, token=token)
        assert result.errors
        assert result.errors[0]["extensions"]["code"] == code
        assert result.body["data"] is None


async def test_a_page_of_60_costs_the_sql_of_a_page_of_3(
    app: Starlette, gql: GraphQLClient, settings: Settings, meta: MetaFake
) -> None:
    shop = await open_shop(gql, meta, "notify-count")
    token = shop.owner.access_token
    day = (clock.now() + timedelta(days=2)).date()
    people = [
        await create_customer(
            gql, token, name=f"P{i}", email=f"p{i}@example.com", phone=f"+4477009001{i:02d}"
        )
        for i in range(3)
    ]
    caller = BookingCaller(actor="system", source=BookingSource.DASHBOARD)
    async with app.state.services.db.tenant_session(shop.tenant_id, write=True) as s, s.begin():
        for i in range(30):
            await create_booking(
                s,
                caller=caller,
                customer_id=row_id(people[i % 3]["id"]),
                service_id=row_id(shop.service_id),
                starts_at=shop.at(day + timedelta(days=i // 8), 9 + i % 8),
            )
    await drain_outbox(settings, mailer=RecordingMailer())
    query = contract_operations()["Notifications"]
    counts = []
    for first in (3, 60):
        with count_queries(app.state.services.db.app_engine) as log:
            result = await gql(query, {"first": first}, token=token)
        assert not result.errors, result.body
        counts.append(log.count)
    assert counts[0] == counts[1], counts
    assert len(result.data["notifications"]["edges"]) == 60
    assert {e["node"]["status"] for e in result.data["notifications"]["edges"]} == {"SENT"}
