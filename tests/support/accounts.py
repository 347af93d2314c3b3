"""Accounts helpers for every test: sign a business up, and get a staff token of any role.

``staff_token`` goes the way a real person does: the owner adds a member, the invitation email is read
from the outbox (decrypted with the key ring, as the mail worker would) and the link's token is accepted.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlparse

from sqlalchemy import select

from bizzly.crypto import KeyRing
from bizzly.db.base import Base
from bizzly.db.engine import Database, MaintenanceUse, make_engine
from bizzly.model_registry import import_all
from bizzly.outbox import OutboxRow
from bizzly.settings import Settings
from tenants.repository import TenantDirectory
from tests.support.graphql import GraphQLClient

DEFAULT_PASSWORD = "Correct-Horse-42"
_counter = itertools.count(1)


@dataclass(frozen=True)
class SignedUp:
    tenant_id: str  # the tenant's global id
    slug: str
    access_token: str
    refresh_token: str
    email: str
    password: str


async def sign_up(
    gql: GraphQLClient,
    *,
    slug: str,
    email: str | None = None,
    password: str = DEFAULT_PASSWORD,
    name: str = "Olivia Owner",
    business_name: str | None = None,
    timezone: str = "Europe/London",
    default_region: str = "GB",
) -> SignedUp:
    """Sign a business up through the contract's ``SignUp``; fails the test on any error."""
    address = email or f"owner@{slug}.example.com"
    result = await gql.op(
        "SignUp",
        {
            "input": {
                "businessName": business_name or slug.replace("-", " ").title(),
                "slug": slug,
                "timezone": timezone,
                "defaultRegion": default_region,
                "name": name,
                "email": address,
                "password": password,
            }
        },
    )
    payload = result.data["signUp"]
    assert payload["errors"] == [], payload["errors"]
    return SignedUp(
        tenant_id=payload["tenant"]["id"],
        slug=payload["tenant"]["slug"],
        access_token=payload["accessToken"],
        refresh_token=payload["refreshToken"],
        email=payload["user"]["email"],
        password=password,
    )


def _services(gql: GraphQLClient) -> Any:
    """The app's services (database, key ring) behind the test client."""
    transport = gql.http._transport
    app = getattr(transport, "app", None)
    services = getattr(getattr(app, "state", None), "services", None)
    if services is None:
        raise RuntimeError("the GraphQL client is not bound to the test app")
    return services


async def emails_to(db: Database, keys: KeyRing, to: str) -> list[dict[str, Any]]:
    """Every ``email.send`` payload queued for ``to`` (any tenant), oldest first, decrypted."""
    async with db.maintenance_session(MaintenanceUse.TESTS, write=False) as s:
        rows = (
            (
                await s.execute(
                    select(OutboxRow)
                    .where(OutboxRow.topic == "email.send")
                    .order_by(OutboxRow.created_at, OutboxRow.id)
                )
            )
            .scalars()
            .all()
        )
    payloads = [row.data(keys) for row in rows]
    return [p for p in payloads if str(p.get("to", "")).lower() == to.lower()]


def link_token(text: str) -> str:
    """The ``token`` query parameter of the first link in an email's text."""
    for word in text.split():
        if word.startswith("http") and "token=" in word:
            return parse_qs(urlparse(word).query)["token"][0]
    raise AssertionError(f"no link with a token in: {text!r}")


async def last_link_token(gql: GraphQLClient, to: str) -> str:
    """The token of the newest emailed link (invitation or reset) sent to ``to``."""
    services = _services(gql)
    mails = await emails_to(services.db, services.keys, to)
    assert mails, f"no email was queued for {to}"
    return link_token(str(mails[-1]["text"]))


# The contract's AddStaffMember selects only ``member`` (null until the invitation is accepted).
ADD_STAFF_MEMBER = """
mutation AddStaffMember($input: AddStaffMemberInput!) {
  addStaffMember(input: $input) {
    member { id }
    invitation { email name role expiresAt }
    errors { field message code }
  }
}
"""


async def add_member(
    gql: GraphQLClient, owner: SignedUp | str, *, role: str, email: str, name: str = "Sam Staff"
) -> dict[str, Any]:
    """``AddStaffMember`` as ``owner`` (a SignedUp or an access token): an invitation is mailed to
    ``email``; returns the payload's invitation (the person is a member once they accept it)."""
    token = owner.access_token if isinstance(owner, SignedUp) else owner
    result = await gql(ADD_STAFF_MEMBER, {"input": {"email": email, "name": name, "role": role}}, token=token)
    payload = result.data["addStaffMember"]
    assert payload["errors"] == [], payload["errors"]
    assert payload["member"] is None  # nobody joins a team without accepting
    invitation: dict[str, Any] = payload["invitation"]
    return invitation


async def accept_invitation(gql: GraphQLClient, *, email: str, password: str = DEFAULT_PASSWORD) -> str:
    """Accept the newest invitation mailed to ``email``; returns the new member's access token."""
    token = await last_link_token(gql, email)
    result = await gql.op("AcceptInvitation", {"input": {"token": token, "password": password}})
    payload = result.data["acceptInvitation"]
    assert payload["errors"] == [], payload["errors"]
    return str(payload["accessToken"])


async def staff_token(gql: GraphQLClient, owner: SignedUp, role: str, *, email: str | None = None) -> str:
    """An access token of a new member of ``owner``'s business with ``role`` (OWNER, ADMIN or STAFF):
    the owner invites them and they accept, so ``OWNER`` gives a second owner, not the signed-up one."""
    address = email or f"{role.lower()}-{next(_counter)}-{uuid.uuid4().hex[:6]}@{owner.slug}.example.com"
    await add_member(gql, owner, role=role, email=address, name=f"{role.title()} Member")
    return await accept_invitation(gql, email=address)


async def database_snapshot(settings: Settings) -> dict[str, list[tuple[str, ...]]]:
    """Every row of every table (as the owner sees them, under no RLS), to prove a refusal wrote nothing."""
    import_all()
    engine = make_engine(settings.database_owner_url, null_pool=True)
    snapshot: dict[str, list[tuple[str, ...]]] = {}
    try:
        async with engine.connect() as conn:
            for table in Base.metadata.sorted_tables:
                rows = (await conn.execute(table.select())).all()
                snapshot[table.name] = sorted(tuple(repr(v) for v in row) for row in rows)
    finally:
        await engine.dispose()
    return snapshot


def snapshot_changes(
    before: dict[str, list[tuple[str, ...]]], after: dict[str, list[tuple[str, ...]]]
) -> dict[str, tuple[int, int]]:
    """Tables whose rows differ: name -> (rows before, rows after)."""
    return {
        name: (len(before.get(name, [])), len(after.get(name, [])))
        for name in sorted(set(before) | set(after))
        if before.get(name) != after.get(name)
    }


async def tenant_uuid(gql: GraphQLClient, slug: str) -> uuid.UUID:
    services = _services(gql)
    async with services.db.public_session() as s:
        found = await TenantDirectory(s).id_for_slug(slug)
    assert found is not None, slug
    return found
