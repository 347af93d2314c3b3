"""The team: adding people (new or already on Bizzly), listing, changing roles, removing, and the rule
that a business always keeps an owner. Every change is in the audit log under the acting staff member."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from sqlalchemy import select, text
from starlette.applications import Starlette
from strawberry import relay

from bizzly.db.engine import MaintenanceUse, make_engine
from bizzly.errors import DomainError
from domain.privacy.audit import AuditEntry
from tenants import service
from tenants.models import StaffRole, SubjectKind
from tenants.principal import Principal
from tests.support.accounts import (
    SignedUp,
    accept_invitation,
    add_member,
    database_snapshot,
    emails_to,
    last_link_token,
    link_token,
    sign_up,
    snapshot_changes,
    staff_token,
    tenant_uuid,
)
from tests.support.graphql import GraphQLClient


async def members(gql: GraphQLClient, token: str) -> dict[str, dict[str, Any]]:
    result = await gql.op("StaffMembers", token=token)
    assert not result.errors, result.errors
    return {e["node"]["user"]["email"]: e["node"] for e in result.data["staffMembers"]["edges"]}


async def audit_log(app: Starlette) -> list[tuple[str, str, str | None]]:
    async with app.state.services.db.maintenance_session(MaintenanceUse.TESTS, write=False) as s:
        rows = (await s.execute(select(AuditEntry).order_by(AuditEntry.created_at, AuditEntry.id))).scalars()
        return [(e.action, e.actor, e.detail) for e in rows]


PENDING = "query { staffInvitations { email name role expiresAt } }"


async def test_adding_listing_and_changing_members(gql: GraphQLClient, app: Starlette) -> None:
    owner = await sign_up(gql, slug="north-salon", email="olivia@example.com")
    invited = await add_member(gql, owner, role="STAFF", email="Sam@Example.com", name="Sam Smith")
    assert (invited["email"], invited["name"], invited["role"]) == ("sam@example.com", "Sam Smith", "STAFF")
    # Invited is not a member yet: listed among the invitations only.
    assert set(await members(gql, owner.access_token)) == {"olivia@example.com"}
    pending = (await gql(PENDING, token=owner.access_token)).data["staffInvitations"]
    assert [(i["email"], i["role"]) for i in pending] == [("sam@example.com", "STAFF")]

    await accept_invitation(gql, email="sam@example.com")
    assert (await gql(PENDING, token=owner.access_token)).data["staffInvitations"] == []
    team = await members(gql, owner.access_token)
    assert {email: m["role"] for email, m in team.items()} == {
        "olivia@example.com": "OWNER",
        "sam@example.com": "STAFF",
    }
    added = team["sam@example.com"]
    assert added["user"]["name"] == "Sam Smith"

    changed = await gql.op(
        "ChangeStaffRole", {"input": {"memberId": added["id"], "role": "ADMIN"}}, token=owner.access_token
    )
    assert changed.data["changeStaffRole"] == {"member": {"id": added["id"], "role": "ADMIN"}, "errors": []}

    removed = await gql.op("RemoveStaffMember", {"memberId": added["id"]}, token=owner.access_token)
    assert removed.data["removeStaffMember"] == {"ok": True, "errors": []}
    assert set(await members(gql, owner.access_token)) == {"olivia@example.com"}

    assert [entry for entry in await audit_log(app) if entry[0].startswith("staff.")] == [
        ("staff.invited", "staff:olivia@example.com", "role=STAFF"),
        ("staff.invitation_accepted", "staff:sam@example.com", None),
        ("staff.role_changed", "staff:olivia@example.com", "STAFF -> ADMIN"),
        ("staff.removed", "staff:olivia@example.com", "role=ADMIN"),
    ]


async def test_the_staff_list_pages(gql: GraphQLClient) -> None:
    owner = await sign_up(gql, slug="north-salon")
    for n in range(4):
        await staff_token(gql, owner, "STAFF", email=f"m{n}@example.com")
    await add_member(gql, owner, role="STAFF", email="pending@example.com")  # not a member: not listed
    query = """query($after: String) { staffMembers(first: 2, after: $after) {
        totalCount edges { node { user { email } } } pageInfo { hasNextPage endCursor } } }"""
    seen: list[str] = []
    after = None
    for _ in range(3):
        result = await gql(query, {"after": after}, token=owner.access_token)
        page = result.data["staffMembers"]
        assert page["totalCount"] == 5
        seen += [e["node"]["user"]["email"] for e in page["edges"]]
        after = page["pageInfo"]["endCursor"]
        if not page["pageInfo"]["hasNextPage"]:
            break
    assert seen == [owner.email] + [f"m{n}@example.com" for n in range(4)]


async def test_someone_already_on_bizzly_is_invited_and_accepts_with_their_password(
    gql: GraphQLClient, app: Starlette
) -> None:
    first = await sign_up(gql, slug="first-shop", email="sam@example.com", name="Sam")
    second = await sign_up(gql, slug="second-shop", business_name="Second Shop")
    await add_member(gql, second, role="STAFF", email="sam@example.com", name="Ignored Name")
    services = app.state.services
    [mail] = await emails_to(services.db, services.keys, "sam@example.com")
    assert mail["subject"] == "You are invited to Second Shop on Bizzly"
    assert "confirm with your Bizzly password" in mail["text"]
    token = link_token(str(mail["text"]))

    # A wrong password neither accepts nor uses up the link.
    wrong = await gql.op("AcceptInvitation", {"input": {"token": token, "password": "Not-Her-Pass-1"}})
    assert [e["code"] for e in wrong.data["acceptInvitation"]["errors"]] == ["INVALID_CREDENTIALS"]
    accepted = await gql.op("AcceptInvitation", {"input": {"token": token, "password": first.password}})
    assert accepted.data["acceptInvitation"]["errors"] == []
    me = (await gql.op("Viewer", token=accepted.data["acceptInvitation"]["accessToken"])).data["viewer"]
    # The person keeps their own name and password.
    assert (me["user"]["name"], me["tenant"]["slug"], me["role"]) == ("Sam", "second-shop", "STAFF")

    logged = await gql.op(
        "LogIn",
        {"input": {"email": "sam@example.com", "password": first.password, "tenantSlug": "second-shop"}},
    )
    assert logged.data["logIn"]["errors"] == []


async def test_an_invitation_changes_nothing_for_the_invitee_until_accepted(
    gql: GraphQLClient, app: Starlette
) -> None:
    """Issue 18: adding an address neither reserves it nor changes its owner's own log-in."""
    mallory = await sign_up(gql, slug="mallory-shop")
    # An owner of another business logs in as before (not TENANT_REQUIRED).
    founder = await sign_up(gql, slug="founder-shop", email="founder@example.com")
    await add_member(gql, mallory, role="OWNER", email="founder@example.com")
    logged = await gql.op("LogIn", {"input": {"email": "founder@example.com", "password": founder.password}})
    assert logged.data["logIn"]["errors"] == []
    assert logged.data["logIn"]["tenant"]["slug"] == "founder-shop"
    into_mallory = await gql.op(
        "LogIn",
        {
            "input": {
                "email": "founder@example.com",
                "password": founder.password,
                "tenantSlug": "mallory-shop",
            }
        },
    )
    assert [e["code"] for e in into_mallory.data["logIn"]["errors"]] == ["INVALID_CREDENTIALS"]

    # An address nobody uses yet stays free: its owner signs up later as anyone would.
    await add_member(gql, mallory, role="STAFF", email="future-founder@example.com")
    later = await sign_up(gql, slug="future-shop", email="future-founder@example.com")
    me = (await gql.op("Viewer", token=later.access_token)).data["viewer"]
    assert (me["tenant"]["slug"], me["role"]) == ("future-shop", "OWNER")
    # Her plain log-in goes to her own business only; Mallory's invitation is still just an invitation.
    again = await gql.op(
        "LogIn", {"input": {"email": "future-founder@example.com", "password": later.password}}
    )
    assert again.data["logIn"]["tenant"]["slug"] == "future-shop"


