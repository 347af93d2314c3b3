"""The GraphQL ``Customer`` type (a website account of the tenant).

Other contexts add fields here (``bookings``, ``subscriptions``) with resolvers that import from their own
modules; they read ``self.customer_id`` (and ``self.tenant_id``), never the ORM row.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

import strawberry
from strawberry import relay

from domain.customers.models import Customer as CustomerRow
from graphql_api.context import Info
from graphql_api.customers.loaders import customer_loader
from graphql_api.errors import forbidden, unauthenticated
from graphql_api.relay import Connection
from graphql_api.scheduling.fields import customer_bookings
from graphql_api.scheduling.types import Booking
from graphql_api.subscriptions.fields import customer_subscriptions
from graphql_api.subscriptions.types import CustomerSubscription
from tenants.permissions import Permission, role_can


@strawberry.type(description="A website account of the business's customer.")
class Customer(relay.Node):
    id: relay.NodeID[str]
    name: str
    email: str
    phone: str | None = strawberry.field(description="The account's own phone, E.164 (+447700900123).")
    phone_raw: str | None = strawberry.field(description="The phone as it was typed.")
    phone_proven: bool = strawberry.field(
        description="The phone is shown to be the customer's (verified in its WhatsApp chat, confirmed with "
        "confirmPhoneCode, or entered by staff). The business messages only a proven phone on WhatsApp."
    )
    whatsapp_opted_out: bool
    created_at: datetime
    updated_at: datetime
    customer_id: strawberry.Private[uuid.UUID]
    tenant_id: strawberry.Private[uuid.UUID]

    @classmethod
    def from_model(cls, row: CustomerRow) -> Customer:
        return cls(
            id=str(row.id),
            name=row.name,
            email=row.email,
            phone=row.phone_e164,
            phone_raw=row.phone_raw,
            phone_proven=row.phone_proven,
            whatsapp_opted_out=row.whatsapp_opted_out,
            created_at=row.created_at,
            updated_at=row.updated_at,
            customer_id=row.id,
            tenant_id=row.tenant_id,
        )

    @strawberry.field(description="The customer's bookings, latest start first (batched across customers).")
    async def bookings(
        self, info: Info, first: int | None = 20, after: str | None = None
    ) -> Connection[Booking]:
        return await customer_bookings(info, self.customer_id, first=first, after=after)

    @strawberry.field(
        description="The customer's subscriptions, newest first, with this period's quota left."
    )
    async def subscriptions(self, info: Info) -> list[CustomerSubscription]:
        return await customer_subscriptions(info, self.customer_id)

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Customer | None]:
        """Staff who may operate see any customer of their tenant; a customer sees only themself."""
        caller = info.context.caller
        if caller.kind is None:
            raise unauthenticated()
        if caller.is_staff and (caller.role is None or not role_can(caller.role, Permission.OPERATE)):
            raise forbidden()
        ids: list[uuid.UUID | None] = []
        for node_id in node_ids:
            try:
                ids.append(uuid.UUID(node_id))
            except ValueError:
                ids.append(None)
        if caller.is_customer:
            ids = [i if i == caller.subject_id else None for i in ids]
        loader = customer_loader(info.context)
        rows = await loader.load_many([i for i in ids if i is not None])
        found = {r.id: r for r in rows if r is not None}
        return [cls.from_model(found[i]) if i is not None and i in found else None for i in ids]
