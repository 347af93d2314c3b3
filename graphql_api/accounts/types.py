"""GraphQL types of tenants, staff users and memberships."""

from __future__ import annotations

from enum import Enum

import strawberry
from strawberry import relay

from tenants import models


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
    closed_dates: list[str]

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
            closed_dates=list(tenant.closed_dates or []),
        )


@strawberry.type
class User(relay.Node):
    id: relay.NodeID[str]
    email: str
    name: str

    @classmethod
    def from_model(cls, user: models.User) -> User:
        return cls(id=str(user.id), email=user.email, name=user.name)


@strawberry.type
class Viewer:
    user: User
    tenant: Tenant
    role: StaffRole
