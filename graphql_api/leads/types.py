"""The GraphQL ``Lead``: a website contact form as sent, its HubSpot sync status and linked account."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

import strawberry
from strawberry import relay

from domain.leads import service
from domain.leads.models import Lead as LeadRow
from graphql_api.context import Info
from graphql_api.customers.loaders import customer_loader
from graphql_api.customers.types import Customer
from graphql_api.errors import forbidden, unauthenticated
from graphql_api.identity.types import SyncStatus
from graphql_api.relay import node_uuids
from tenants.permissions import Permission, role_can


@strawberry.type(description="A website contact form sent to the business (not an account).")
class Lead(relay.Node):
    id: relay.NodeID[str]
    email: str
    first_name: str | None
    last_name: str | None
    phone: str | None = strawberry.field(
        description="The phone the visitor gave, in E.164. Never copied onto an account or contact."
    )
    message: str | None
    created_at: datetime
    sync_status: SyncStatus = strawberry.field(
        description="Whether it reached HubSpot (NOT_CONNECTED when HubSpot was not connected)."
    )
    customer_id: strawberry.Private[uuid.UUID | None]

    @classmethod
    def from_model(cls, row: LeadRow) -> Lead:
        return cls(
            id=str(row.id),
            email=row.email,
            first_name=row.first_name,
            last_name=row.last_name,
            phone=row.phone_e164,
            message=row.message,
            created_at=row.created_at,
            sync_status=SyncStatus(row.sync_status),
            customer_id=row.customer_id,
        )

    @strawberry.field(description="The website account with the lead's email, if there is one.")
    async def customer(self, info: Info) -> Customer | None:
        if self.customer_id is None:
            return None
        row = await customer_loader(info.context).load(self.customer_id)
        return Customer.from_model(row) if row is not None else None

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Lead | None]:
        """Staff who may operate only."""
        caller = info.context.caller
        if caller.kind is None:
            raise unauthenticated()
        if not caller.is_staff or caller.role is None or not role_can(caller.role, Permission.OPERATE):
            raise forbidden()
        ids = node_uuids(node_ids)
        async with await info.context.session() as session:
            found = await service.leads_by_ids(session, [i for i in ids if i is not None])
        return [cls.from_model(found[i]) if i is not None and i in found else None for i in ids]
