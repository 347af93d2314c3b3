"""The adversarial suite of docs/design.md section 3: no GraphQL operation reads or changes another tenant's
data given its ids.

Two businesses, A and B, each get one instance of every Node type (``tests/generic/factories.py``) through
the API; B's ids are then collected from everything B's owner can list. As A's owner, and again as a
customer of A's website:

- ``node(id:)`` with each of B's ids returns nothing (while B's owner gets each of them back);
- every query is called, every id slot (arguments and input fields, optional ones too) filled with B's id of
  the matching type, other arguments with plausible values: the response never holds B's ids or B's texts
  (B's texts all carry the word ``Bravosecret``; B's customers share the phone A looks up);
- every mutation taking an id is called the same way (and, with several id slots, with B's id in one slot
  and A's own ids in the others): it answers NOT_FOUND or FORBIDDEN (payload error or top-level error),
  returns no object, and every row of B (and the system rows tied to them) is exactly as before.

The fields are enumerated from the schema, so later issues are covered without editing this file.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from graphql import GraphQLSchema
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from strawberry import relay

from bizzly.db.base import Base
from bizzly.db.engine import make_engine
from bizzly.model_registry import import_all
from bizzly.settings import Settings
from tests.generic.factories import FACTORIES, NOT_DIRECTLY_CREATABLE, FactoryContext
from tests.generic.operations import (
    Call,
    IdSlot,
    ValueMaker,
    build_call,
    client_schema,
    id_slots,
    id_types_for,
    is_required,
    node_types,
    root_fields,
    selection,
    typed_ids,
)
from tests.support.accounts import SignedUp, sign_up
from tests.support.graphql import GraphQLClient, Result
from tests.support.tenant_data import tenant_snapshot

import_all()

SCHEMA: GraphQLSchema = client_schema()
NODE_TYPES = node_types(SCHEMA)
NODE_SELECTION = selection(SCHEMA, SCHEMA.get_type("Node"))  # type: ignore[arg-type]

# B's distinctive word: in B's slug, names and emails. It must never reach A.
B_MARKER = "Bravosecret"
A_MARKER = "Alphaplain"

# What an attack may be answered with. Anything else means the call never reached the id (bad generated
# input): make the generator or the field's values better rather than loosening this.
REFUSALS = {"NOT_FOUND", "FORBIDDEN"}

# Node types whose ``node(id:)`` finds nothing even for their own tenant (no ``resolve_nodes`` yet): for
# them the node attack proves nothing, so they are listed here, to be removed once they resolve.
NOT_REFETCHABLE: dict[str, str] = {}


@dataclass
class Tenant:
    signed_up: SignedUp
    uuid: uuid.UUID
    created: dict[str, str]  # Node type -> the factory's instance
    ids: dict[str, set[str]]  # Node type -> every id the owner can list


@dataclass
class Arena:
    a: Tenant
    b: Tenant


def _services(app: Starlette) -> Any:
    return app.state.services


async def _populate(gql: GraphQLClient, app: Starlette, signed_up: SignedUp, marker: str) -> Tenant:
    tenant_uuid = uuid.UUID(relay.GlobalID.from_id(signed_up.tenant_id).node_id)
    ctx = FactoryContext(
        gql=gql, owner=signed_up, marker=marker, db=_services(app).db, tenant_uuid=tenant_uuid
    )
    for type_name in sorted(FACTORIES):
        if type_name in NODE_TYPES:
            await ctx.ensure(type_name)
    ids: dict[str, set[str]] = defaultdict(set)
    for type_name, gid in ctx.created.items():
        ids[type_name].add(gid)
    # Everything the owner can list without arguments (nested objects included) adds its ids.
    for name, field in root_fields(SCHEMA, "query").items():
        if any(is_required(arg) for arg in field.args.values()):
            continue
        maker = ValueMaker(tenant_slug=signed_up.slug, choose=lambda slot: None, field=name)
        result = await gql(
            build_call(SCHEMA, "query", name, field, maker).document, token=signed_up.access_token
        )
        for type_name, gid in typed_ids(result.body.get("data")):
            if type_name in NODE_TYPES:
                ids[type_name].add(gid)
    return Tenant(signed_up=signed_up, uuid=tenant_uuid, created=dict(ctx.created), ids=dict(ids))


@pytest.fixture
async def arena(gql: GraphQLClient, app: Starlette) -> Arena:
    a = await sign_up(gql, slug="alphaplain", name=f"Anna {A_MARKER}", business_name=f"{A_MARKER} Studio")
    b = await sign_up(
        gql,
        slug=B_MARKER.lower(),
        email=f"owner@{B_MARKER.lower()}.example.com",
        name=f"Bertha {B_MARKER}",
        business_name=f"{B_MARKER} Bakery",
    )
    return Arena(
        a=await _populate(gql, app, a, A_MARKER),
        b=await _populate(gql, app, b, B_MARKER),
    )


@pytest.fixture(params=["owner", "customer"])
async def attacker(request: pytest.FixtureRequest, arena: Arena, gql: GraphQLClient) -> str:
    """A's access token: its owner (every staff permission), or a customer of A's website."""
    if request.param == "owner":
        return arena.a.signed_up.access_token
    result = await gql.op(
        "RegisterCustomer",
        {
            "input": {
                "tenantSlug": arena.a.signed_up.slug,
                "name": f"Ivan {A_MARKER}",
                "email": f"ivan@{A_MARKER.lower()}.example.com",
                "password": "Intruder-Pass-42",
            }
        },
    )
    payload = result.data["registerCustomer"]
    assert payload["errors"] == [], payload
    return str(payload["accessToken"])


@pytest.fixture
async def owner_engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(settings.database_owner_url, null_pool=True)
    yield engine
    await engine.dispose()


async def _snapshot(engine: AsyncEngine, tenant: Tenant) -> Any:
    async with engine.connect() as conn:
        return await tenant_snapshot(conn, Base.metadata, tenant.uuid)


def _leaks(result: Result, b: Tenant) -> list[str]:
    """B's ids or texts anywhere in what A received."""
    found = []
    text = json.dumps(result.body)
    if B_MARKER.lower() in text.lower():
        found.append(f"B's marker {B_MARKER!r}")
    data = json.dumps(result.body.get("data"))
    found.extend(f"B's {t} id {gid}" for t, ids in b.ids.items() for gid in ids if gid in data)
    return found


