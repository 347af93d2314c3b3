"""Queries about the staff member who is asking."""

from __future__ import annotations

import strawberry

from graphql_api.accounts.types import StaffRole, Tenant, User, Viewer
from graphql_api.context import Info
from graphql_api.permissions import Public
from tenants.models import Tenant as TenantRow
from tenants.models import User as UserRow


@strawberry.type
class AccountsQuery:
    @strawberry.field(
        permission_classes=[Public],
        description="The logged-in staff member; null for a customer or an anonymous caller.",
    )
    async def viewer(self, info: Info) -> Viewer | None:
        caller = info.context.caller
        if (
            not caller.is_staff
            or caller.tenant_id is None
            or caller.subject_id is None
            or caller.role is None
        ):
            return None
        async with info.context.services.db.tenant_session(caller.tenant_id, write=False) as session:
            user = await session.get(UserRow, caller.subject_id)
            tenant = await session.get(TenantRow, caller.tenant_id)
        if user is None or tenant is None:
            return None
        return Viewer(
            user=User.from_model(user), tenant=Tenant.from_model(tenant), role=StaffRole(caller.role.value)
        )
