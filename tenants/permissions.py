"""docs/design.md's permission table for staff roles, in one place."""

from __future__ import annotations

from enum import StrEnum

from tenants.models import StaffRole


class Permission(StrEnum):
    OPERATE = "customers, bookings, conversations, help articles"
    READ_SETTINGS = "read services, plans, hours, tenant and notification settings"
    MANAGE_SETTINGS = "edit services, plans, hours, tenant and notification settings"
    MANAGE_INTEGRATIONS = "integrations, erasure, audit log"
    MANAGE_STAFF = "staff members and roles"
    OWN_TENANT = "delete the tenant, transfer ownership"


_ALL = set(Permission)
GRANTS: dict[StaffRole, frozenset[Permission]] = {
    StaffRole.OWNER: frozenset(_ALL),
    StaffRole.ADMIN: frozenset(_ALL - {Permission.OWN_TENANT}),
    StaffRole.STAFF: frozenset({Permission.OPERATE, Permission.READ_SETTINGS}),
}


def role_can(role: StaffRole, permission: Permission) -> bool:
    return permission in GRANTS[role]


def can_manage_member(actor: StaffRole, target: StaffRole) -> bool:
    """Owners manage everyone; admins manage STAFF members only (and may only grant STAFF)."""
    if actor is StaffRole.OWNER:
        return True
    return actor is StaffRole.ADMIN and target is StaffRole.STAFF
