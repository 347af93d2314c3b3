"""``updateNotificationSettings``: owners and admins (CanManageSettings)."""

from __future__ import annotations

import dataclasses

import strawberry

from bizzly.errors import DomainError
from domain.notifications import service as notifications
from domain.privacy import audit
from graphql_api.context import Info
from graphql_api.errors import user_errors
from graphql_api.notifications.types import (
    NotificationSettings,
    NotificationSettingsInput,
    UpdateNotificationSettingsPayload,
)
from graphql_api.permissions import CanManageSettings
from tenants import service as tenants

# The input's fields are the domain's settings changes, one for one.
FIELDS = tuple(f.name for f in dataclasses.fields(notifications.SettingsChanges))


@strawberry.type
class NotificationsMutation:
    @strawberry.mutation(
        permission_classes=[CanManageSettings],
        description="Change who is told what: omitted fields are unchanged; bad values change nothing.",
    )
    async def update_notification_settings(
        self, info: Info, input: NotificationSettingsInput
    ) -> UpdateNotificationSettingsPayload:
        ctx = info.context
        changes = notifications.SettingsChanges(
            **{name: getattr(input, name) for name in FIELDS if getattr(input, name) is not strawberry.UNSET}
        )
        try:
            async with await ctx.session(write=True) as s, s.begin():
                row, changed = await notifications.update_settings(s, changes=changes)
                if changed:
                    audit.record(
                        s,
                        actor=await tenants.staff_actor(s, ctx.caller),
                        action="notifications.settings_updated",
                        subject_type="Tenant",
                        subject_id=await ctx.tenant_id(),
                        detail=", ".join(changed),
                    )
                result = NotificationSettings.from_model(row)
        except DomainError as exc:
            return UpdateNotificationSettingsPayload(errors=user_errors(exc))
        return UpdateNotificationSettingsPayload(settings=result)
