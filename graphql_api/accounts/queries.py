"""Queries about the staff member who is asking and their team."""

from __future__ import annotations

import strawberry

from bizzly.errors import DomainError
from graphql_api.accounts.types import StaffInvitation, StaffMember, StaffRole, Tenant, User, Viewer
from graphql_api.context import Info
from graphql_api.errors import from_domain
from graphql_api.permissions import CanManageStaff, Public
from graphql_api.relay import Connection, page_request
from tenants import service
from tenants.repository import TenantDirectory, Users


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
            user = await Users(session).get(caller.subject_id)
            tenant = await TenantDirectory(session).get(caller.tenant_id)
        if user is None or tenant is None:
            return None
        return Viewer(
            user=User.from_model(user), tenant=Tenant.from_model(tenant), role=StaffRole(caller.role.value)
        )

    @strawberry.field(
        permission_classes=[CanManageStaff], description="The business's team, oldest member first."
    )
    async def staff_members(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[StaffMember]:
        try:
            request = page_request(first=first, after=after, last=last, before=before)
            async with await info.context.session() as s:
                page, users = await service.staff_members(s, request=request)
        except DomainError as exc:
            raise from_domain(exc) from exc
        return Connection[StaffMember].from_page(page, lambda m: StaffMember.from_model(m, users[m.user_id]))

    @strawberry.field(
        permission_classes=[CanManageStaff],
        description="Invitations sent and not yet accepted, expired or withdrawn; oldest first, at most 100.",
    )
    async def staff_invitations(self, info: Info) -> list[StaffInvitation]:
        async with await info.context.session() as s:
            pending = await service.pending_invitations(s)
        return [StaffInvitation.from_model(i) for i in pending]
