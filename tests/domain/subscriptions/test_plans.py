"""Plans: created and edited by owners and admins, with the covered services, and bad input refused."""

from __future__ import annotations

from typing import Any

import pytest

from bizzly.settings import Settings
from tests.support.accounts import SignedUp, database_snapshot, sign_up, snapshot_changes, staff_token
from tests.support.graphql import GraphQLClient
from tests.support.scheduling import create_service, ok

UPDATE = """
mutation($input: UpdatePlanInput!) {
  updatePlan(input: $input) {
    plan { name quota period coversAllServices active price { amount currency } services { name } }
    errors { field code }
  }
}
"""


@pytest.fixture
async def owner(gql: GraphQLClient) -> SignedUp:
    return await sign_up(gql, slug="plan-studio")


def _input(**change: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "name": "Monthly four",
        "quota": 4,
        "period": "MONTH",
        "price": {"amount": 8000, "currency": "GBP"},
    }
    values.update(change)
    return {"input": values}


async def test_plans_cover_chosen_services_or_all_of_them(gql: GraphQLClient, owner: SignedUp) -> None:
    token = owner.access_token
    cut = await create_service(gql, token, name="Cut")
    colour = await create_service(gql, token, name="Colour")
    chosen = ok(await gql.op("CreatePlan", _input(serviceIds=[cut["id"]]), token=token), "createPlan")["plan"]
    assert chosen == {
        "id": chosen["id"],
        "name": "Monthly four",
        "quota": 4,
        "period": "MONTH",
        "price": {"amount": 8000, "currency": "GBP"},
    }
    ok(await gql.op("CreatePlan", _input(name="All in", period="WEEK"), token=token), "createPlan")

    plans = (await gql.op("Plans", token=token)).data["plans"]["edges"]
    assert [(p["node"]["name"], [s["name"] for s in p["node"]["services"]]) for p in plans] == [
        ("All in", ["Colour", "Cut"]),
        ("Monthly four", ["Cut"]),
    ]

    edited = await gql(
        UPDATE,
        {"input": {"id": chosen["id"], "quota": 6, "serviceIds": [colour["id"], cut["id"]]}},
        token=token,
    )
    assert edited.data["updatePlan"]["errors"] == []
    plan = edited.data["updatePlan"]["plan"]
    assert (plan["quota"], plan["name"], plan["coversAllServices"]) == (6, "Monthly four", False)
    assert [s["name"] for s in plan["services"]] == ["Colour", "Cut"]
    to_all = await gql(
        UPDATE, {"input": {"id": chosen["id"], "serviceIds": None, "active": False}}, token=token
    )
    assert to_all.data["updatePlan"]["plan"]["coversAllServices"] is True
    assert to_all.data["updatePlan"]["plan"]["active"] is False


async def test_bad_plan_input_names_the_field_and_writes_nothing(
    gql: GraphQLClient, owner: SignedUp, settings: Settings
) -> None:
    token = owner.access_token
    other = await sign_up(gql, slug="other-plans")
    foreign = await create_service(gql, other.access_token, name="Theirs")
    before = await database_snapshot(settings)
    cases = [
        (_input(price={"amount": -1, "currency": "GBP"}), [("price.amount", "INVALID")]),
        (_input(price={"amount": 100, "currency": "QQQ"}), [("price.currency", "INVALID")]),
        (_input(quota=0), [("quota", "INVALID")]),
        (_input(name=" "), [("name", "REQUIRED")]),
        (_input(serviceIds=[]), [("serviceIds", "INVALID")]),
        (_input(serviceIds=[foreign["id"]]), [("serviceIds", "NOT_FOUND")]),
    ]
    for variables, expected in cases:
        payload = (await gql.op("CreatePlan", variables, token=token)).data["createPlan"]
        assert payload["plan"] is None
        assert [(e["field"], e["code"]) for e in payload["errors"]] == expected, variables
    assert snapshot_changes(before, await database_snapshot(settings)) == {}

    staff = await staff_token(gql, owner, "STAFF")
    assert (await gql.op("CreatePlan", _input(), token=staff)).error_codes == ["FORBIDDEN"]
    assert (await gql.op("Plans", token=staff)).error_codes == []
