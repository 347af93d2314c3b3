"""Plan queries (staff: plans are settings every role may read)."""

from __future__ import annotations

import strawberry

from bizzly.errors import DomainError
from domain.subscriptions.repository import Plans
from graphql_api.context import Info
from graphql_api.errors import from_domain
from graphql_api.permissions import CanReadSettings
from graphql_api.relay import Connection, page_request
from graphql_api.subscriptions.types import Plan


@strawberry.type
class SubscriptionsQuery:
    @strawberry.field(permission_classes=[CanReadSettings], description="The business's plans by name.")
    async def plans(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Plan]:
        try:
            async with await info.context.session() as session:
                page = await Plans(session).page(page_request(first, after, last, before))
        except DomainError as exc:
            raise from_domain(exc) from exc
        return Connection.from_page(page, Plan.from_model)
