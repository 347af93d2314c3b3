"""``bizzly demo``: a business to click through, with working log-ins, and a second run changes nothing."""

from __future__ import annotations

from bizzly import demo
from bizzly.settings import Settings
from tests.support.accounts import database_snapshot, snapshot_changes
from tests.support.graphql import GraphQLClient


async def test_the_demo_seeds_a_business_once_and_its_log_ins_work(
    gql: GraphQLClient, settings: Settings
) -> None:
    first = await demo.seed(settings)
    assert first.created is True
    before = await database_snapshot(settings)
    second = await demo.seed(settings)
    assert second.created is False
    assert snapshot_changes(before, await database_snapshot(settings)) == {}
    text = demo.instructions(second, settings)
    assert "nothing changed" in text
    assert demo.OWNER_EMAIL in text
    assert demo.OWNER_PASSWORD in text

    login = await gql.op("LogIn", {"input": {"email": demo.OWNER_EMAIL, "password": demo.OWNER_PASSWORD}})
    token = login.data["logIn"]["accessToken"]
    assert token, login.body
    services = (await gql.op("Services", token=token)).data["services"]["edges"]
    assert len(services) == len(demo.SERVICES)
    public = (await gql.op("Services", tenant=demo.SLUG)).data["services"]["edges"]
    assert len(public) == len([s for s in demo.SERVICES if s[5]])  # the inactive one is hidden
    bookings = (await gql.op("Bookings", {"first": 20}, token=token)).data["bookings"]["edges"]
    assert len(bookings) == len(demo.BOOKINGS)
    assert {b["node"]["source"] for b in bookings} == {"DASHBOARD", "WEBSITE", "WHATSAPP"}
    hours = (await gql.op("BusinessHours", tenant=demo.SLUG)).data["businessHours"]
    assert len(hours) == len(demo.HOURS)
    found = (await gql.op("HelpArticles", {"search": "verification"}, tenant=demo.SLUG)).data["helpArticles"]
    assert found["edges"][0]["node"]["title"] == "WhatsApp Authentication & Security"

    shared = await gql.op("ResolvePhone", {"phone": "07700 900123"}, token=token)
    assert sorted(a["name"] for a in shared.data["resolvePhone"]["accounts"]) == ["Sarah Jones", "Tom Jones"]

    sarah = await gql.op(
        "CustomerLogIn",
        {
            "input": {
                "tenantSlug": demo.SLUG,
                "email": "sarah@example.com",
                "password": demo.CUSTOMER_PASSWORD,
            }
        },
    )
    mine = await gql.op("MyBookings", token=sarah.data["customerLogIn"]["accessToken"])
    assert len(mine.data["me"]["bookings"]["edges"]) == 2
    (subscription,) = mine.data["me"]["subscriptions"]
    assert subscription["plan"]["name"] == "Yoga 8 a month"
