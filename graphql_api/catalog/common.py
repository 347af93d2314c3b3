"""Small pieces the catalog, scheduling and subscription resolvers share."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from domain.customers.service import customer_actor
from graphql_api.context import Caller
from tenants.service import staff_actor


async def actor_of(session: AsyncSession, caller: Caller) -> str:
    """The audit log's name for the caller: ``staff:<email>`` or ``customer:<id>``."""
    if caller.is_customer and caller.subject_id is not None:
        return customer_actor(caller.subject_id)
    return await staff_actor(session, caller)
