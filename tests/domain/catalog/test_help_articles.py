"""Help articles: written by staff, public when published, found by relevance (the database's full-text
index on either dialect) and despite a typo in a short query."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.accounts import SignedUp, sign_up
from tests.support.graphql import GraphQLClient
from tests.support.scheduling import ok

ARTICLES = [
    (
        "WhatsApp Authentication & Security",
        "Integrations",
        "Customers verify with a 6-digit verification code sent on WhatsApp. Codes expire after ten minutes.",
    ),
    (
        "Cancellation policy",
        "Bookings",
        "You can cancel a booking up to 24 hours before it starts. Later cancellations are charged.",
    ),
    (
        "Rescheduling a booking",
        "Bookings",
        "Move your booking to another free time from your account. A cancellation is not needed.",
    ),
    (
        "Connecting HubSpot CRM",
        "Integrations",
        "Sync your customers with HubSpot contacts both ways. Forms land in HubSpot too.",
    ),
    ("Parking", "Visiting", "Park behind the studio; the car park is free after six."),
]


@pytest.fixture
async def owner(gql: GraphQLClient) -> SignedUp:
    business = await sign_up(gql, slug="help-centre", email="owner@help.example.com")
    for title, category, body in ARTICLES:
        variables = {"input": {"title": title, "category": category, "body": body, "level": "Beginner"}}
        ok(await gql.op("CreateHelpArticle", variables, token=business.access_token), "createHelpArticle")
    return business


async def search(gql: GraphQLClient, owner: SignedUp, text: str | None, **kw: Any) -> list[str]:
    result = await gql.op("HelpArticles", {"search": text}, **({"tenant": owner.slug} | kw))
    assert not result.errors, result.body
    return [e["node"]["title"] for e in result.data["helpArticles"]["edges"]]


async def test_search_ranks_by_relevance(gql: GraphQLClient, owner: SignedUp) -> None:
    # A match in the title outranks one in the body.
    found = await search(gql, owner, "cancellation")
    assert found == ["Cancellation policy", "Rescheduling a booking"]
    assert (await search(gql, owner, "booking"))[0] == "Rescheduling a booking"
    assert await search(gql, owner, "hubspot") == ["Connecting HubSpot CRM"]
    # Prefixes count: "verif" finds "verify"/"verification".
    assert await search(gql, owner, "verif") == ["WhatsApp Authentication & Security"]
    # Every word matching comes before some words matching.
    assert (await search(gql, owner, "whatsapp code"))[0] == "WhatsApp Authentication & Security"
    assert await search(gql, owner, "zebra") == []
    # Operators and quotes are plain text, never query syntax.
    assert await search(gql, owner, 'park" OR * NEAR(') == ["Parking"]


async def test_short_queries_tolerate_typos(gql: GraphQLClient, owner: SignedUp) -> None:
    assert (await search(gql, owner, "cancelation"))[0] == "Cancellation policy"
    assert (await search(gql, owner, "reshedule"))[0] == "Rescheduling a booking"
    assert (await search(gql, owner, "hubspto"))[0] == "Connecting HubSpot CRM"
    assert (await search(gql, owner, "verfication code"))[0] == "WhatsApp Authentication & Security"
    # Too far from any word is no match.
    assert await search(gql, owner, "xylophone") == []


async def test_drafts_are_for_staff_and_edits_are_searchable_at_once(
    gql: GraphQLClient, owner: SignedUp
) -> None:
    token = owner.access_token
    draft = ok(
        await gql.op(
            "CreateHelpArticle",
            {
                "input": {
                    "title": "Gift vouchers",
                    "category": "Buying",
                    "body": "Coming soon.",
                    "published": False,
                }
            },
            token=token,
        ),
        "createHelpArticle",
    )["article"]
    assert await search(gql, owner, "voucher") == []
    assert await search(gql, owner, "voucher", token=token, tenant=None) == ["Gift vouchers"]
    anonymous = await gql("query($id: ID!) { node(id: $id) { id } }", {"id": draft["id"]})
    assert anonymous.error_codes == ["UNAUTHENTICATED"]

    published = await gql.op(
        "UpdateHelpArticle",
        {"input": {"id": draft["id"], "published": True, "body": "Buy a voucher for a friend."}},
        token=token,
    )
    assert ok(published, "updateHelpArticle")["article"]["title"] == "Gift vouchers"
    assert await search(gql, owner, "friend") == ["Gift vouchers"]
    assert await search(gql, owner, "soon") == []

    deleted = await gql.op("DeleteHelpArticle", {"id": draft["id"]}, token=token)
    assert deleted.data["deleteHelpArticle"] == {"ok": True, "errors": []}
    assert await search(gql, owner, "friend") == []
    again = await gql.op("DeleteHelpArticle", {"id": draft["id"]}, token=token)
    assert [e["code"] for e in again.data["deleteHelpArticle"]["errors"]] == ["NOT_FOUND"]


async def test_listing_pages_and_other_businesses_stay_out(gql: GraphQLClient, owner: SignedUp) -> None:
    everything = await search(gql, owner, None)
    assert everything == [
        "Cancellation policy",
        "Rescheduling a booking",
        "Connecting HubSpot CRM",
        "WhatsApp Authentication & Security",
        "Parking",
    ]  # by category, then title
    query = (
        "query($s: String, $after: String) { helpArticles(search: $s, first: 1, after: $after) "
        "{ pageInfo { hasNextPage endCursor } edges { node { title } } } }"
    )
    first = (await gql(query, {"s": "booking"}, tenant=owner.slug)).data["helpArticles"]
    second = (
        await gql(query, {"s": "booking", "after": first["pageInfo"]["endCursor"]}, tenant=owner.slug)
    ).data["helpArticles"]
    assert first["pageInfo"]["hasNextPage"] is True
    assert [e["node"]["title"] for e in first["edges"] + second["edges"]] == [
        "Rescheduling a booking",
        "Cancellation policy",
    ]
    assert second["pageInfo"]["hasNextPage"] is False

    other = await sign_up(gql, slug="other-help")
    assert await search(gql, other, "cancellation") == []
    assert await search(gql, other, None) == []


async def test_article_fields_and_reading_time(gql: GraphQLClient, owner: SignedUp) -> None:
    body = " ".join(["word"] * 450)
    created = ok(
        await gql.op(
            "CreateHelpArticle",
            {"input": {"title": "Long read", "category": "Guides", "body": body}},
            token=owner.access_token,
        ),
        "createHelpArticle",
    )["article"]
    detail = await gql(
        "query($id: ID!) { node(id: $id) { ... on HelpArticle { readMinutes level published } } }",
        {"id": created["id"]},
        token=owner.access_token,
    )
    assert detail.data["node"] == {"readMinutes": 3, "level": None, "published": True}
    empty = await gql.op(
        "CreateHelpArticle", {"input": {"title": "", "category": "", "body": " "}}, token=owner.access_token
    )
    errors = empty.data["createHelpArticle"]["errors"]
    assert [(e["field"], e["code"]) for e in errors] == [
        ("title", "REQUIRED"),
        ("body", "REQUIRED"),
        ("category", "REQUIRED"),
    ]
