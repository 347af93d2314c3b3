"""Access tokens that must not work: expired, tampered, for another audience, signed by another key, or of a
log-in that has ended. Each is refused with ``extensions.code`` UNAUTHENTICATED, on queries and mutations."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from joserfc import jwt
from joserfc.jwk import OctKey
from starlette.applications import Starlette

from bizzly import clock
from bizzly.crypto import KeyRing
from graphql_api.context import AppServices
from tenants.models import SubjectKind
from tenants.tokens import AccessClaims, AccessTokens
from tests.support.accounts import SignedUp, sign_up, staff_token
from tests.support.graphql import GraphQLClient


async def refused(gql: GraphQLClient, token: str) -> None:
    """The token opens neither a query nor a mutation, and says so with a code."""
    query = await gql.op("Viewer", token=token)
    assert query.error_codes == ["UNAUTHENTICATED"], query.body
    mutation = await gql.op(
        "AddStaffMember", {"input": {"email": "x@example.com", "name": "X", "role": "STAFF"}}, token=token
    )
    assert mutation.error_codes == ["UNAUTHENTICATED"], mutation.body


def _services(app: Starlette) -> AppServices:
    services: AppServices = app.state.services
    return services


def _claims(services: AppServices, token: str) -> AccessClaims:
    return services.tokens.verify(token)


@pytest.fixture
async def owner(gql: GraphQLClient) -> SignedUp:
    return await sign_up(gql, slug="north-salon")


async def test_a_fresh_token_works(gql: GraphQLClient, owner: SignedUp) -> None:
    assert (await gql.op("Viewer", token=owner.access_token)).data["viewer"]["role"] == "OWNER"


async def test_an_expired_token_is_refused(gql: GraphQLClient, owner: SignedUp, app: Starlette) -> None:
    clock.advance(timedelta(seconds=_services(app).settings.access_token_ttl_seconds - 5))
    assert (await gql.op("Viewer", token=owner.access_token)).data["viewer"] is not None
    clock.advance(timedelta(seconds=10))
    await refused(gql, owner.access_token)


@pytest.mark.parametrize("part", [0, 1, 2])
async def test_a_tampered_token_is_refused(gql: GraphQLClient, owner: SignedUp, part: int) -> None:
    pieces = owner.access_token.split(".")
    if part == 1:
        # A changed claim (another subject) under the original signature.
        claims = json.loads(base64.urlsafe_b64decode(pieces[1] + "=" * (-len(pieces[1]) % 4)))
        claims["sub"] = claims["sub"][:-1] + ("0" if claims["sub"][-1] != "0" else "1")
        pieces[1] = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    else:
        text = pieces[part]
        pieces[part] = text[:5] + ("A" if text[5] != "A" else "B") + text[6:]
    await refused(gql, ".".join(pieces))


async def test_a_token_signed_with_another_key_is_refused(
    gql: GraphQLClient, owner: SignedUp, app: Starlette
) -> None:
    claims = _claims(_services(app), owner.access_token)
    forged = AccessTokens(KeyRing(["another-key-" + "z" * 40]), ttl=timedelta(minutes=5)).issue(claims)
    await refused(gql, forged)


async def test_an_unsigned_token_is_refused(gql: GraphQLClient, owner: SignedUp) -> None:
    header, payload, _ = owner.access_token.split(".")
    none_header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').decode().rstrip("=")
    await refused(gql, f"{none_header}.{payload}.")
    await refused(gql, f"{header}.{payload}.")


async def test_a_customer_audience_token_is_refused_for_a_staff_log_in(
    gql: GraphQLClient, owner: SignedUp, app: Starlette
) -> None:
    services = _services(app)
    staff = _claims(services, owner.access_token)
    # Right key, real session and subject, but minted for the customer audience.
    as_customer = services.tokens.issue(
        AccessClaims(
            kind=SubjectKind.CUSTOMER,
            subject_id=staff.subject_id,
            tenant_id=staff.tenant_id,
            session_id=staff.session_id,
        )
    )
    await refused(gql, as_customer)


async def test_a_token_for_an_unknown_audience_is_refused(
    gql: GraphQLClient, owner: SignedUp, app: Starlette
) -> None:
    services = _services(app)
    key = OctKey.import_key(services.keys.signing_keys("access-token")[0])
    claims = _claims(services, owner.access_token)
    now = int(clock.now().timestamp())
    payload = {
        "iss": "bizzly",
        "aud": "bizzly:admin-console",
        "sub": str(claims.subject_id),
        "tid": str(claims.tenant_id),
        "sid": str(claims.session_id),
        "iat": now,
        "exp": now + 300,
    }
    token = jwt.encode({"alg": "HS256", "kid": "0"}, payload, key, algorithms=["HS256"])
    await refused(gql, token)
    # The same token with the right audience is accepted: only the audience was wrong.
    payload["aud"] = "bizzly:staff"
    good = jwt.encode({"alg": "HS256", "kid": "0"}, payload, key, algorithms=["HS256"])
    assert (await gql.op("Viewer", token=good)).data["viewer"]["role"] == "OWNER"


async def test_a_token_of_a_logged_out_session_is_refused(gql: GraphQLClient, owner: SignedUp) -> None:
    await gql.op("LogOut", {"refreshToken": owner.refresh_token})
    await refused(gql, owner.access_token)


async def test_a_token_of_a_revoked_family_is_refused(gql: GraphQLClient, owner: SignedUp) -> None:
    rotated = (await gql.op("RefreshToken", {"refreshToken": owner.refresh_token})).data["refreshToken"]
    # Replaying the used refresh token revokes the family: both access tokens stop working.
    replay = await gql.op("RefreshToken", {"refreshToken": owner.refresh_token})
    assert replay.error_codes == ["UNAUTHENTICATED"]
    await refused(gql, owner.access_token)
    await refused(gql, rotated["accessToken"])


async def test_a_removed_members_token_is_refused(gql: GraphQLClient, owner: SignedUp) -> None:
    token = await staff_token(gql, owner, "STAFF", email="sam@example.com")
    members = (await gql.op("StaffMembers", token=owner.access_token)).data["staffMembers"]["edges"]
    [sam] = [m["node"] for m in members if m["node"]["user"]["email"] == "sam@example.com"]
    removed = await gql.op("RemoveStaffMember", {"memberId": sam["id"]}, token=owner.access_token)
    assert removed.data["removeStaffMember"] == {"ok": True, "errors": []}
    await refused(gql, token)


async def test_garbage_and_malformed_headers_are_refused(gql: GraphQLClient, owner: SignedUp) -> None:
    await refused(gql, "garbage")
    await refused(gql, owner.access_token + "x")
    result = await gql("{ viewer { role } }", headers={"Authorization": f"Token {owner.access_token}"})
    assert result.error_codes == ["UNAUTHENTICATED"]


async def test_a_role_change_applies_to_the_next_request(gql: GraphQLClient, owner: SignedUp) -> None:
    token = await staff_token(gql, owner, "ADMIN", email="ali@example.com")
    members = (await gql.op("StaffMembers", token=token)).data["staffMembers"]["edges"]
    [ali] = [m["node"] for m in members if m["node"]["user"]["email"] == "ali@example.com"]
    changed = await gql.op(
        "ChangeStaffRole", {"input": {"memberId": ali["id"], "role": "STAFF"}}, token=owner.access_token
    )
    assert changed.data["changeStaffRole"]["errors"] == []
    assert (await gql.op("Viewer", token=token)).data["viewer"]["role"] == "STAFF"
    assert (await gql.op("StaffMembers", token=token)).error_codes == ["FORBIDDEN"]
