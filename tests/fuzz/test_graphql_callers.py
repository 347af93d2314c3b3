"""Schemathesis over every root field of ``/graphql`` as three hostile callers of business A: an anonymous
caller naming A, a customer of A's website, and A's owner (a staff member with every permission, of another
tenant than the victim). Business B, the victim, has one of everything (``tests/generic/factories.py``),
every text carrying the word ``Victimword``.

For every response: no 5xx and no masked error (``no_server_error`` of the anonymous suite), and neither B's
word nor any of B's ids in it. After each caller's run: every row of B (and the system rows tied to them) is
exactly as before. ``tests/generic/test_cross_tenant.py`` aims B's ids at every id slot; this suite adds
the random shapes and values it does not think of.

Examples per field: ``BIZZLY_FUZZ_GRAPHQL_EXAMPLES`` (default 6: about ten seconds per caller on 2 cores).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from schemathesis.python.asgi import shutdown_lifespans
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from strawberry import relay

from bizzly.app import create_app
from bizzly.db.base import Base
from bizzly.db.engine import make_engine
from bizzly.model_registry import import_all
from bizzly.settings import Settings
from tests.generic.factories import FACTORIES, FactoryContext
from tests.generic.test_schemathesis import OPERATIONS, no_server_error
from tests.support.accounts import _services, sign_up
from tests.support.graphql import GraphQLClient
from tests.support.tenant_data import tenant_snapshot

import_all()

EXAMPLES = int(os.environ.get("BIZZLY_FUZZ_GRAPHQL_EXAMPLES", "6"))
VICTIM = "Victimword"
ATTACKER_SLUG = "fuzz-attacker"


@dataclass
class Arena:
    victim_uuid: uuid.UUID
    victim_ids: list[str]
    headers: dict[str, dict[str, str]]  # caller -> request headers


@pytest.fixture
async def arena(gql: GraphQLClient) -> Arena:
    attacker = await sign_up(gql, slug=ATTACKER_SLUG)
    victim = await sign_up(gql, slug="fuzz-victim", name=f"Vera {VICTIM}", business_name=f"{VICTIM} Bakery")
    victim_uuid = uuid.UUID(relay.GlobalID.from_id(victim.tenant_id).node_id)
    ctx = FactoryContext(gql=gql, owner=victim, marker=VICTIM, db=_services(gql).db, tenant_uuid=victim_uuid)
    for type_name in sorted(FACTORIES):
        await ctx.ensure(type_name)
    registered = await gql.op(
        "RegisterCustomer",
        {
            "input": {
                "tenantSlug": ATTACKER_SLUG,
                "name": "Ivan Intruder",
                "email": "ivan@fuzz-attacker.example.com",
                "password": "Intruder-Pass-42",
            }
        },
    )
    assert registered.data["registerCustomer"]["errors"] == []
    tenant = {"X-Bizzly-Tenant": ATTACKER_SLUG}
    return Arena(
        victim_uuid=victim_uuid,
        victim_ids=sorted(ctx.created.values()),
        headers={
            "anonymous": tenant,
            "customer": {
                **tenant,
                "Authorization": f"Bearer {registered.data['registerCustomer']['accessToken']}",
            },
            "staff of another tenant": {"Authorization": f"Bearer {attacker.access_token}"},
        },
    )


@pytest.fixture
def fuzz_app(settings: Settings, arena: Arena) -> Iterator[Starlette]:
    """An app of its own: schemathesis serves it on its own event loop (an engine belongs to one loop)."""
    application = create_app(settings)
    yield application
    shutdown_lifespans()


async def _victim_rows(settings: Settings, victim: uuid.UUID) -> Any:
    engine: AsyncEngine = make_engine(settings.database_owner_url, null_pool=True)
    try:
        async with engine.connect() as conn:
            return await tenant_snapshot(conn, Base.metadata, victim)
    finally:
        await engine.dispose()


def _fuzz(app: Starlette, headers: dict[str, str], victim_ids: list[str]) -> list[str]:
    def nothing_of_the_victim(ctx: Any, response: Any, case: Any) -> None:
        text = response.text
        assert VICTIM.lower() not in text.lower(), f"the victim's text in {text[:500]}"
        leaked = [gid for gid in victim_ids if gid in text]
        assert not leaked, f"the victim's ids {leaked} in {text[:500]}"

    failures = []
    for operation in OPERATIONS:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def fuzz(case: Any) -> None:
            case.call_and_validate(app=app, headers=headers, checks=[no_server_error, nothing_of_the_victim])

        try:
            fuzz()
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - every field's failure is reported
            failures.append(f"{operation.label}: {exc}")
    return failures


@pytest.mark.parametrize("caller", ["anonymous", "customer", "staff of another tenant"])
def test_hostile_callers_get_no_server_error_and_nothing_of_another_tenant(
    caller: str, arena: Arena, fuzz_app: Starlette, settings: Settings
) -> None:
    import asyncio

    before = asyncio.run(_victim_rows(settings, arena.victim_uuid))
    assert sum(len(rows) for rows in before.values()) > 20  # the victim really has data to protect
    failures = _fuzz(fuzz_app, arena.headers[caller], arena.victim_ids)
    assert not failures, "\n\n".join(failures)
    after = asyncio.run(_victim_rows(settings, arena.victim_uuid))
    changed = {
        name: (len(before.get(name, [])), len(after.get(name, [])))
        for name in set(before) | set(after)
        if before.get(name) != after.get(name)
    }
    assert changed == {}, json.dumps(changed)
