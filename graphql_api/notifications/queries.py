"""``notificationSettings`` (anyone who reads settings) and ``notifications`` (the delivery log, staff)."""

from __future__ import annotations

import strawberry

from bizzly.errors import DomainError
from domain.notifications import service as notifications
from graphql_api.context import Info
from graphql_api.errors import from_domain
from graphql_api.notifications.types import Notification, NotificationSettings
from graphql_api.permissions import CanOperate, CanReadSettings
from graphql_api.relay import Connection, page_request


@strawberry.type
class NotificationsQuery:
    @strawberry.field(permission_classes=[CanReadSettings], description="Who is told what, automatically.")
    async def notification_settings(self, info: Info) -> NotificationSettings:
        async with await info.context.session() as session:
            return NotificationSettings.from_model(await notifications.get_settings(session))

    @strawberry.field(
        permission_classes=[CanOperate],
        description="Automatic notifications (booking notices, reminders, owner alerts), newest first.",
    )
    async def notifications(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Notification]:
        try:
            async with await info.context.session() as session:
                page, deliveries = await notifications.list_notifications(
                    session, page=page_request(first, after, last, before)
                )
        except DomainError as exc:
            raise from_domain(exc) from exc
        by_id = {d.row.id: d for d in deliveries}
        return Connection.from_page(page, lambda row: Notification.from_delivery(by_id[row.id]))
