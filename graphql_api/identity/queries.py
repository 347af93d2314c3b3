"""The phone lookup across website accounts and CRM contacts (staff)."""

from __future__ import annotations

import strawberry

from bizzly.errors import DomainError
from domain.customers.service import current_tenant
from domain.identity import service
from graphql_api.context import Info
from graphql_api.errors import from_domain
from graphql_api.identity.types import PhoneResolution
from graphql_api.permissions import CanOperate


@strawberry.type
class IdentityQuery:
    @strawberry.field(
        permission_classes=[CanOperate],
        description="The website accounts and CRM contacts a phone (any format the business's country "
        "can parse) belongs to. An unparseable phone is a BAD_USER_INPUT error.",
    )
    async def resolve_phone(self, info: Info, phone: str) -> PhoneResolution:
        try:
            async with await info.context.session() as session:
                tenant = await current_tenant(session)
                resolution = await service.resolve_phone(session, tenant=tenant, raw=phone)
        except DomainError as exc:
            raise from_domain(exc) from exc
        return PhoneResolution.from_resolution(resolution)
