"""docs/design.md's permission table, cell by cell, for every accounts operation and every kind of caller.

An allowed call works; a refused one gets FORBIDDEN (or UNAUTHENTICATED for an anonymous caller) as a
top-level error and leaves every table of the database exactly as it was.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from starlette.applications import Starlette

from tests.support.accounts import (
    SignedUp,
    add_member,
    database_snapshot,
    last_link_token,
    sign_up,
    snapshot_changes,
    staff_token,
)
from tests.support.customers import register
from tests.support.graphql import GraphQLClient, Result

CALLERS = ("OWNER", "ADMIN", "STAFF", "CUSTOMER", "ANONYMOUS")
EVERYONE = frozenset(CALLERS)
MANAGERS = frozenset({"OWNER", "ADMIN"})
OWNERS = frozenset({"OWNER"})


@dataclass
class World:
    owner: SignedUp
    tokens: dict[str, str | None]
    members: dict[str, str]  # target role -> member global id


async def build_world(gql: GraphQLClient) -> World:
    owner = await sign_up(gql, slug="matrix-shop")
    tokens: dict[str, str | None] = {
        "OWNER": owner.access_token,
        "ADMIN": await staff_token(gql, owner, "ADMIN", email="admin@example.com"),
        "STAFF": await staff_token(gql, owner, "STAFF", email="staff@example.com"),
        "CUSTOMER": (await register(gql, "matrix-shop", name="Cleo", email="cleo@example.com"))[
            "accessToken"
        ],
        "ANONYMOUS": None,
    }
    targets = {f"target-{role.lower()}@example.com": role for role in ("STAFF", "ADMIN", "OWNER")}
    for email, role in targets.items():
        await staff_token(gql, owner, role, email=email)  # invited and accepted: members
    listed = await gql.op("StaffMembers", token=owner.access_token)
    members = {
        targets[e["node"]["user"]["email"]]: e["node"]["id"]
        for e in listed.data["staffMembers"]["edges"]
        if e["node"]["user"]["email"] in targets
    }
    await add_member(gql, owner, role="STAFF", email="pending@example.com")  # for acceptInvitation
    return World(owner=owner, tokens=tokens, members=members)


Call = Callable[[GraphQLClient, World, str | None], Awaitable[Result]]


def op(name: str, variables: Callable[[World], dict[str, Any]]) -> Call:
    async def call(gql: GraphQLClient, world: World, token: str | None) -> Result:
        return await gql.op(name, variables(world), token=token)

    return call


async def _accept(gql: GraphQLClient, world: World, token: str | None) -> Result:
    link = await last_link_token(gql, "pending@example.com")
    return await gql.op(
        "AcceptInvitation", {"input": {"token": link, "password": "Fresh-Pass-123"}}, token=token
    )


async def _reset(gql: GraphQLClient, world: World, token: str | None) -> Result:
    asked = await gql.op("RequestPasswordReset", {"email": world.owner.email})
    assert asked.data["requestPasswordReset"]["ok"] is True
    link = await last_link_token(gql, world.owner.email)
    return await gql.op(
        "ResetPassword", {"input": {"token": link, "password": "Fresh-Pass-123"}}, token=token
    )


def _add(role: str) -> Call:
    return op(
        "AddStaffMember",
        lambda w: {"input": {"email": f"new-{role.lower()}@example.com", "name": "New", "role": role}},
    )


def _change(target: str, role: str) -> Call:
    return op("ChangeStaffRole", lambda w: {"input": {"memberId": w.members[target], "role": role}})


def _remove(target: str) -> Call:
    return op("RemoveStaffMember", lambda w: {"memberId": w.members[target]})


# (operation, call, callers allowed)
CASES: list[tuple[str, Call, frozenset[str]]] = [
    ("addStaffMember STAFF", _add("STAFF"), MANAGERS),
    ("addStaffMember ADMIN", _add("ADMIN"), OWNERS),
    ("addStaffMember OWNER", _add("OWNER"), OWNERS),
    ("changeStaffRole STAFF->STAFF", _change("STAFF", "STAFF"), MANAGERS),
    ("changeStaffRole STAFF->ADMIN", _change("STAFF", "ADMIN"), OWNERS),
    ("changeStaffRole STAFF->OWNER", _change("STAFF", "OWNER"), OWNERS),
    ("changeStaffRole ADMIN->STAFF", _change("ADMIN", "STAFF"), OWNERS),
    ("changeStaffRole OWNER->ADMIN", _change("OWNER", "ADMIN"), OWNERS),
    ("removeStaffMember STAFF", _remove("STAFF"), MANAGERS),
    ("removeStaffMember ADMIN", _remove("ADMIN"), OWNERS),
    ("removeStaffMember OWNER", _remove("OWNER"), OWNERS),
    (
        "updateTenantSettings",
        op("UpdateTenantSettings", lambda w: {"input": {"name": "Renamed", "slotStepMinutes": 30}}),
        MANAGERS,
    ),
    ("staffMembers", op("StaffMembers", lambda w: {}), MANAGERS),
    (
        "staffInvitations",
        lambda gql, w, token: gql("query { staffInvitations { email role } }", token=token),
        MANAGERS,
    ),
    (
        "withdrawStaffInvitation STAFF",
        lambda gql, w, token: gql(
            'mutation { withdrawStaffInvitation(email: "pending@example.com") { ok errors { code } } }',
            token=token,
        ),
        MANAGERS,
    ),
    ("viewer", op("Viewer", lambda w: {}), EVERYONE),
    # Public operations work for anyone; a caller's own token does not get in the way.
    (
        "signUp",
        op(
            "SignUp",
            lambda w: {
                "input": {
                    "businessName": "Another Shop",
                    "timezone": "Europe/Berlin",
                    "defaultRegion": "DE",
                    "name": "Ann",
                    "email": "ann@example.com",
                    "password": "Fresh-Pass-123",
                }
            },
        ),
        EVERYONE,
    ),
    (
        "logIn",
        op("LogIn", lambda w: {"input": {"email": w.owner.email, "password": w.owner.password}}),
        EVERYONE,
    ),
    ("refreshToken", op("RefreshToken", lambda w: {"refreshToken": w.owner.refresh_token}), EVERYONE),
    ("logOut", op("LogOut", lambda w: {"refreshToken": w.owner.refresh_token}), EVERYONE),
    ("requestPasswordReset", op("RequestPasswordReset", lambda w: {"email": w.owner.email}), EVERYONE),
    ("acceptInvitation", _accept, EVERYONE),
    ("resetPassword", _reset, EVERYONE),
]


def _cells() -> list[Any]:
    return [
        pytest.param(call, caller, caller in allowed, id=f"{name}-{caller}")
        for name, call, allowed in CASES
        for caller in CALLERS
    ]


@pytest.mark.parametrize(("call", "caller", "allowed"), _cells())
async def test_permission_cell(
    gql: GraphQLClient, app: Starlette, call: Call, caller: str, allowed: bool
) -> None:
    world = await build_world(gql)
    settings = app.state.services.settings
    before = await database_snapshot(settings)
    result = await call(gql, world, world.tokens[caller])
    if allowed:
        assert result.errors == [], result.body
        for payload in result.data.values():
            if isinstance(payload, dict) and "errors" in payload:
                assert payload["errors"] == [], payload
    else:
        assert result.error_codes == ["UNAUTHENTICATED" if caller == "ANONYMOUS" else "FORBIDDEN"], (
            result.body
        )
        assert snapshot_changes(before, await database_snapshot(settings)) == {}
