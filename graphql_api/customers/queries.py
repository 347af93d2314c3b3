"""Customer queries: the staff's list and search, and a logged-in customer's own account."""

from __future__ import annotations

import uuid

import strawberry

from bizzly.errors import DomainError
from domain.customers import service
from graphql_api.context import Info
from graphql_api.customers.loaders import customer_loader, prime
from graphql_api.customers.types import Customer
from graphql_api.errors import from_domain, not_found
from graphql_api.permissions import CanOperate, IsCustomer
from graphql_api.relay import Connection, page_request


@strawberry.type
class CustomersQuery:
    @strawberry.field(
        permission_classes=[CanOperate],
        description="The business's customers, newest first. `search` matches name or email (part of it, "
        "any case) or a phone in any common format.",
    )
    async def customers(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        search: str | None = None,
    ) -> Connection[Customer]:
        ctx = info.context
        try:
            async with await ctx.session() as session:
                tenant = await service.current_tenant(session)
                page = await service.search_customers(
                    session, tenant=tenant, search=search, page=page_request(first, after, last, before)
                )
        except DomainError as exc:
            raise from_domain(exc) from exc
        prime(ctx, [row for _, row in page.items])
        return Connection.from_page(page, Customer.from_model)

    @strawberry.field(permission_classes=[IsCustomer], description="The logged-in customer's own account.")
    async def me(self, info: Info) -> Customer:
        caller = info.context.caller
        assert isinstance(caller.subject_id, uuid.UUID)
        row = await customer_loader(info.context).load(caller.subject_id)
        if row is None:
            raise not_found("Your account no longer exists.")
        return Customer.from_model(row)
