"""Accounts mutations: sign-up, log-in, tokens, log-out, the team, password resets and tenant settings.

Each resolver owns its transaction; a ``DomainError`` raised inside it rolls everything back and becomes
the payload's ``errors``. Permission refusals (and unusable tokens) are top-level errors with a code.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import strawberry

from bizzly.db.engine import MaintenanceUse
from bizzly.errors import DomainError, ErrorCode, Invalid
from domain.customers import service as customers
from domain.privacy import audit
from graphql_api.accounts.inputs import (
    AcceptInvitationInput,
    AddStaffMemberInput,
    ChangeStaffRoleInput,
    LogInInput,
    ResetPasswordInput,
    SignUpInput,
    TenantSettingsInput,
)
from graphql_api.accounts.types import (
    AcceptInvitationPayload,
    AddStaffMemberPayload,
    ChangeStaffRolePayload,
    LogInPayload,
    LogOutPayload,
    RefreshTokenPayload,
    RemoveStaffMemberPayload,
    RequestPasswordResetPayload,
    ResetPasswordPayload,
    SignUpPayload,
    StaffInvitation,
    StaffMember,
    Tenant,
    UpdateTenantSettingsPayload,
    User,
    WithdrawStaffInvitationPayload,
)
from graphql_api.context import Info
from graphql_api.errors import ApiError, bad_input, forbidden, unauthenticated, user_errors
from graphql_api.permissions import CanManageSettings, CanManageStaff, Public
from graphql_api.relay import parse_id
from tenants import service
from tenants.models import ActionKind, StaffRole, SubjectKind
from tenants.principal import Principal


class TokenExchange(Public):
    """Anyone, and a stale bearer token is ignored: these operations exist to get a new token (log in,
    refresh, accept an invitation, reset a password) or to end one, so an expired token that a client
    sends along with every request must not block them (it would lock the user out until they clear it)."""

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return True


def _refuse_forbidden(exc: DomainError) -> None:
    """A refusal by role (an admin acting on an owner) is a permission failure: top-level, with a code."""
    if exc.code is ErrorCode.FORBIDDEN:
        raise forbidden(exc.message) from exc


def _staff_principal(user_id: uuid.UUID) -> Principal:
    return Principal(kind=SubjectKind.STAFF, subject_id=user_id)


@strawberry.type
class AccountsMutation:
    @strawberry.mutation(
        permission_classes=[TokenExchange],
        description="Create a business and its owner; returns the owner's tokens.",
    )
    async def sign_up(self, info: Info, input: SignUpInput) -> SignUpPayload:
        services = info.context.services
        try:
            async with services.db.maintenance_session(MaintenanceUse.SIGNUP) as s, s.begin():
                done = await service.sign_up(
                    s,
                    tokens=services.tokens,
                    settings=services.settings,
                    business_name=input.business_name,
                    slug=input.slug,
                    timezone=input.timezone,
                    default_region=input.default_region,
                    name=input.name,
                    email=input.email,
                    password=input.password,
                )
                entry = audit.record(
                    s,
                    actor=f"staff:{done.user.email}",
                    action="tenant.created",
                    subject_type="Tenant",
                    subject_id=done.tenant.id,
                )
                # The maintenance session is bound to no tenant: the entry names its own.
                entry.tenant_id = done.tenant.id
        except DomainError as exc:
            return SignUpPayload(errors=user_errors(exc))
        return SignUpPayload(
            tenant=Tenant.from_model(done.tenant),
            user=User.from_model(done.user),
            access_token=done.tokens.access_token,
            refresh_token=done.tokens.refresh_token,
        )

    @strawberry.mutation(
        permission_classes=[TokenExchange], description="Staff log-in by email and password."
    )
    async def log_in(self, info: Info, input: LogInInput) -> LogInPayload:
        ctx = info.context
        services = ctx.services
        slug = input.tenant_slug.strip().lower() if input.tenant_slug and input.tenant_slug.strip() else None
        if slug and ctx.header_slug and slug != ctx.header_slug:
            raise bad_input("The X-Bizzly-Tenant header and tenantSlug name different businesses.")
        async with services.db.maintenance_session(MaintenanceUse.LOGIN) as s, s.begin():
            outcome = await service.log_in(
                s,
                tokens=services.tokens,
                settings=services.settings,
                keys=services.keys,
                email=input.email,
                password=input.password,
                tenant_slug=slug or ctx.header_slug,
                client_ip=ctx.client_ip,
            )
            if outcome.value is not None:
                done = outcome.value
                entry = audit.record(
                    s,
                    actor=f"staff:{done.user.email}",
                    action="staff.logged_in",
                    subject_type="User",
                    subject_id=done.user.id,
                )
                entry.tenant_id = done.tenant.id  # the maintenance session is bound to no tenant
        await asyncio.sleep(outcome.delay)  # an account under attack is slowed down, never locked
        if outcome.error is not None or outcome.value is None:
            return LogInPayload(errors=user_errors(outcome.error or Invalid("Log-in failed.")))
        done = outcome.value
        return LogInPayload(
            access_token=done.tokens.access_token,
            refresh_token=done.tokens.refresh_token,
            tenant=Tenant.from_model(done.tenant),
        )

    @strawberry.mutation(
        permission_classes=[TokenExchange],
        description="Trade a refresh token (staff or customer) for a new pair; each works once.",
    )
    async def refresh_token(self, info: Info, refresh_token: str) -> RefreshTokenPayload:
        services = info.context.services
        async with services.db.public_session(write=True) as s, s.begin():
            outcome = await service.rotate_refresh_token(
                s, tokens=services.tokens, settings=services.settings, refresh_token=refresh_token
            )
        if outcome.error is not None or outcome.value is None:
            # An unusable refresh token is an authentication failure, as for an access token.
            raise unauthenticated(outcome.error.message if outcome.error else "Log in again.")
        return RefreshTokenPayload(
            access_token=outcome.value.access_token, refresh_token=outcome.value.refresh_token
        )

    @strawberry.mutation(
        permission_classes=[TokenExchange],
        description="End the log-in of this refresh token (staff or customer); always ok.",
    )
    async def log_out(self, info: Info, refresh_token: str) -> LogOutPayload:
        async with info.context.services.db.public_session(write=True) as s, s.begin():
            await service.log_out(s, refresh_token=refresh_token)
        return LogOutPayload(ok=True)

    @strawberry.mutation(
        permission_classes=[CanManageStaff],
        description="Invite a person to the team: they are emailed a link (acceptInvitation). Until they "
        "accept, nothing about their own account changes and `member` is null.",
    )
    async def add_staff_member(self, info: Info, input: AddStaffMemberInput) -> AddStaffMemberPayload:
        ctx = info.context
        try:
            async with await ctx.session(write=True) as s, s.begin():
                invitation = await service.add_staff_member(
                    s,
                    keys=ctx.services.keys,
                    settings=ctx.settings,
                    caller=ctx.caller,
                    email=input.email,
                    name=input.name,
                    role=StaffRole(input.role.value),
                )
                audit.record(
                    s,
                    actor=await service.staff_actor(s, ctx.caller),
                    action="staff.invited",
                    subject_type="StaffInvitation",
                    subject_id=invitation.id,
                    detail=f"role={invitation.role}",
                )
        except DomainError as exc:
            _refuse_forbidden(exc)
            return AddStaffMemberPayload(errors=user_errors(exc))
        return AddStaffMemberPayload(invitation=StaffInvitation.from_model(invitation))

    @strawberry.mutation(
        permission_classes=[TokenExchange],
        description="Accept a team invitation from its emailed link: someone new chooses a password, someone "
        "with a Bizzly account confirms with theirs. Returns tokens for the inviting business.",
    )
    async def accept_invitation(self, info: Info, input: AcceptInvitationInput) -> AcceptInvitationPayload:
        ctx = info.context
        services = ctx.services
        try:
            async with services.db.public_session() as s:
                target = await service.action_token_target(s, token=input.token)
            if target is None or target.kind is not ActionKind.INVITATION or target.tenant_id is None:
                raise Invalid("This invitation link is not valid. Ask for a new one.", field="token")
            async with services.db.tenant_session(target.tenant_id, write=True) as s, s.begin():
                outcome = await service.accept_invitation(
                    s,
                    tokens=services.tokens,
                    settings=services.settings,
                    keys=services.keys,
                    token=input.token,
                    password=input.password,
                    client_ip=ctx.client_ip,
                )
                issued = outcome.value
                if issued is not None:
                    audit.record(
                        s,
                        actor=await service.staff_actor(s, _staff_principal(issued.subject_id)),
                        action="staff.invitation_accepted",
                        subject_type="User",
                        subject_id=issued.subject_id,
                    )
        except DomainError as exc:
            return AcceptInvitationPayload(errors=user_errors(exc))
        await asyncio.sleep(outcome.delay)
        if issued is None:  # a wrong password: its failure is counted (committed above)
            return AcceptInvitationPayload(errors=user_errors(outcome.error or Invalid("Not accepted.")))
        return AcceptInvitationPayload(access_token=issued.access_token, refresh_token=issued.refresh_token)

    @strawberry.mutation(
        permission_classes=[TokenExchange],
        description="Mail a reset link: staff without tenantSlug, that business's customer with it. "
        "Always ok when the input is well formed (accounts cannot be discovered).",
    )
    async def request_password_reset(
        self, info: Info, email: str, tenant_slug: str | None = None
    ) -> RequestPasswordResetPayload:
        ctx = info.context
        services = ctx.services
        try:
            if tenant_slug is None or not tenant_slug.strip():
                async with services.db.maintenance_session(MaintenanceUse.PASSWORD_RESET) as s, s.begin():
                    await service.request_password_reset(
                        s, keys=services.keys, settings=services.settings, email=email
                    )
                return RequestPasswordResetPayload(ok=True)
            slug = tenant_slug.strip().lower()
            try:
                tenant_id = await ctx.tenant_id(slug=slug)
            except ApiError as exc:
                if exc.code != "NOT_FOUND":
                    raise
                raise DomainError(ErrorCode.NOT_FOUND, str(exc), field="tenantSlug") from exc
            async with services.db.tenant_session(tenant_id, write=True) as s, s.begin():
                await customers.request_password_reset(
                    s, keys=services.keys, settings=services.settings, email=email
                )
        except DomainError as exc:
            return RequestPasswordResetPayload(errors=user_errors(exc))
        return RequestPasswordResetPayload(ok=True)

    @strawberry.mutation(
        permission_classes=[TokenExchange],
        description="Choose a new password from a reset link (staff or customer); ends every log-in.",
    )
    async def reset_password(self, info: Info, input: ResetPasswordInput) -> ResetPasswordPayload:
        services = info.context.services
        invalid = Invalid("This link is not valid or was already used. Ask for a new one.", field="token")
        try:
            async with services.db.public_session() as s:
                target = await service.action_token_target(s, token=input.token)
            if target is None or target.tenant_id is None:
                raise invalid
            async with services.db.tenant_session(target.tenant_id, write=True) as s, s.begin():
                if target.kind is ActionKind.STAFF_PASSWORD_RESET:
                    user = await service.reset_password(s, token=input.token, password=input.password)
                    audit.record(
                        s,
                        actor=f"staff:{user.email}",
                        action="staff.password_reset",
                        subject_type="User",
                        subject_id=user.id,
                    )
                elif target.kind is ActionKind.CUSTOMER_PASSWORD_RESET:
                    await customers.reset_password(s, token=input.token, password=input.password)
                else:
                    raise invalid
        except DomainError as exc:
            return ResetPasswordPayload(errors=user_errors(exc))
        return ResetPasswordPayload(ok=True)

    @strawberry.mutation(
        permission_classes=[CanManageStaff],
        description="Owners change anyone's role; admins only STAFF members. A business keeps an owner.",
    )
    async def change_staff_role(self, info: Info, input: ChangeStaffRoleInput) -> ChangeStaffRolePayload:
        ctx = info.context
        try:
            member_id = parse_id(input.member_id, "StaffMember", field="memberId")
            async with await ctx.session(write=True) as s, s.begin():
                change = await service.change_staff_role(
                    s, caller=ctx.caller, member_id=member_id, role=StaffRole(input.role.value)
                )
                if change.previous.value != change.member.role:
                    audit.record(
                        s,
                        actor=await service.staff_actor(s, ctx.caller),
                        action="staff.role_changed",
                        subject_type="StaffMember",
                        subject_id=change.member.id,
                        detail=f"{change.previous.value} -> {change.member.role}",
                    )
        except DomainError as exc:
            _refuse_forbidden(exc)
            return ChangeStaffRolePayload(errors=user_errors(exc))
        return ChangeStaffRolePayload(member=StaffMember.from_model(change.member, change.user))

    @strawberry.mutation(
        permission_classes=[CanManageStaff],
        description="Withdraw the pending invitation to this email: its link stops working.",
    )
    async def withdraw_staff_invitation(self, info: Info, email: str) -> WithdrawStaffInvitationPayload:
        ctx = info.context
        try:
            async with await ctx.session(write=True) as s, s.begin():
                actor = await service.staff_actor(s, ctx.caller)
                withdrawn = await service.withdraw_invitation(s, caller=ctx.caller, email=email)
                audit.record(
                    s,
                    actor=actor,
                    action="staff.invitation_withdrawn",
                    subject_type="StaffInvitation",
                    subject_id=withdrawn.id,
                    detail=f"role={withdrawn.role}",
                )
        except DomainError as exc:
            _refuse_forbidden(exc)
            return WithdrawStaffInvitationPayload(errors=user_errors(exc))
        return WithdrawStaffInvitationPayload(ok=True)

    @strawberry.mutation(
        permission_classes=[CanManageStaff],
        description="Take a person off the team and end their log-ins here. The last owner stays.",
    )
    async def remove_staff_member(self, info: Info, member_id: strawberry.ID) -> RemoveStaffMemberPayload:
        ctx = info.context
        try:
            row_id = parse_id(member_id, "StaffMember", field="memberId")
            async with await ctx.session(write=True) as s, s.begin():
                actor = await service.staff_actor(s, ctx.caller)
                removed = await service.remove_staff_member(s, caller=ctx.caller, member_id=row_id)
                audit.record(
                    s,
                    actor=actor,
                    action="staff.removed",
                    subject_type="StaffMember",
                    subject_id=removed.id,
                    detail=f"role={removed.role}",
                )
        except DomainError as exc:
            _refuse_forbidden(exc)
            return RemoveStaffMemberPayload(errors=user_errors(exc))
        return RemoveStaffMemberPayload(ok=True)

    @strawberry.mutation(
        permission_classes=[CanManageSettings],
        description="Change the business's settings: omitted fields are unchanged.",
    )
    async def update_tenant_settings(
        self, info: Info, input: TenantSettingsInput
    ) -> UpdateTenantSettingsPayload:
        ctx = info.context
        changes = service.SettingsChanges(
            **{
                name: getattr(input, name)
                for name in (
                    "name",
                    "timezone",
                    "default_region",
                    "cancellation_cutoff_hours",
                    "minimum_notice_minutes",
                    "slot_step_minutes",
                    "closed_dates",
                )
                if getattr(input, name) is not strawberry.UNSET
            }
        )
        try:
            async with await ctx.session(write=True) as s, s.begin():
                tenant, changed = await service.update_tenant_settings(
                    s, tenant_id=await ctx.tenant_id(), changes=changes
                )
                if changed:
                    audit.record(
                        s,
                        actor=await service.staff_actor(s, ctx.caller),
                        action="tenant.settings_updated",
                        subject_type="Tenant",
                        subject_id=tenant.id,
                        detail=", ".join(changed),
                    )
        except DomainError as exc:
            return UpdateTenantSettingsPayload(errors=user_errors(exc))
        return UpdateTenantSettingsPayload(tenant=Tenant.from_model(tenant))
