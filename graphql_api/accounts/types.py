"""GraphQL types of tenants, staff users and memberships, and the accounts mutations' payloads."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from enum import Enum

import strawberry
from strawberry import relay

from graphql_api.context import Info
from graphql_api.errors import UserError, forbidden, unauthenticated
from graphql_api.relay import node_uuids
from tenants import models, service
from tenants.permissions import Permission, role_can


@strawberry.enum
class StaffRole(Enum):
    OWNER = "OWNER"
    ADMIN = "ADMIN"
    STAFF = "STAFF"


@strawberry.type
class Tenant(relay.Node):
    id: relay.NodeID[str]
    name: str
    slug: str
    timezone: str
    default_region: str
    cancellation_cutoff_hours: int
    minimum_notice_minutes: int
    slot_step_minutes: int
    closed_dates: list[date] = strawberry.field(description="Days the business is closed, in its time zone.")

    @classmethod
    def from_model(cls, tenant: models.Tenant) -> Tenant:
        return cls(
            id=str(tenant.id),
            name=tenant.name,
            slug=tenant.slug,
            timezone=tenant.timezone,
            default_region=tenant.default_region,
            cancellation_cutoff_hours=tenant.cancellation_cutoff_hours,
            minimum_notice_minutes=tenant.minimum_notice_minutes,
            slot_step_minutes=tenant.slot_step_minutes,
            closed_dates=sorted(date.fromisoformat(d) for d in tenant.closed_dates or []),
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Tenant | None]:
        """A caller (staff or customer) sees their own business only."""
        caller = info.context.caller
        if caller.kind is None or caller.tenant_id is None:
            raise unauthenticated()
        ids = node_uuids(node_ids)
        if caller.tenant_id not in ids:
            return [None] * len(ids)
        async with info.context.services.db.tenant_session(caller.tenant_id, write=False) as s:
            row = await service.get_tenant(s, caller.tenant_id)
        found = cls.from_model(row) if row is not None else None
        return [found if i == caller.tenant_id else None for i in ids]


@strawberry.type
class User(relay.Node):
    id: relay.NodeID[str]
    email: str
    name: str

    @classmethod
    def from_model(cls, user: models.User) -> User:
        return cls(id=str(user.id), email=user.email, name=user.name)

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[User | None]:
        """Staff see themselves; those who manage the team see its members too. Customers see none."""
        caller = info.context.caller
        if caller.kind is None:
            raise unauthenticated()
        ids = node_uuids(node_ids)
        if not caller.is_staff or caller.tenant_id is None or caller.role is None:
            return [None] * len(ids)
        if not role_can(caller.role, Permission.MANAGE_STAFF):
            ids = [i if i == caller.subject_id else None for i in ids]
        wanted = [i for i in ids if i is not None]
        async with info.context.services.db.tenant_session(caller.tenant_id, write=False) as s:
            users = await service.team_users(s, wanted) if wanted else {}
        return [cls.from_model(users[i]) if i is not None and i in users else None for i in ids]


@strawberry.type
class Viewer:
    user: User
    tenant: Tenant
    role: StaffRole


@strawberry.type(description="A person on a business's team, with their role there.")
class StaffMember(relay.Node):
    id: relay.NodeID[str]
    role: StaffRole
    user: User

    @classmethod
    def from_model(cls, membership: models.Membership, user: models.User) -> StaffMember:
        return cls(id=str(membership.id), role=StaffRole(membership.role), user=User.from_model(user))

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[StaffMember | None]:
        """Members of the caller's business, for those who manage the team (as ``staffMembers``)."""
        caller = info.context.caller
        if caller.kind is None:
            raise unauthenticated()
        if not caller.is_staff or caller.role is None or caller.tenant_id is None:
            raise forbidden("Only the business's staff can do this.")
        if not role_can(caller.role, Permission.MANAGE_STAFF):
            raise forbidden(f"Your role ({caller.role.value}) cannot do this.")
        ids = node_uuids(node_ids)
        wanted = [i for i in ids if i is not None]
        async with info.context.services.db.tenant_session(caller.tenant_id, write=False) as s:
            found = await service.members_by_ids(s, wanted) if wanted else {}
        return [cls.from_model(*found[i]) if i is not None and i in found else None for i in ids]


@strawberry.type
class SignUpPayload:
    tenant: Tenant | None = None
    user: User | None = None
    access_token: str | None = None
    refresh_token: str | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class LogInPayload:
    access_token: str | None = None
    refresh_token: str | None = None
    tenant: Tenant | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class RefreshTokenPayload:
    access_token: str | None = None
    refresh_token: str | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class AcceptInvitationPayload:
    access_token: str | None = None
    refresh_token: str | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type(description="A pending invitation to a business's team, accepted by the emailed link.")
class StaffInvitation:
    email: str
    name: str
    role: StaffRole
    expires_at: datetime

    @classmethod
    def from_model(cls, invitation: models.StaffInvitation) -> StaffInvitation:
        return cls(
            email=invitation.email,
            name=invitation.name,
            role=StaffRole(invitation.role),
            expires_at=invitation.expires_at,
        )


@strawberry.type
class AddStaffMemberPayload:
    member: StaffMember | None = strawberry.field(
        default=None,
        description="Always null now: the person becomes a member when they accept the invitation.",
    )
    invitation: StaffInvitation | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ChangeStaffRolePayload:
    member: StaffMember | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class WithdrawStaffInvitationPayload:
    ok: bool = False
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class RemoveStaffMemberPayload:
    ok: bool = False
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class RequestPasswordResetPayload:
    ok: bool = False
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ResetPasswordPayload:
    ok: bool = False
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class LogOutPayload:
    ok: bool = False
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class UpdateTenantSettingsPayload:
    tenant: Tenant | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