async def test_a_second_invitation_replaces_the_first(gql: GraphQLClient) -> None:
    owner = await sign_up(gql, slug="north-salon")
    await add_member(gql, owner, role="ADMIN", email="sam@example.com")
    first = await last_link_token(gql, "sam@example.com")
    await add_member(gql, owner, role="STAFF", email="sam@example.com")
    old = await gql.op("AcceptInvitation", {"input": {"token": first, "password": "Fresh-Pass-123"}})
    assert [e["code"] for e in old.data["acceptInvitation"]["errors"]] == ["INVALID"]
    token = await accept_invitation(gql, email="sam@example.com")
    assert (await gql.op("Viewer", token=token)).data["viewer"]["role"] == "STAFF"


async def test_a_business_keeps_an_owner(gql: GraphQLClient, app: Starlette) -> None:
    owner = await sign_up(gql, slug="north-salon")
    me = (await members(gql, owner.access_token))[owner.email]
    before = await database_snapshot(app.state.services.settings)

    demoted = await gql.op(
        "ChangeStaffRole", {"input": {"memberId": me["id"], "role": "ADMIN"}}, token=owner.access_token
    )
    assert [(e["field"], e["code"]) for e in demoted.data["changeStaffRole"]["errors"]] == [
        ("memberId", "CONFLICT")
    ]
    removed = await gql.op("RemoveStaffMember", {"memberId": me["id"]}, token=owner.access_token)
    assert [(e["field"], e["code"]) for e in removed.data["removeStaffMember"]["errors"]] == [
        ("memberId", "CONFLICT")
    ]
    assert snapshot_changes(before, await database_snapshot(app.state.services.settings)) == {}

    # With a second owner, the first may step down.
    await staff_token(gql, owner, "OWNER", email="second-owner@example.com")
    stepped = await gql.op(
        "ChangeStaffRole", {"input": {"memberId": me["id"], "role": "ADMIN"}}, token=owner.access_token
    )
    assert stepped.data["changeStaffRole"]["errors"] == []
    assert (await gql.op("Viewer", token=owner.access_token)).data["viewer"]["role"] == "ADMIN"


