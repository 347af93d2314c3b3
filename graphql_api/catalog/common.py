"""Small pieces the catalog, scheduling and subscription resolvers share."""

from __future__ import annotations

from typing import Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from bizzly.errors import DomainError
from domain.catalog.patch import UNSET
from domain.customers.service import customer_actor
from graphql_api.context import Caller
from graphql_api.errors import UserError, user_errors
from tenants.service import staff_actor
from tenants.validation import InputErrors


def errors_of(exc: DomainError) -> list[UserError]:
    """Every problem of a form at once (``InputErrors``), or the one error."""
    if isinstance(exc, InputErrors):
        return [e for inner in exc.errors for e in user_errors(inner)]
    return user_errors(exc)


def unset(value: Any) -> Any:
    """Strawberry's UNSET (field omitted) becomes the domain's UNSET (unchanged)."""
    return UNSET if value is strawberry.UNSET else value


async def actor_of(session: AsyncSession, caller: Caller) -> str:
    """The audit log's name for the caller: ``staff:<email>`` or ``customer:<id>``."""
    if caller.is_customer and caller.subject_id is not None:
        return customer_actor(caller.subject_id)
    return await staff_actor(session, caller)
