"""``leads``: the business's website contact forms, newest first (staff)."""

from __future__ import annotations

import strawberry

from bizzly.errors import DomainError
from domain.leads import service
from graphql_api.context import Info
from graphql_api.errors import from_domain
from graphql_api.leads.types import Lead
from graphql_api.permissions import CanOperate
from graphql_api.relay import Connection, page_request


@strawberry.type
class LeadsQuery:
    @strawberry.field(
        permission_classes=[CanOperate],
        description="Website contact forms sent to the business, newest first.",
    )
    async def leads(self, info: Info, first: int | None = None, after: str | None = None) -> Connection[Lead]:
        try:
            async with await info.context.session() as session:
                page = await service.leads_page(session, page=page_request(first, after))
        except DomainError as exc:
            raise from_domain(exc) from exc
        return Connection.from_page(page, Lead.from_model)
