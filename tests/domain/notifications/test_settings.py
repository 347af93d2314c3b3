"""Notification settings: defaults, a partial update, who may read and change them, and bad input that
changes nothing."""

from __future__ import annotations

from typing import Any

from tests.support.accounts import sign_up, staff_token
from tests.support.graphql import GraphQLClient

FIELDS = (
    "bookingConfirmation",
    "reminderHoursBefore",
    "cancellation",
    "ownerNewBooking",
    "ownerNewLead",
    "ownerIntegrationError",
    "ownerEmail",
)


async def read(gql: GraphQLClient, token: str) -> dict[str, Any]:
    result = await gql.op("NotificationSettings", token=token)
    assert not result.errors, result.body
    value: dict[str, Any] = result.data["notificationSettings"]
    return value


async def update(gql: GraphQLClient, token: str, **values: Any) -> dict[str, Any]:
    result = await gql.op("UpdateNotificationSettings", {"input": values}, token=token)
    assert not result.errors, result.body
    payload: dict[str, Any] = result.data["updateNotificationSettings"]
    return payload


async def test_defaults_then_a_partial_update_keeps_the_rest(gql: GraphQLClient) -> None:
    owner = await sign_up(gql, slug="notify-settings")
    assert await read(gql, owner.access_token) == {
        "bookingConfirmation": True,
        "reminderHoursBefore": 24,
        "cancellation": True,
        "ownerNewBooking": True,
        "ownerNewLead": True,
        "ownerIntegrationError": True,
        "ownerEmail": None,
    }
    payload = await update(
        gql,
        owner.access_token,
        reminderHoursBefore=2,
        ownerNewLead=False,
        ownerEmail=" Desk@Shop.example.com ",
    )
    assert payload["errors"] == []
    assert payload["settings"]["reminderHoursBefore"] == 2
    assert payload["settings"]["ownerEmail"] == "Desk@shop.example.com"
    after = await read(gql, owner.access_token)
    assert after == payload["settings"]
    assert after["bookingConfirmation"] is True
    assert after["ownerNewLead"] is False
    # Omitted fields stay; ownerEmail null goes back to the owner's own address; 0 turns reminders off.
    payload = await update(gql, owner.access_token, ownerEmail=None, reminderHoursBefore=0)
    assert payload["settings"]["ownerEmail"] is None
    assert payload["settings"]["reminderHoursBefore"] == 0
    assert payload["settings"]["ownerNewLead"] is False


async def test_bad_input_is_a_typed_error_and_saves_nothing(gql: GraphQLClient) -> None:
    owner = await sign_up(gql, slug="notify-bad")
    before = await read(gql, owner.access_token)
    for hours in (-1, 169, 100000):
        payload = await update(gql, owner.access_token, reminderHoursBefore=hours, cancellation=False)
        assert payload["settings"] is None
        assert payload["errors"] == [
            {
                "field": "reminderHoursBefore",
                "message": "Send reminders between 1 and 168 hours before, or 0 for none.",
                "code": "INVALID",
            }
        ]
    payload = await update(gql, owner.access_token, ownerEmail="not an email", ownerNewBooking=False)
    assert payload["settings"] is None
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [("ownerEmail", "INVALID")]
    # Both at once: both reported, neither saved.
    payload = await update(gql, owner.access_token, ownerEmail="@", reminderHoursBefore=500)
    assert {(e["field"], e["code"]) for e in payload["errors"]} == {
        ("reminderHoursBefore", "INVALID"),
        ("ownerEmail", "INVALID"),
    }
    payload = await update(gql, owner.access_token, bookingConfirmation=None)
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [("bookingConfirmation", "REQUIRED")]
    assert await read(gql, owner.access_token) == before


async def test_staff_read_but_cannot_change_settings(gql: GraphQLClient) -> None:
    owner = await sign_up(gql, slug="notify-roles")
    staff = await staff_token(gql, owner, role="STAFF")
    assert (await read(gql, staff))["reminderHoursBefore"] == 24
    result = await gql.op("UpdateNotificationSettings", {"input": {"reminderHoursBefore": 1}}, token=staff)
    assert result.errors
    assert result.errors[0]["extensions"]["code"] == "FORBIDDEN"
    admin = await staff_token(gql, owner, role="ADMIN")
    assert (await update(gql, admin, reminderHoursBefore=1))["settings"]["reminderHoursBefore"] == 1
    assert (await read(gql, owner.access_token))["reminderHoursBefore"] == 1
    anonymous = await gql.op("NotificationSettings")
    assert anonymous.errors
    assert anonymous.errors[0]["extensions"]["code"] == "UNAUTHENTICATED"