def _calls(root: str, name: str, a: Tenant, b: Tenant) -> list[tuple[Call, bool]]:
    """The field called with B's ids in every id slot; with several slots, also with B's id in one slot and
    the others holding A's own ids, or left out where optional, so each lookup is attacked on its own.
    One call per candidate type of the widest slot; each with whether it left an optional slot out (the
    caller may need it: REQUIRED is then a fair answer too)."""
    field = root_fields(SCHEMA, root)[name]
    slots = list(dict.fromkeys(id_slots(name, field.args)))
    known = sorted(t for t in NODE_TYPES if b.ids.get(t) and a.ids.get(t))
    options = {slot: id_types_for(slot, known) for slot in slots}
    plans: list[dict[IdSlot, Tenant | None]] = [dict.fromkeys(slots, b)]
    if len(slots) > 1:
        for target in slots:
            plans.append({s: (b if s == target else a) for s in slots})
            plans.append({s: (b if s == target else None if not s.required else a) for s in slots})
    rounds = max((len(o) for o in options.values()), default=1)
    calls: list[tuple[Call, bool]] = []
    for plan in plans:
        for i in range(rounds):

            def choose(slot: IdSlot, i: int = i, plan: dict[IdSlot, Tenant | None] = plan) -> str | None:
                tenant = plan.get(slot, b)
                if tenant is None:
                    return None
                types = options.get(slot) or id_types_for(slot, known)
                type_name = types[i % len(types)]
                return tenant.created.get(type_name) or sorted(tenant.ids[type_name])[0]

            # Mutations get every optional input too: a write that slipped through would show in B's rows.
            maker = ValueMaker(
                tenant_slug=a.signed_up.slug, choose=choose, field=name, full=root == "mutation"
            )
            call = build_call(SCHEMA, root, name, field, maker)
            if all(call != c for c, _ in calls):
                calls.append((call, None in plan.values()))
    return calls


def _mutations_with_ids() -> list[str]:
    return sorted(n for n, f in root_fields(SCHEMA, "mutation").items() if id_slots(n, f.args))


# --- the suite knows every Node type --------------------------------------------------------------------


