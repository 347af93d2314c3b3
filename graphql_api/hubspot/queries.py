"""The CRM contacts list (staff): search, pages, sync status and linked account."""

from __future__ import annotations

import strawberry

from bizzly.errors import DomainError
from domain.customers.service import current_tenant
from domain.identity import service
from domain.identity.crm_listing import search_crm_contacts
from domain.identity.models import CrmContact as CrmContactRow
from graphql_api.context import Info
from graphql_api.customers.types import Customer
from graphql_api.errors import from_domain
from graphql_api.identity.types import CrmContact
from graphql_api.permissions import CanOperate
from graphql_api.relay import Connection, page_request


@strawberry.type
class HubSpotQuery:
    @strawberry.field(
        permission_classes=[CanOperate],
        description="The business's CRM contacts, newest first. `search` matches name or email (part of it, "
        "any case), the CRM id, or a phone in any common format.",
    )
    async def crm_contacts(
        self,
        info: Info,
        search: str | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[CrmContact]:
        ctx = info.context
        try:
            async with await ctx.session() as session:
                tenant = await current_tenant(session)
                page = await search_crm_contacts(
                    session,
                    search=search,
                    page=page_request(first, after, last, before),
                    region=tenant.default_region,
                )
                linked = await service.crm_contacts_with_customers(session, [row.id for _, row in page.items])
        except DomainError as exc:
            raise from_domain(exc) from exc

        def to_node(row: CrmContactRow) -> CrmContact:
            contact, customer = linked[row.id]
            return CrmContact.from_model(contact, Customer.from_model(customer) if customer else None)

        return Connection.from_page(page, to_node)
