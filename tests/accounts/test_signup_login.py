"""Sign-up, log-in (one or several businesses, throttling), refresh-token rotation and log-out."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from starlette.applications import Starlette

from bizzly import clock
from bizzly.db.engine import MaintenanceUse
from bizzly.settings import Settings
from domain.privacy.audit import AuditEntry
from tenants import throttle
from tenants.models import SubjectKind
from tests.conftest import make_settings
from tests.support.accounts import (
    DEFAULT_PASSWORD,
    accept_invitation,
    add_member,
    sign_up,
    tenant_uuid,
)
from tests.support.customers import register, row_id
from tests.support.graphql import GraphQLClient

MAX_FAILURES = 3


@pytest.fixture
def settings(database_settings: dict[str, str]) -> Settings:
    return make_settings(database_settings, login_max_failures=MAX_FAILURES, login_window_minutes=15)


async def log_in(
    gql: GraphQLClient, email: str, password: str, tenant_slug: str | None = None, **kw: Any
) -> dict[str, Any]:
    result = await gql.op(
        "LogIn", {"input": {"email": email, "password": password, "tenantSlug": tenant_slug}}, **kw
    )
    payload: dict[str, Any] = result.data["logIn"]
    return payload


async def viewer(gql: GraphQLClient, token: str) -> dict[str, Any] | None:
    result = await gql.op("Viewer", token=token)
    assert not result.errors, result.errors
    found: dict[str, Any] | None = result.data["viewer"]
    return found


# --- sign-up -----------------------------------------------------------------------------------------


async def test_sign_up_creates_the_business_and_logs_its_owner_in(gql: GraphQLClient, app: Starlette) -> None:
    result = await gql.op(
        "SignUp",
        {
            "input": {
                "businessName": "Ada's Cuts",
                "slug": "Adas-Cuts",
                "timezone": "Europe/Paris",
                "defaultRegion": "fr",
                "name": "Ada Lovelace",
                "email": "Ada@Example.com",
                "password": DEFAULT_PASSWORD,
            }
        },
    )
    payload = result.data["signUp"]
    assert payload["errors"] == []
    assert payload["tenant"]["slug"] == "adas-cuts"
    assert payload["tenant"]["name"] == "Ada's Cuts"
    assert payload["tenant"]["timezone"] == "Europe/Paris"
    assert payload["tenant"]["defaultRegion"] == "FR"
    assert payload["user"]["email"] == "ada@example.com"
    assert payload["user"]["name"] == "Ada Lovelace"

    me = await viewer(gql, payload["accessToken"])
    assert me is not None
    assert me["role"] == "OWNER"
    assert me["tenant"] == payload["tenant"]
    assert me["user"] == payload["user"]

    services = app.state.services
    async with services.db.maintenance_session(MaintenanceUse.TESTS, write=False) as s:
        entries = (await s.execute(select(AuditEntry))).scalars().all()
    assert [(e.action, e.actor, e.tenant_id) for e in entries] == [
        ("tenant.created", "staff:ada@example.com", await tenant_uuid(gql, "adas-cuts"))
    ]


async def test_the_slug_comes_from_the_business_name_when_omitted(gql: GraphQLClient) -> None:
    slugs = []
    for n in range(2):
        result = await gql.op(
            "SignUp",
            {
                "input": {
                    "businessName": "Café Olé & Co",
                    "timezone": "Europe/Madrid",
                    "defaultRegion": "ES",
                    "name": "Olé",
                    "email": f"owner{n}@example.com",
                    "password": DEFAULT_PASSWORD,
                }
            },
        )
        assert result.data["signUp"]["errors"] == []
        slugs.append(result.data["signUp"]["tenant"]["slug"])
    assert slugs == ["cafe-ole-co", "cafe-ole-co-2"]


# --- log-in ---------------------------------------------------------------------------------------------


async def test_log_in_with_the_right_password(gql: GraphQLClient, app: Starlette) -> None:
    owner = await sign_up(gql, slug="north-salon")
    payload = await log_in(gql, owner.email.upper(), owner.password)
    assert payload["errors"] == []
    assert payload["tenant"] == {"id": owner.tenant_id, "slug": "north-salon"}
    me = await viewer(gql, str(payload["accessToken"]))
    assert me is not None
    assert me["role"] == "OWNER"
    async with app.state.services.db.tenant_session(await tenant_uuid(gql, "north-salon"), write=False) as s:
        actions = [(e.action, e.actor) for e in (await s.execute(select(AuditEntry))).scalars()]
    assert ("staff.logged_in", f"staff:{owner.email}") in actions


async def test_a_wrong_password_and_an_unknown_email_get_the_same_answer(gql: GraphQLClient) -> None:
    owner = await sign_up(gql, slug="north-salon")
    wrong_password = await log_in(gql, owner.email, "Not-The-Password-1")
    unknown_email = await log_in(gql, "nobody@example.com", owner.password)
    assert wrong_password == unknown_email
    assert wrong_password["accessToken"] is None
    assert wrong_password["errors"] == [
        {"field": None, "message": "The email or password is not right.", "code": "INVALID_CREDENTIALS"}
    ]


async def test_an_invited_person_cannot_log_in_before_choosing_a_password(gql: GraphQLClient) -> None:
    owner = await sign_up(gql, slug="north-salon")
    await add_member(gql, owner, role="STAFF", email="new@example.com")
    payload = await log_in(gql, "new@example.com", "")
    assert [e["code"] for e in payload["errors"]] == ["INVALID_CREDENTIALS"]


async def test_a_member_of_several_businesses_must_name_one(gql: GraphQLClient) -> None:
    first = await sign_up(gql, slug="first-shop", email="sam@example.com")
    second = await sign_up(gql, slug="second-shop")
    # Sam already has a password: she accepts the second shop's invitation with it.
    await add_member(gql, second, role="ADMIN", email="sam@example.com")
    await accept_invitation(gql, email="sam@example.com", password=first.password)

    payload = await log_in(gql, "sam@example.com", first.password)
    assert payload["accessToken"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("TENANT_REQUIRED", "tenantSlug")]

    into_second = await log_in(gql, "sam@example.com", first.password, "second-shop")
    assert into_second["errors"] == []
    me = await viewer(gql, str(into_second["accessToken"]))
    assert me is not None
    assert (me["role"], me["tenant"]["slug"]) == ("ADMIN", "second-shop")

    # The header names the business as well as tenantSlug does.
    by_header = await log_in(gql, "sam@example.com", first.password, tenant="first-shop")
    assert by_header["tenant"] == {"id": first.tenant_id, "slug": "first-shop"}


async def test_a_business_the_user_is_not_in_is_refused_like_a_wrong_password(gql: GraphQLClient) -> None:
    owner = await sign_up(gql, slug="north-salon")
    await sign_up(gql, slug="other-salon")
    payload = await log_in(gql, owner.email, owner.password, "other-salon")
    assert [e["code"] for e in payload["errors"]] == ["INVALID_CREDENTIALS"]


async def test_the_header_and_tenant_slug_must_agree(gql: GraphQLClient) -> None:
    owner = await sign_up(gql, slug="north-salon")
    result = await gql.op(
        "LogIn",
        {"input": {"email": owner.email, "password": owner.password, "tenantSlug": "north-salon"}},
        tenant="south-salon",
    )
    assert result.error_codes == ["BAD_USER_INPUT"]


async def test_failed_log_ins_are_throttled_per_email(gql: GraphQLClient) -> None:
    owner = await sign_up(gql, slug="north-salon")
    for _ in range(MAX_FAILURES):
        assert [e["code"] for e in (await log_in(gql, owner.email, "Wrong-Password-1"))["errors"]] == [
            "INVALID_CREDENTIALS"
        ]
    # Now even the right password is refused, with a time to come back.
    limited = await log_in(gql, owner.email, owner.password)
    assert limited["accessToken"] is None
    [error] = limited["errors"]
    assert error["code"] == "LIMIT_REACHED"
    assert "Try again in 15 minutes" in error["message"]

    # Another person is not locked out by it.
    other = await sign_up(gql, slug="other-salon")
    assert (await log_in(gql, other.email, other.password))["errors"] == []

    clock.advance(timedelta(minutes=10))
    [later] = (await log_in(gql, owner.email, owner.password))["errors"]
    assert "Try again in 5 minutes" in later["message"]

    clock.advance(timedelta(minutes=5, seconds=1))  # the window slid past the failures
    assert (await log_in(gql, owner.email, owner.password))["errors"] == []


async def test_a_successful_log_in_clears_the_email_count(gql: GraphQLClient) -> None:
    owner = await sign_up(gql, slug="north-salon")
    for _ in range(2):
        for _ in range(MAX_FAILURES - 1):
            await log_in(gql, owner.email, "Wrong-Password-1")
        assert (await log_in(gql, owner.email, owner.password))["errors"] == []


async def test_failed_log_ins_are_throttled_per_client_address(gql: GraphQLClient) -> None:
    owner = await sign_up(gql, slug="north-salon")
    limit = MAX_FAILURES * throttle.IP_FAILURE_FACTOR
    # Many emails, one address (each email stays under its own limit).
    for n in range(limit):
        payload = await log_in(gql, f"guess{n // (MAX_FAILURES - 1)}@example.com", "Wrong-Password-1")
        assert [e["code"] for e in payload["errors"]] == ["INVALID_CREDENTIALS"]
    limited = await log_in(gql, owner.email, owner.password)
    assert [e["code"] for e in limited["errors"]] == ["LIMIT_REACHED"]


# --- refresh tokens and log-out ------------------------------------------------------------------------


async def refresh(
    gql: GraphQLClient, refresh_token: str, **kw: object
) -> tuple[dict[str, object] | None, list[str]]:
    result = await gql.op("RefreshToken", {"refreshToken": refresh_token}, **kw)
    data = result.body.get("data") or {}
    return data.get("refreshToken"), result.error_codes


async def test_a_refresh_token_gives_a_new_pair_once(gql: GraphQLClient) -> None:
    owner = await sign_up(gql, slug="north-salon")
    pair, codes = await refresh(gql, owner.refresh_token)
    assert codes == []
    assert pair is not None
    assert pair["errors"] == []
    assert pair["refreshToken"] != owner.refresh_token
    me = await viewer(gql, str(pair["accessToken"]))
    assert me is not None
    assert me["role"] == "OWNER"
    # The new refresh token rotates again.
    again, codes = await refresh(gql, str(pair["refreshToken"]))
    assert codes == []
    assert again is not None


async def test_refresh_reuse_revokes_the_whole_family(gql: GraphQLClient) -> None:
    owner = await sign_up(gql, slug="north-salon")
    pair, _ = await refresh(gql, owner.refresh_token)
    assert pair is not None
    newer_access, newer_refresh = str(pair["accessToken"]), str(pair["refreshToken"])

    # The first refresh token is replayed (stolen?): refused, and the log-in is ended.
    replay, codes = await refresh(gql, owner.refresh_token)
    assert codes == ["UNAUTHENTICATED"]
    # The newer refresh token and its access token stop working too.
    _, codes = await refresh(gql, newer_refresh)
    assert codes == ["UNAUTHENTICATED"]
    assert (await gql.op("Viewer", token=newer_access)).error_codes == ["UNAUTHENTICATED"]
    assert (await gql.op("Viewer", token=owner.access_token)).error_codes == ["UNAUTHENTICATED"]

    # Other log-ins of the same person are not affected.
    other = await log_in(gql, owner.email, owner.password)
    assert await viewer(gql, str(other["accessToken"])) is not None


async def test_an_expired_or_unknown_refresh_token_is_refused(gql: GraphQLClient, settings: Settings) -> None:
    owner = await sign_up(gql, slug="north-salon")
    _, codes = await refresh(gql, "not-a-refresh-token")
    assert codes == ["UNAUTHENTICATED"]
    clock.advance(timedelta(days=settings.refresh_token_ttl_days, seconds=1))
    _, codes = await refresh(gql, owner.refresh_token)
    assert codes == ["UNAUTHENTICATED"]


async def test_a_stale_access_token_sent_along_does_not_block_a_refresh(
    gql: GraphQLClient, settings: Settings
) -> None:
    owner = await sign_up(gql, slug="north-salon")
    clock.advance(timedelta(seconds=settings.access_token_ttl_seconds + 1))
    assert (await gql.op("Viewer", token=owner.access_token)).error_codes == ["UNAUTHENTICATED"]
    pair, codes = await refresh(gql, owner.refresh_token, token=owner.access_token)
    assert codes == []
    assert pair is not None
    assert await viewer(gql, str(pair["accessToken"])) is not None


async def test_log_out_ends_the_log_in(gql: GraphQLClient) -> None:
    owner = await sign_up(gql, slug="north-salon")
    second = await log_in(gql, owner.email, owner.password)
    result = await gql.op("LogOut", {"refreshToken": owner.refresh_token}, token=owner.access_token)
    assert result.data["logOut"] == {"ok": True, "errors": []}
    assert (await gql.op("Viewer", token=owner.access_token)).error_codes == ["UNAUTHENTICATED"]
    _, codes = await refresh(gql, owner.refresh_token)
    assert codes == ["UNAUTHENTICATED"]
    # Only that log-in ended.
    assert await viewer(gql, str(second["accessToken"])) is not None
    # Logging out twice, or with a token we never issued, is still ok.
    for token in (owner.refresh_token, "never-issued"):
        assert (await gql.op("LogOut", {"refreshToken": token})).data["logOut"] == {"ok": True, "errors": []}


async def test_refresh_and_log_out_accept_customer_tokens(gql: GraphQLClient, app: Starlette) -> None:
    await sign_up(gql, slug="north-salon")
    registered = await register(gql, "north-salon", name="Cleo Customer", email="cleo@example.com")
    customer_id = row_id(registered["customer"]["id"])

    pair, codes = await refresh(gql, registered["refreshToken"])
    assert codes == []
    assert pair is not None
    claims = app.state.services.tokens.verify(str(pair["accessToken"]))
    assert (claims.kind, claims.subject_id) == (SubjectKind.CUSTOMER, customer_id)
    # A customer is not a staff member: no viewer.
    assert await viewer(gql, str(pair["accessToken"])) is None

    result = await gql.op("LogOut", {"refreshToken": str(pair["refreshToken"])})
    assert result.data["logOut"]["ok"] is True
    assert (await gql.op("Viewer", token=str(pair["accessToken"]))).error_codes == ["UNAUTHENTICATED"]
    _, codes = await refresh(gql, str(pair["refreshToken"]))
    assert codes == ["UNAUTHENTICATED"]


async def test_an_accepted_invitation_logs_the_member_in(gql: GraphQLClient) -> None:
    owner = await sign_up(gql, slug="north-salon")
    await add_member(gql, owner, role="ADMIN", email="ali@example.com", name="Ali")
    token = await accept_invitation(gql, email="ali@example.com", password="Another-Pass-7")
    me = await viewer(gql, token)
    assert me is not None
    assert me["role"] == "ADMIN"
    assert me["user"]["email"] == "ali@example.com"
    assert (await log_in(gql, "ali@example.com", "Another-Pass-7"))["errors"] == []