def test_every_node_type_has_a_factory() -> None:
    assert "Customer" in NODE_TYPES, NODE_TYPES
    missing = sorted(set(NODE_TYPES) - FACTORIES.keys() - NOT_DIRECTLY_CREATABLE.keys())
    assert not missing, (
        f"Node types without a factory in tests/generic/factories.py: {missing} "
        "(add one creating an instance through the API, or list the type in NOT_DIRECTLY_CREATABLE)"
    )
    stale = sorted((FACTORIES.keys() | NOT_DIRECTLY_CREATABLE.keys()) - set(NODE_TYPES))
    assert not stale, f"factories for types the schema does not have: {stale}"


async def test_each_tenant_holds_one_of_every_node_type(arena: Arena, gql: GraphQLClient) -> None:
    for tenant in (arena.a, arena.b):
        absent = sorted(t for t in NODE_TYPES if not tenant.ids.get(t))
        assert not absent, f"{tenant.signed_up.slug} has no {absent}: the attacks would skip them"
    # Control: B's owner gets every one of B's ids back, so A's NOT_FOUND below is the wall's doing.
    unresolved = set()
    for type_name, ids in sorted(arena.b.ids.items()):
        for gid in sorted(ids):
            result = await gql(
                "query Own($id: ID!) { node(id: $id) { __typename id } }",
                {"id": gid},
                token=arena.b.signed_up.access_token,
            )
            if (result.body.get("data") or {}).get("node") != {"__typename": type_name, "id": gid}:
                unresolved.add(type_name)
    assert unresolved == NOT_REFETCHABLE.keys(), (
        "node(id:) does not return the owner's own objects of these types (or NOT_REFETCHABLE is stale): "
        f"{sorted(unresolved ^ NOT_REFETCHABLE.keys())}"
    )


# --- A attacks B ------------------------------------------------------------------------------------------


async def test_node_never_returns_another_tenants_object(
    arena: Arena, gql: GraphQLClient, attacker: str
) -> None:
    for type_name, ids in sorted(arena.b.ids.items()):
        for gid in sorted(ids):
            result = await gql(
                f"query Steal($id: ID!) {{ node(id: $id) {{ {NODE_SELECTION} }} }}",
                {"id": gid},
                token=attacker,
            )
            assert result.status == 200
            assert result.body.get("data") in ({"node": None}, None), (type_name, result.body)
            assert set(result.error_codes) <= REFUSALS, (type_name, result.body)
            assert not _leaks(result, arena.b), (type_name, _leaks(result, arena.b))


async def test_queries_never_return_another_tenants_data(
    arena: Arena, gql: GraphQLClient, attacker: str
) -> None:
    failures = []
    for name in sorted(root_fields(SCHEMA, "query")):
        for call, _ in _calls("query", name, arena.a, arena.b):
            result = await gql(call.document, call.variables, token=attacker)
            leaks = _leaks(result, arena.b)
            odd = set(result.error_codes) - REFUSALS
            if result.status != 200 or leaks or odd:
                failures.append(
                    f"{name}({call.variables}): leaks={leaks} codes={result.error_codes} {result.body}"
                )
    assert not failures, "\n".join(failures)


async def test_mutations_with_another_tenants_ids_refuse_and_change_nothing(
    arena: Arena, gql: GraphQLClient, attacker: str, owner_engine: AsyncEngine
) -> None:
    names = _mutations_with_ids()
    assert names, "no mutation takes an id"
    failures = []
    before = await _snapshot(owner_engine, arena.b)
    for name in names:
        for call, left_out in _calls("mutation", name, arena.a, arena.b):
            refusals = REFUSALS | ({"REQUIRED"} if left_out else set())
            result = await gql(call.document, call.variables, token=attacker)
            problems = _leaks(result, arena.b)
            payload = (result.body.get("data") or {}).get(name)
            if result.errors:
                problems += [f"top-level code {c}" for c in result.error_codes if c not in REFUSALS]
            elif not isinstance(payload, dict):
                problems.append("no payload and no error")
            else:
                codes = [e.get("code") for e in payload.get("errors") or []]
                if not codes:
                    problems.append("accepted")
                problems += [f"user error code {c}" for c in codes if c not in refusals]
                problems += [
                    f"payload.{k} = {v!r}"
                    for k, v in payload.items()
                    if k not in ("errors", "__typename") and v
                ]
            after = await _snapshot(owner_engine, arena.b)
            if after != before:
                problems.append("B's rows changed")
                before = after
            if problems:
                failures.append(f"{name}({call.variables}): {problems} {result.body}")
    assert not failures, "\n".join(failures)
