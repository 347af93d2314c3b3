"""Lists are batched: a page of 100 bookings (with customer and service) costs the same SQL statements as a
page of 5, and nested lists (each customer's bookings and subscriptions) are batched across customers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from starlette.applications import Starlette

from domain.scheduling.models import BookingSource
from domain.scheduling.service import BookingCaller, create_booking
from tests.support.accounts import SignedUp, sign_up
from tests.support.customers import create_customer, row_id, tenant_session
from tests.support.graphql import GraphQLClient
from tests.support.queries import count_queries
from tests.support.scheduling import create_service, local, next_weekday, ok, set_hours

NESTED = """
query Nested($first: Int) {
  customers(first: $first) {
    edges { node {
      id
      bookings(first: 20) { edges { node { id status service { name price { amount } } } } }
      subscriptions { id remaining periodEndsAt plan { name services { name } } }
    } }
  }
}
"""


@pytest.fixture
async def owner(gql: GraphQLClient) -> SignedUp:
    business = await sign_up(gql, slug="counted-spa")
    await set_hours(gql, business.access_token)
    token = business.access_token
    services = [await create_service(gql, token, name=f"Service {i}", capacity=5) for i in range(3)]
    customers = [
        await create_customer(gql, business, name=f"C{i}", email=f"c{i}@example.com") for i in range(10)
    ]
    plan = ok(
        await gql.op(
            "CreatePlan",
            {
                "input": {
                    "name": "Monthly",
                    "quota": 50,
                    "period": "MONTH",
                    "price": {"amount": 9900, "currency": "GBP"},
                    "serviceIds": [services[0]["id"]],
                }
            },
            token=token,
        ),
        "createPlan",
    )["plan"]
    for customer in customers:
        variables = {"input": {"customerId": customer["id"], "planId": plan["id"]}}
        ok(await gql.op("SubscribeCustomer", variables, token=token), "subscribeCustomer")
    first_day = next_weekday(0)
    caller = BookingCaller(actor="system", source=BookingSource.DASHBOARD)
    async with tenant_session(gql, business) as s:
        for i in range(120):
            await create_booking(
                s,
                caller=caller,
                customer_id=row_id(customers[i % 10]["id"]),
                service_id=row_id(services[i % 3]["id"]),
                starts_at=local(first_day + timedelta(days=i // 8), 9 + i % 8),
            )
    return business


async def _count(
    app: Starlette, gql: GraphQLClient, query: str, variables: dict[str, Any], token: str
) -> int:
    with count_queries(app.state.services.db.app_engine) as log:
        result = await gql(query, variables, token=token)
    assert not result.errors, result.body
    return log.count


async def test_a_page_of_100_bookings_costs_what_a_page_of_5_does(
    app: Starlette, gql: GraphQLClient, owner: SignedUp
) -> None:
    from tests.support.graphql import contract_operations

    bookings = contract_operations()["Bookings"]
    small = await _count(app, gql, bookings, {"first": 5}, owner.access_token)
    large = await _count(app, gql, bookings, {"first": 100}, owner.access_token)
    assert large == small, (small, large)
    result = await gql(bookings, {"first": 100}, token=owner.access_token)
    edges = result.data["bookings"]["edges"]
    assert len(edges) == 100
    assert all(e["node"]["customer"]["name"] and e["node"]["service"]["price"]["amount"] for e in edges)


async def test_nested_bookings_and_subscriptions_are_batched_across_customers(
    app: Starlette, gql: GraphQLClient, owner: SignedUp
) -> None:
    two = await _count(app, gql, NESTED, {"first": 2}, owner.access_token)
    ten = await _count(app, gql, NESTED, {"first": 10}, owner.access_token)
    assert ten == two, (two, ten)
    result = await gql(NESTED, {"first": 10}, token=owner.access_token)
    customers = [e["node"] for e in result.data["customers"]["edges"]]
    assert [len(c["bookings"]["edges"]) for c in customers] == [12] * 10
    assert all(len(c["subscriptions"]) == 1 for c in customers)
    assert all(c["subscriptions"][0]["plan"]["services"] == [{"name": "Service 0"}] for c in customers)
