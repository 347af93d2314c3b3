"""Every field declares one of these. A test walks the schema and fails on a field without one."""

from __future__ import annotations

from typing import Any, ClassVar

from strawberry.permission import BasePermission

from graphql_api.context import Info
from graphql_api.errors import ApiError, forbidden, unauthenticated
from tenants.permissions import Permission, role_can


class _Guard(BasePermission):
    message = "You are not allowed to do this."

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        ctx = info.context
        if ctx.auth_error is not None:
            raise ctx.auth_error
        return self.allowed(info)

    def allowed(self, info: Info) -> bool:
        raise NotImplementedError


class Public(_Guard):
    """Anyone, including anonymous callers (a bad bearer token is still refused)."""

    def allowed(self, info: Info) -> bool:
        return True


class Authenticated(_Guard):
    """Any logged-in staff member or customer."""

    def allowed(self, info: Info) -> bool:
        if info.context.caller.kind is None:
            raise unauthenticated()
        return True


class IsCustomer(_Guard):
    def allowed(self, info: Info) -> bool:
        caller = info.context.caller
        if caller.kind is None:
            raise unauthenticated()
        if not caller.is_customer:
            raise forbidden("Only a customer can do this.")
        return True


class _StaffPermission(_Guard):
    permission: ClassVar[Permission]

    def allowed(self, info: Info) -> bool:
        caller = info.context.caller
        if caller.kind is None:
            raise unauthenticated()
        if not caller.is_staff or caller.role is None:
            raise forbidden("Only the business's staff can do this.")
        if not role_can(caller.role, self.permission):
            raise forbidden(f"Your role ({caller.role.value}) cannot do this.")
        return True


def staff_can(info: Info, permission: Permission) -> bool:
    """Whether the caller is staff whose role grants ``permission`` (for visibility, not for refusing)."""
    caller = info.context.caller
    return caller.is_staff and caller.role is not None and role_can(caller.role, permission)


def staff(permission: Permission) -> type[BasePermission]:
    """A permission class for one cell of docs/design.md's table."""
    return type(f"Staff_{permission.name}", (_StaffPermission,), {"permission": permission})


CanOperate = staff(Permission.OPERATE)
CanReadSettings = staff(Permission.READ_SETTINGS)
CanManageSettings = staff(Permission.MANAGE_SETTINGS)
CanManageIntegrations = staff(Permission.MANAGE_INTEGRATIONS)
CanManageStaff = staff(Permission.MANAGE_STAFF)
CanOwnTenant = staff(Permission.OWN_TENANT)

__all__ = [
    "ApiError",
    "Authenticated",
    "CanManageIntegrations",
    "CanManageSettings",
    "CanManageStaff",
    "CanOperate",
    "CanOwnTenant",
    "CanReadSettings",
    "IsCustomer",
    "Public",
    "staff",
    "staff_can",
]
