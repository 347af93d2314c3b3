"""Fuzzing ``/graphql`` as an anonymous caller (docs/design.md section 9: no request's shape gives a 500).

Schemathesis generates queries and mutations for every root field of the schema, so fields added later
are fuzzed without edits. The caller names an existing business with ``X-Bizzly-Tenant``.

A response fails when it is a 5xx, or when it carries a masked error: an error raised while resolving
(it has a ``path``) that has no ``extensions.code`` is an unexpected exception the app hid, i.e. a server
error answered with 200. Schemathesis' own ``not_a_server_error`` also treats our expected top-level
errors (``UNAUTHENTICATED``, ``FORBIDDEN``, ``NOT_FOUND`` raised in a resolver) as server errors, because
only a few codes are known to it, so the check below does the same job with our error contract.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.python.asgi import shutdown_lifespans
from starlette.applications import Starlette
from strawberry import relay

from bizzly.app import create_app
from bizzly.settings import Settings
from graphql_api.schema import build_schema
from tests.generic.factories import FACTORIES, FactoryContext
from tests.support.accounts import sign_up
from tests.support.graphql import GraphQLClient

FUZZ_SLUG = "fuzz-shop"
MAX_EXAMPLES = 25


@pytest.fixture
async def fuzz_tenant(gql: GraphQLClient, app: Starlette) -> None:
    """The business the anonymous caller names, with one of everything (services, help articles, ...), so
    public fields render real rows."""
    owner = await sign_up(gql, slug=FUZZ_SLUG)
    tenant_uuid = uuid.UUID(relay.GlobalID.from_id(owner.tenant_id).node_id)
    ctx = FactoryContext(
        gql=gql, owner=owner, marker="Fuzz", db=app.state.services.db, tenant_uuid=tenant_uuid
    )
    for type_name in sorted(FACTORIES):
        await ctx.ensure(type_name)


@pytest.fixture
def fuzz_app(settings: Settings, fuzz_tenant: None) -> Iterator[Starlette]:
    """An app of its own: schemathesis serves it on its own event loop (an engine belongs to one loop)."""
    application = create_app(settings)
    yield application
    # Runs the app's lifespan shutdown on schemathesis' loop, which disposes the app's engines.
    shutdown_lifespans()


def no_server_error(ctx: Any, response: Any, case: Any) -> None:
    assert response.status_code < 500, f"{response.status_code}: {response.text[:500]}"
    body = response.json()
    assert isinstance(body, dict), body
    for error in body.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        assert code or "path" not in error, f"unexpected (masked) error: {error}"


def _load_schema() -> Any:
    # The same introspection ``from_asgi`` would fetch, taken from the schema object at import; requests go
    # to the app of the ``fuzz_app`` fixture (its database exists only once the test runs).
    loaded = schemathesis.graphql.from_dict(build_schema().introspect())
    loaded.location = "/graphql"
    return loaded


SCHEMA = _load_schema()
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]


def test_anonymous_callers_never_get_a_server_error(fuzz_app: Starlette) -> None:
    """Every root field, fuzzed in one test: the populated tenant is built once, not once per field."""
    assert len(OPERATIONS) > 20
    failures = []
    for operation in OPERATIONS:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def fuzz(case: Any) -> None:
            case.call_and_validate(
                app=fuzz_app, headers={"X-Bizzly-Tenant": FUZZ_SLUG}, checks=[no_server_error]
            )

        try:
            fuzz()
        # Schemathesis reports failures as a BaseExceptionGroup; every field's failure is reported.
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)
