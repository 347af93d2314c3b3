"""A website contact form sends GA's ``generate_lead`` event with the visitor's GA client id (ids only)."""

from __future__ import annotations

from bizzly.settings import Settings
from tests.fakes.ga import GaFake
from tests.support.accounts import sign_up
from tests.support.graphql import GraphQLClient
from tests.support.outbox import drain_outbox

SECRET = "mp-secret-Zq81xKp0"


async def test_a_contact_form_sends_generate_lead_with_the_visitors_client_id(
    gql: GraphQLClient, ga: GaFake, settings: Settings
) -> None:
    owner = await sign_up(gql, slug="glow")
    result = await gql.op(
        "ConnectGoogleAnalytics",
        {"input": {"measurementId": "G-ABC123XYZ9", "apiSecret": SECRET}},
        token=owner.access_token,
    )
    assert result.data["connectGoogleAnalytics"]["errors"] == []
    sent = await gql.op(
        "SubmitContactForm",
        {
            "input": {
                "tenantSlug": "glow",
                "email": "vera@example.com",
                "phone": "07700 900555",
                "analyticsClientId": "123456.7890",
            }
        },
    )
    assert sent.data["submitContactForm"]["ok"] is True
    await drain_outbox(settings)
    events = [e for e in ga.events() if e["name"] == "generate_lead"]
    assert [e["client_id"] for e in events] == ["123456.7890"]
    body = str([c.body for c in ga.collected])
    assert "vera" not in body
    assert "7700" not in body