async def test_an_admin_manages_staff_members_only(gql: GraphQLClient, app: Starlette) -> None:
    owner = await sign_up(gql, slug="north-salon")
    admin = await staff_token(gql, owner, "ADMIN", email="ali@example.com")
    await add_member(gql, admin, role="STAFF", email="sam@example.com")
    await accept_invitation(gql, email="sam@example.com")
    team = await members(gql, admin)
    sam = team["sam@example.com"]
    settings = app.state.services.settings

    refusals: list[tuple[str, dict[str, Any]]] = [
        ("AddStaffMember", {"input": {"email": "x@example.com", "name": "X", "role": "ADMIN"}}),
        ("ChangeStaffRole", {"input": {"memberId": sam["id"], "role": "ADMIN"}}),
        ("ChangeStaffRole", {"input": {"memberId": team["ali@example.com"]["id"], "role": "STAFF"}}),
        ("ChangeStaffRole", {"input": {"memberId": team[owner.email]["id"], "role": "STAFF"}}),
        ("RemoveStaffMember", {"memberId": team[owner.email]["id"]}),
        ("RemoveStaffMember", {"memberId": team["ali@example.com"]["id"]}),
    ]
    for name, variables in refusals:
        before = await database_snapshot(settings)
        result = await gql.op(name, variables, token=admin)
        assert result.error_codes == ["FORBIDDEN"], (name, variables, result.body)
        assert snapshot_changes(before, await database_snapshot(settings)) == {}

    removed = await gql.op("RemoveStaffMember", {"memberId": sam["id"]}, token=admin)
    assert removed.data["removeStaffMember"]["ok"] is True


async def test_a_member_of_another_business_cannot_be_touched(gql: GraphQLClient, app: Starlette) -> None:
    mine = await sign_up(gql, slug="my-shop")
    theirs = await sign_up(gql, slug="their-shop")
    their_owner = (await members(gql, theirs.access_token))[theirs.email]
    before = await database_snapshot(app.state.services.settings)
    changed = await gql.op(
        "ChangeStaffRole",
        {"input": {"memberId": their_owner["id"], "role": "STAFF"}},
        token=mine.access_token,
    )
    assert [e["code"] for e in changed.data["changeStaffRole"]["errors"]] == ["NOT_FOUND"]
    removed = await gql.op("RemoveStaffMember", {"memberId": their_owner["id"]}, token=mine.access_token)
    assert [e["code"] for e in removed.data["removeStaffMember"]["errors"]] == ["NOT_FOUND"]
    assert snapshot_changes(before, await database_snapshot(app.state.services.settings)) == {}


async def test_updating_settings(gql: GraphQLClient, app: Starlette) -> None:
    owner: SignedUp = await sign_up(gql, slug="north-salon")
    result = await gql.op(
        "UpdateTenantSettings",
        {
            "input": {
                "timezone": "Asia/Tokyo",
                "cancellationCutoffHours": 48,
                "closedDates": ["2025-12-26", "2025-12-25", "2025-12-25"],
            }
        },
        token=owner.access_token,
    )
    payload = result.data["updateTenantSettings"]
    assert payload["errors"] == []
    tenant = payload["tenant"]
    assert tenant["timezone"] == "Asia/Tokyo"
    assert tenant["cancellationCutoffHours"] == 48
    assert tenant["closedDates"] == ["2025-12-25", "2025-12-26"]
    # Omitted settings are unchanged.
    assert (tenant["name"], tenant["minimumNoticeMinutes"], tenant["slotStepMinutes"]) == (
        "North Salon",
        0,
        15,
    )

    # A list replaces the whole set; an explicit null clears it.
    replaced = await gql.op(
        "UpdateTenantSettings", {"input": {"closedDates": ["2026-01-01"]}}, token=owner.access_token
    )
    assert replaced.data["updateTenantSettings"]["tenant"]["closedDates"] == ["2026-01-01"]
    cleared = await gql.op(
        "UpdateTenantSettings",
        {"input": {"closedDates": None, "defaultRegion": "jp", "name": " Kita "}},
        token=owner.access_token,
    )
    tenant = cleared.data["updateTenantSettings"]["tenant"]
    assert (tenant["closedDates"], tenant["defaultRegion"], tenant["name"]) == ([], "JP", "Kita")

    viewer = (await gql.op("Viewer", token=owner.access_token)).data["viewer"]
    assert viewer["tenant"]["timezone"] == "Asia/Tokyo"
    assert [e for e in await audit_log(app) if e[0] == "tenant.settings_updated"] == [
        (
            "tenant.settings_updated",
            f"staff:{owner.email}",
            "timezone, cancellation_cutoff_hours, closed_dates",
        ),
        ("tenant.settings_updated", f"staff:{owner.email}", "closed_dates"),
        ("tenant.settings_updated", f"staff:{owner.email}", "name, default_region, closed_dates"),
    ]


