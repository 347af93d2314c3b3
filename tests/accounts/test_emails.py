"""Invitations and password resets by email: the mail is an encrypted ``email.send`` outbox row holding a
single-use, expiring link; the link's token is stored nowhere in clear."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select, text
from starlette.applications import Starlette

from bizzly import clock
from bizzly.db.engine import MaintenanceUse
from bizzly.outbox import OutboxRow
from tenants.credentials import RESET_EMAILS_PER_HOUR
from tests.support.accounts import (
    DEFAULT_PASSWORD,
    SignedUp,
    add_member,
    database_snapshot,
    emails_to,
    last_link_token,
    sign_up,
)
from tests.support.customers import register
from tests.support.graphql import GraphQLClient

NEW_PASSWORD = "Brand-New-Pass-9"


async def outbox_rows(app: Starlette) -> list[OutboxRow]:
    async with app.state.services.db.maintenance_session(MaintenanceUse.TESTS, write=False) as s:
        return list((await s.execute(select(OutboxRow))).scalars())


async def assert_stored_nowhere(app: Starlette, secret: str) -> None:
    """The secret appears in no column of any table (outbox payloads are ciphertext, links are hashed)."""
    snapshot = await database_snapshot(app.state.services.settings)
    for table, rows in snapshot.items():
        for row in rows:
            assert not any(secret in value for value in row), f"{secret!r} stored in clear in {table}"


async def log_in(gql: GraphQLClient, email: str, password: str) -> dict[str, Any]:
    result = await gql.op("LogIn", {"input": {"email": email, "password": password}})
    payload: dict[str, Any] = result.data["logIn"]
    return payload


async def test_an_invitation_is_an_encrypted_email_with_a_single_use_link(
    gql: GraphQLClient, app: Starlette
) -> None:
    owner = await sign_up(gql, slug="north-salon", business_name="North Salon")
    await add_member(gql, owner, role="STAFF", email="sam@example.com", name="Sam")
    services = app.state.services

    [row] = [r for r in await outbox_rows(app) if r.topic == "email.send"]
    assert row.encrypted
    mail = row.data(services.keys)
    assert mail["to"] == "sam@example.com"
    assert mail["subject"] == "You are invited to North Salon on Bizzly"
    link_prefix = f"{services.settings.dashboard_url}/accept-invitation?token="
    assert link_prefix in mail["text"]
    token = await last_link_token(gql, "sam@example.com")
    assert f"{link_prefix}{token}" in mail["text"]
    assert "sam@example.com" not in row.payload  # personal data is encrypted too
    await assert_stored_nowhere(app, token)

    accepted = await gql.op("AcceptInvitation", {"input": {"token": token, "password": NEW_PASSWORD}})
    assert accepted.data["acceptInvitation"]["errors"] == []
    again = await gql.op("AcceptInvitation", {"input": {"token": token, "password": "Other-Pass-123"}})
    assert [(e["field"], e["code"]) for e in again.data["acceptInvitation"]["errors"]] == [
        ("token", "INVALID")
    ]
    assert (await log_in(gql, "sam@example.com", NEW_PASSWORD))["errors"] == []


async def test_an_invitation_expires(gql: GraphQLClient, app: Starlette) -> None:
    owner = await sign_up(gql, slug="north-salon")
    await add_member(gql, owner, role="STAFF", email="sam@example.com")
    token = await last_link_token(gql, "sam@example.com")
    clock.advance(timedelta(hours=app.state.services.settings.invitation_ttl_hours, seconds=1))
    expired = await gql.op("AcceptInvitation", {"input": {"token": token, "password": NEW_PASSWORD}})
    assert [(e["field"], e["code"]) for e in expired.data["acceptInvitation"]["errors"]] == [
        ("token", "EXPIRED")
    ]


async def test_a_withdrawn_invitation_no_longer_works(gql: GraphQLClient) -> None:
    owner = await sign_up(gql, slug="north-salon")
    await add_member(gql, owner, role="STAFF", email="sam@example.com")
    token = await last_link_token(gql, "sam@example.com")
    withdrawn = await gql(
        'mutation { withdrawStaffInvitation(email: "sam@example.com") { ok errors { code } } }',
        token=owner.access_token,
    )
    assert withdrawn.data["withdrawStaffInvitation"] == {"ok": True, "errors": []}
    result = await gql.op("AcceptInvitation", {"input": {"token": token, "password": NEW_PASSWORD}})
    assert [e["code"] for e in result.data["acceptInvitation"]["errors"]] == ["INVALID"]


async def test_a_reset_link_is_mailed_only_to_an_existing_account(gql: GraphQLClient, app: Starlette) -> None:
    owner = await sign_up(gql, slug="north-salon")
    before = await outbox_rows(app)
    unknown = await gql.op("RequestPasswordReset", {"email": "nobody@example.com"})
    assert unknown.data["requestPasswordReset"] == {"ok": True, "errors": []}
    assert len(await outbox_rows(app)) == len(before)

    known = await gql.op("RequestPasswordReset", {"email": owner.email.upper()})
    assert known.data["requestPasswordReset"] == {"ok": True, "errors": []}
    services = app.state.services
    [mail] = await emails_to(services.db, services.keys, owner.email)
    assert mail["subject"] == "Reset your Bizzly password"
    token = await last_link_token(gql, owner.email)
    assert f"{services.settings.dashboard_url}/reset-password?token={token}" in mail["text"]
    rows = await outbox_rows(app)
    assert all(r.encrypted for r in rows if r.topic == "email.send")
    await assert_stored_nowhere(app, token)


async def test_a_reset_sets_the_password_and_ends_every_log_in(gql: GraphQLClient, app: Starlette) -> None:
    owner = await sign_up(gql, slug="north-salon")
    other_session = await log_in(gql, owner.email, owner.password)
    await gql.op("RequestPasswordReset", {"email": owner.email})
    token = await last_link_token(gql, owner.email)

    reset = await gql.op("ResetPassword", {"input": {"token": token, "password": NEW_PASSWORD}})
    assert reset.data["resetPassword"] == {"ok": True, "errors": []}

    for access in (owner.access_token, other_session["accessToken"]):
        assert (await gql.op("Viewer", token=access)).error_codes == ["UNAUTHENTICATED"]
    refreshed = await gql.op("RefreshToken", {"refreshToken": owner.refresh_token})
    assert refreshed.error_codes == ["UNAUTHENTICATED"]
    assert [e["code"] for e in (await log_in(gql, owner.email, owner.password))["errors"]] == [
        "INVALID_CREDENTIALS"
    ]
    assert (await log_in(gql, owner.email, NEW_PASSWORD))["errors"] == []

    # The link worked once.
    again = await gql.op("ResetPassword", {"input": {"token": token, "password": "Third-Pass-123"}})
    assert [(e["field"], e["code"]) for e in again.data["resetPassword"]["errors"]] == [("token", "INVALID")]


async def test_only_the_newest_reset_link_works_and_links_expire(gql: GraphQLClient, app: Starlette) -> None:
    owner = await sign_up(gql, slug="north-salon")
    await gql.op("RequestPasswordReset", {"email": owner.email})
    first = await last_link_token(gql, owner.email)
    await gql.op("RequestPasswordReset", {"email": owner.email})
    second = await last_link_token(gql, owner.email)
    assert first != second
    old = await gql.op("ResetPassword", {"input": {"token": first, "password": NEW_PASSWORD}})
    assert [e["code"] for e in old.data["resetPassword"]["errors"]] == ["INVALID"]

    clock.advance(timedelta(minutes=app.state.services.settings.password_reset_ttl_minutes, seconds=1))
    late = await gql.op("ResetPassword", {"input": {"token": second, "password": NEW_PASSWORD}})
    assert [(e["field"], e["code"]) for e in late.data["resetPassword"]["errors"]] == [("token", "EXPIRED")]
    assert (await log_in(gql, owner.email, owner.password))["errors"] == []


async def test_a_weak_new_password_keeps_the_link_usable(gql: GraphQLClient) -> None:
    owner = await sign_up(gql, slug="north-salon")
    await gql.op("RequestPasswordReset", {"email": owner.email})
    token = await last_link_token(gql, owner.email)
    weak = await gql.op("ResetPassword", {"input": {"token": token, "password": "qwerty12345"}})
    assert [(e["field"], e["code"]) for e in weak.data["resetPassword"]["errors"]] == [
        ("password", "WEAK_PASSWORD")
    ]
    assert (await log_in(gql, owner.email, owner.password))["errors"] == []
    ok = await gql.op("ResetPassword", {"input": {"token": token, "password": NEW_PASSWORD}})
    assert ok.data["resetPassword"]["ok"] is True


async def test_an_unknown_reset_token_is_refused(gql: GraphQLClient) -> None:
    result = await gql.op("ResetPassword", {"input": {"token": "made-up", "password": NEW_PASSWORD}})
    assert [(e["field"], e["code"]) for e in result.data["resetPassword"]["errors"]] == [("token", "INVALID")]


async def test_an_invitation_link_is_not_a_reset_link(gql: GraphQLClient) -> None:
    owner = await sign_up(gql, slug="north-salon")
    await add_member(gql, owner, role="STAFF", email="sam@example.com")
    token = await last_link_token(gql, "sam@example.com")
    result = await gql.op("ResetPassword", {"input": {"token": token, "password": NEW_PASSWORD}})
    assert [e["code"] for e in result.data["resetPassword"]["errors"]] == ["INVALID"]


async def test_with_a_tenant_slug_the_reset_is_for_that_businesss_customer(
    gql: GraphQLClient, app: Starlette
) -> None:
    owner: SignedUp = await sign_up(gql, slug="north-salon")
    await register(gql, "north-salon", name="Cleo", email="cleo@example.com")
    # The owner's email names no customer here: nothing is sent, and the answer is the same.
    for email in (owner.email, "cleo@example.com"):
        result = await gql.op("RequestPasswordReset", {"email": email, "tenantSlug": "north-salon"})
        assert result.data["requestPasswordReset"] == {"ok": True, "errors": []}
    services = app.state.services
    assert await emails_to(services.db, services.keys, owner.email) == []
    token = await last_link_token(gql, "cleo@example.com")
    await assert_stored_nowhere(app, token)

    reset = await gql.op("ResetPassword", {"input": {"token": token, "password": NEW_PASSWORD}})
    assert reset.data["resetPassword"] == {"ok": True, "errors": []}
    logged = await gql.op(
        "CustomerLogIn",
        {"input": {"tenantSlug": "north-salon", "email": "cleo@example.com", "password": NEW_PASSWORD}},
    )
    assert logged.data["customerLogIn"]["errors"] == []
    # The staff password is untouched.
    assert (await log_in(gql, owner.email, DEFAULT_PASSWORD))["errors"] == []


async def test_the_outbox_payload_column_never_holds_a_link(gql: GraphQLClient, app: Starlette) -> None:
    owner = await sign_up(gql, slug="north-salon")
    await add_member(gql, owner, role="STAFF", email="sam@example.com")
    await gql.op("RequestPasswordReset", {"email": owner.email})
    async with app.state.services.db.maintenance_session(MaintenanceUse.TESTS, write=False) as s:
        payloads = (await s.execute(text("SELECT payload FROM outbox"))).scalars().all()
    assert len(payloads) == 2
    assert not any("token=" in p or "http" in p for p in payloads)


async def test_reset_emails_to_one_account_are_capped(gql: GraphQLClient, app: Starlette) -> None:
    owner = await sign_up(gql, slug="north-salon")
    services = app.state.services
    for _ in range(RESET_EMAILS_PER_HOUR + 2):
        result = await gql.op("RequestPasswordReset", {"email": owner.email})
        assert result.data["requestPasswordReset"] == {"ok": True, "errors": []}
    mails = await emails_to(services.db, services.keys, owner.email)
    assert len(mails) == RESET_EMAILS_PER_HOUR
    # The last link mailed still works.
    token = await last_link_token(gql, owner.email)
    clock.advance(timedelta(minutes=59))
    await gql.op("RequestPasswordReset", {"email": owner.email})
    assert len(await emails_to(services.db, services.keys, owner.email)) == RESET_EMAILS_PER_HOUR
    ok = await gql.op("ResetPassword", {"input": {"token": token, "password": NEW_PASSWORD}})
    assert ok.data["resetPassword"]["ok"] is True

    clock.advance(timedelta(minutes=2))  # an hour after the first mails
    await gql.op("RequestPasswordReset", {"email": owner.email})
    assert len(await emails_to(services.db, services.keys, owner.email)) == RESET_EMAILS_PER_HOUR + 1
