"""Customer helpers for tests: staff create accounts, customers register, and direct service access."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay

from bizzly.db.engine import MaintenanceUse
from tests.support.accounts import DEFAULT_PASSWORD, SignedUp, _services
from tests.support.graphql import GraphQLClient


def row_id(global_id: str) -> uuid.UUID:
    return uuid.UUID(relay.GlobalID.from_id(global_id).node_id)


async def create_customer(
    gql: GraphQLClient, staff: SignedUp | str, *, name: str, email: str, phone: str | None = None
) -> dict[str, Any]:
    """``CreateCustomer`` as staff; fails the test on any error; returns the customer."""
    token = staff.access_token if isinstance(staff, SignedUp) else staff
    result = await gql.op(
        "CreateCustomer", {"input": {"name": name, "email": email, "phone": phone}}, token=token
    )
    payload = result.data["createCustomer"]
    assert payload["errors"] == [], payload["errors"]
    customer: dict[str, Any] = payload["customer"]
    return customer


async def register(
    gql: GraphQLClient,
    slug: str,
    *,
    name: str,
    email: str,
    password: str = DEFAULT_PASSWORD,
    phone: str | None = None,
) -> dict[str, Any]:
    """``RegisterCustomer`` on ``slug``'s website; fails the test on any error; returns the payload."""
    result = await gql.op(
        "RegisterCustomer",
        {
            "input": {
                "tenantSlug": slug,
                "name": name,
                "email": email,
                "password": password,
                "phone": phone,
            }
        },
    )
    payload: dict[str, Any] = result.data["registerCustomer"]
    assert payload["errors"] == [], payload["errors"]
    return payload


@contextlib.asynccontextmanager
async def tenant_session(gql: GraphQLClient, owner: SignedUp) -> AsyncIterator[AsyncSession]:
    """A write transaction on ``owner``'s tenant, as a service's caller would open it (committed on exit)."""
    services = _services(gql)
    async with services.db.tenant_session(row_id(owner.tenant_id), write=True) as s, s.begin():
        yield s


async def count_rows(gql: GraphQLClient, model: Any) -> int:
    """Rows of ``model`` in every tenant (past the walls, for "nothing was written" checks)."""
    services = _services(gql)
    async with services.db.maintenance_session(MaintenanceUse.TESTS, write=False) as s:
        return int((await s.execute(select(func.count()).select_from(model))).scalar_one())