@pytest.mark.postgres_only
async def test_two_owners_demoting_each_other_at_once_leave_one_owner(
    gql: GraphQLClient, app: Starlette
) -> None:
    """The second demotion must wait for the first and then see that only one owner is left."""
    owner = await sign_up(gql, slug="north-salon")
    await staff_token(gql, owner, "OWNER", email="second@example.com")
    team = await members(gql, owner.access_token)
    db = app.state.services.db
    tenant_id = await tenant_uuid(gql, "north-salon")

    def as_owner(email: str) -> Principal:
        user_id = uuid.UUID(relay.GlobalID.from_id(team[email]["user"]["id"]).node_id)
        return Principal(
            kind=SubjectKind.STAFF, subject_id=user_id, tenant_id=tenant_id, role=StaffRole.OWNER
        )

    def member(email: str) -> uuid.UUID:
        return uuid.UUID(relay.GlobalID.from_id(team[email]["id"]).node_id)

    async def second_demotes_first() -> str:
        async with db.tenant_session(tenant_id) as s, s.begin():
            try:
                await service.change_staff_role(
                    s,
                    caller=as_owner("second@example.com"),
                    member_id=member(owner.email),
                    role=StaffRole.STAFF,
                )
            except DomainError as exc:
                return exc.code.value
        return "ok"

    # Only the owner role may see other roles' wait events in pg_stat_activity.
    watcher = make_engine(app.state.services.settings.database_owner_url, null_pool=True)
    waits = text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE wait_event_type = 'Lock' AND datname = current_database()"
    )

    async def second_waits_or_ends(racer: asyncio.Task[str]) -> None:
        async with watcher.connect() as conn:
            for _ in range(1000):
                if racer.done() or (await conn.execute(waits)).scalar_one():
                    return
                await asyncio.sleep(0.01)  # polling the database: there is no event to await
        raise AssertionError("the second demotion neither finished nor waited on a lock")

    try:
        async with db.tenant_session(tenant_id) as first, first.begin():
            await service.change_staff_role(
                first,
                caller=as_owner(owner.email),
                member_id=member("second@example.com"),
                role=StaffRole.STAFF,
            )
            racer = asyncio.create_task(second_demotes_first())
            # Commit only once the second demotion has read the owners (it then waits on our row locks).
            await second_waits_or_ends(racer)
    finally:
        await watcher.dispose()
    assert await racer == "CONFLICT"
    roles = {email: m["role"] for email, m in (await members(gql, owner.access_token)).items()}
    assert roles == {owner.email: "OWNER", "second@example.com": "STAFF"}


async def test_an_admin_withdraws_staff_invitations_only(gql: GraphQLClient, app: Starlette) -> None:
    owner = await sign_up(gql, slug="north-salon")
    admin = await staff_token(gql, owner, "ADMIN", email="ali@example.com")
    await add_member(gql, owner, role="ADMIN", email="second-admin@example.com")
    withdraw = (
        "mutation($email: String!) { withdrawStaffInvitation(email: $email) { ok errors { field code } } }"
    )
    before = await database_snapshot(app.state.services.settings)
    refused = await gql(withdraw, {"email": "second-admin@example.com"}, token=admin)
    assert refused.error_codes == ["FORBIDDEN"]
    assert snapshot_changes(before, await database_snapshot(app.state.services.settings)) == {}
    unknown = await gql(withdraw, {"email": "nobody@example.com"}, token=admin)
    assert unknown.data["withdrawStaffInvitation"]["errors"] == [{"field": "email", "code": "NOT_FOUND"}]
    assert (await gql(withdraw, {"email": "second-admin@example.com"}, token=owner.access_token)).data[
        "withdrawStaffInvitation"
    ] == {"ok": True, "errors": []}
    pending = (await gql(PENDING, token=owner.access_token)).data["staffInvitations"]
    assert pending == []
