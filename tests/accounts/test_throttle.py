"""Log-in throttling an attacker cannot turn on the victim (issue 18): failures lock out the client that
made them, not the account; guessing from many addresses only slows the account down. Staff and website
customers go through the same flow (``tenants/credentials.py``)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from bizzly.settings import Settings
from tenants.credentials import RESET_EMAILS_PER_HOUR
from tests.conftest import make_settings
from tests.support.accounts import DEFAULT_PASSWORD, SignedUp, emails_to, sign_up
from tests.support.customers import register
from tests.support.graphql import GraphQLClient

MAX_FAILURES = 5
SLOW_AFTER = 12
DELAY = 0.4
WRONG = "Wrong-Password-1"


@pytest.fixture
def settings(database_settings: dict[str, str]) -> Settings:
    return make_settings(
        database_settings,
        login_max_failures=MAX_FAILURES,
        login_account_slow_after=SLOW_AFTER,
        login_account_delay_seconds=DELAY,
    )


@asynccontextmanager
async def from_address(app: Starlette, address: str) -> AsyncIterator[GraphQLClient]:
    """A GraphQL client whose requests come from ``address``."""
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield GraphQLClient(http)


async def staff_log_in(gql: GraphQLClient, email: str, password: str, slug: str) -> dict[str, Any]:
    result = await gql.op("LogIn", {"input": {"email": email, "password": password}})
    payload: dict[str, Any] = result.data["logIn"]
    return payload


async def customer_log_in(gql: GraphQLClient, email: str, password: str, slug: str) -> dict[str, Any]:
    result = await gql.op(
        "CustomerLogIn", {"input": {"tenantSlug": slug, "email": email, "password": password}}
    )
    payload: dict[str, Any] = result.data["customerLogIn"]
    return payload


@pytest.fixture(params=["staff", "customer"])
async def carol(request: pytest.FixtureRequest, gql: GraphQLClient) -> tuple[Any, str, str]:
    """Carol's log-in (a staff owner, or a customer of a business), her email and the business slug."""
    if request.param == "staff":
        owner: SignedUp = await sign_up(gql, slug="carol-salon", email="carol@example.com")
        return staff_log_in, owner.email, owner.slug
    business = await sign_up(gql, slug="carol-gym", email="owner@gym.example.com")
    await register(gql, business.slug, name="Carol", email="carol@example.com")
    return customer_log_in, "carol@example.com", business.slug


def codes(payload: dict[str, Any]) -> list[str]:
    return [e["code"] for e in payload["errors"]]


async def test_carol_logs_in_during_an_attack_from_rotating_addresses(
    app: Starlette, carol: tuple[Any, str, str]
) -> None:
    log_in, email, slug = carol
    # Mallory guesses from 20 addresses: four times what locked Carol out before, past the slow-down too.
    for n in range(20):
        async with from_address(app, f"203.0.113.{n + 1}") as mallory:
            assert codes(await log_in(mallory, email, WRONG, slug)) == ["INVALID_CREDENTIALS"]
    async with from_address(app, "198.51.100.7") as home:
        started = time.monotonic()
        payload = await log_in(home, email, DEFAULT_PASSWORD, slug)
        waited = time.monotonic() - started
    assert payload["errors"] == []
    assert payload["accessToken"]
    assert waited >= DELAY  # the account under attack is slowed down, not locked


async def test_the_client_that_failed_is_refused_and_only_it(
    app: Starlette, carol: tuple[Any, str, str]
) -> None:
    log_in, email, slug = carol
    async with from_address(app, "203.0.113.9") as mallory:
        for _ in range(MAX_FAILURES):
            assert codes(await log_in(mallory, email, WRONG, slug)) == ["INVALID_CREDENTIALS"]
        # Even the right password is refused from there: the guesser cannot keep guessing.
        assert codes(await log_in(mallory, email, DEFAULT_PASSWORD, slug)) == ["LIMIT_REACHED"]
    async with from_address(app, "198.51.100.7") as home:
        started = time.monotonic()
        assert (await log_in(home, email, DEFAULT_PASSWORD, slug))["errors"] == []
        assert time.monotonic() - started < DELAY  # under the account-wide threshold: no delay


async def test_customer_reset_emails_are_capped_per_hour(gql: GraphQLClient, app: Starlette) -> None:
    """The customers' reset flow is the staff one: at most three mails an hour to one account."""
    business = await sign_up(gql, slug="reset-gym")
    await register(gql, business.slug, name="Dana", email="dana@example.com")
    for _ in range(RESET_EMAILS_PER_HOUR + 3):
        result = await gql.op(
            "RequestPasswordReset", {"email": "dana@example.com", "tenantSlug": business.slug}
        )
        assert result.data["requestPasswordReset"] == {"ok": True, "errors": []}
    services = app.state.services
    assert len(await emails_to(services.db, services.keys, "dana@example.com")) == RESET_EMAILS_PER_HOUR
