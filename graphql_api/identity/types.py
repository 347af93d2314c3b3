"""GraphQL types of the phone lookup: CRM contacts and a resolution."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import Enum

import strawberry
from strawberry import relay

from domain.identity import service
from domain.identity.models import CrmContact as CrmContactRow
from graphql_api.context import Info
from graphql_api.customers.types import Customer
from graphql_api.errors import forbidden, unauthenticated
from graphql_api.relay import node_uuids
from tenants.permissions import Permission, role_can


@strawberry.enum
class SyncStatus(Enum):
    PENDING = "PENDING"
    SYNCED = "SYNCED"
    FAILED = "FAILED"
    NOT_CONNECTED = "NOT_CONNECTED"


@strawberry.enum(description="How a phone reached a website account.")
class ReachedVia(Enum):
    OWN_PHONE = strawberry.enum_value(
        "OWN_PHONE", description="The account's own profile phone (set by the customer or staff)."
    )
    CRM_CONTACT = strawberry.enum_value(
        "CRM_CONTACT",
        description="Only a CRM contact linked to the account has this phone (codes go to the email).",
    )


@strawberry.type(description="A contact of the business's CRM (HubSpot).")
class CrmContact(relay.Node):
    id: relay.NodeID[str]
    external_id: str = strawberry.field(description="The CRM's own id of the contact.")
    email: str | None
    first_name: str | None
    last_name: str | None
    phone: str | None = strawberry.field(
        description="The contact's first phone in E.164: its phone, else mobile, else WhatsApp phone."
    )
    landline_phone: str | None = strawberry.field(description="The CRM's phone property, E.164.")
    mobile_phone: str | None = strawberry.field(description="The CRM's mobile phone property, E.164.")
    whatsapp_phone: str | None = strawberry.field(description="The CRM's WhatsApp phone property, E.164.")
    sync_status: SyncStatus
    archived: bool
    created_at: datetime
    updated_at: datetime
    customer: Customer | None = strawberry.field(description="The linked website account, if any.")

    @classmethod
    def from_model(cls, row: CrmContactRow, customer: Customer | None) -> CrmContact:
        return cls(
            id=str(row.id),
            external_id=row.external_id,
            email=row.email,
            first_name=row.first_name,
            last_name=row.last_name,
            phone=row.phone_e164 or row.mobile_e164 or row.whatsapp_e164,
            landline_phone=row.phone_e164,
            mobile_phone=row.mobile_e164,
            whatsapp_phone=row.whatsapp_e164,
            sync_status=SyncStatus(row.sync_status),
            archived=row.archived,
            created_at=row.created_at,
            updated_at=row.updated_at,
            customer=customer,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[CrmContact | None]:
        """Staff who may operate only (customers never see CRM records)."""
        caller = info.context.caller
        if caller.kind is None:
            raise unauthenticated()
        if not caller.is_staff or caller.role is None or not role_can(caller.role, Permission.OPERATE):
            raise forbidden()
        ids = node_uuids(node_ids)
        async with await info.context.session() as session:
            found = await service.crm_contacts_with_customers(session, [i for i in ids if i is not None])
        result: list[CrmContact | None] = []
        for i in ids:
            pair = found.get(i) if i is not None else None
            if pair is None:
                result.append(None)
            else:
                row, customer = pair
                result.append(cls.from_model(row, Customer.from_model(customer) if customer else None))
        return result


@strawberry.type(description="A website account a phone reached, and how.")
class PhoneMatch:
    customer: Customer
    reached_via: ReachedVia


@strawberry.type(description="Who a phone number belongs to, across website accounts and CRM contacts.")
class PhoneResolution:
    normalized: str = strawberry.field(description="The phone in E.164.")
    accounts: list[Customer] = strawberry.field(
        description="The distinct website accounts: own-phone accounts first, then those reached through a "
        "linked CRM contact."
    )
    matches: list[PhoneMatch] = strawberry.field(
        description="The same accounts, each with how it was reached."
    )
    crm_contacts: list[CrmContact] = strawberry.field(
        description="Every CRM contact with this phone, each with its linked account or null."
    )

    @classmethod
    def from_resolution(cls, resolution: service.Resolution) -> PhoneResolution:
        matches = [
            PhoneMatch(customer=Customer.from_model(c), reached_via=ReachedVia(via.value))
            for c, via in resolution.accounts
        ]
        return cls(
            normalized=resolution.normalized,
            accounts=[m.customer for m in matches],
            matches=matches,
            crm_contacts=[
                CrmContact.from_model(r.contact, Customer.from_model(r.customer) if r.customer else None)
                for r in resolution.crm_contacts
            ],
        )
