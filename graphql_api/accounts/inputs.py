"""Inputs of the accounts mutations, named and shaped as ``contract/accounts.graphql`` says."""

from __future__ import annotations

from datetime import date

import strawberry

from graphql_api.accounts.types import StaffRole


@strawberry.input
class SignUpInput:
    business_name: str
    slug: str | None = None
    timezone: str
    default_region: str
    name: str
    email: str
    password: str


@strawberry.input
class LogInInput:
    email: str
    password: str
    tenant_slug: str | None = strawberry.field(
        default=None, description="Needed when the user belongs to several businesses."
    )


@strawberry.input
class AddStaffMemberInput:
    email: str
    name: str
    role: StaffRole


@strawberry.input
class AcceptInvitationInput:
    token: str
    password: str


@strawberry.input
class ResetPasswordInput:
    token: str
    password: str


@strawberry.input
class ChangeStaffRoleInput:
    member_id: strawberry.ID
    role: StaffRole


@strawberry.input(description="Omitted fields are unchanged; closedDates replaces the whole set.")
class TenantSettingsInput:
    name: str | None = strawberry.UNSET
    timezone: str | None = strawberry.UNSET
    default_region: str | None = strawberry.UNSET
    cancellation_cutoff_hours: int | None = strawberry.UNSET
    minimum_notice_minutes: int | None = strawberry.UNSET
    slot_step_minutes: int | None = strawberry.UNSET
    closed_dates: list[date] | None = strawberry.UNSET
