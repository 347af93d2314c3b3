"""The audit log query: who (staff, customer, WhatsApp, system) did what to which object."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import strawberry
from strawberry import relay

from bizzly.errors import DomainError
from domain.privacy.audit import AuditEntry as AuditRow
from domain.privacy.audit_repository import audit_entries, audit_entries_by_ids
from graphql_api.context import Info
from graphql_api.errors import from_domain
from graphql_api.permissions import CanManageIntegrations, staff_can
from graphql_api.relay import Connection, gid, node_uuids, page_request
from tenants.permissions import Permission


@strawberry.type(description="One change: who did what to which object.")
class AuditEntry(relay.Node):
    id: relay.NodeID[str]
    action: str = strawberry.field(description="What happened, e.g. `booking.created`.")
    actor: str = strawberry.field(
        description="Who: `staff:<email>`, `customer:<id>`, `whatsapp:<phone>` or `system`."
    )
    subject_type: str = strawberry.field(description="The GraphQL type of the object, e.g. `Booking`.")
    subject_id: relay.GlobalID | None = strawberry.field(description="The object's global id.")
    detail: str | None
    created_at: datetime

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[AuditEntry | None]:
        """Only those who may read the audit log (owners and admins) can fetch an entry."""
        ids = node_uuids(node_ids)
        if not staff_can(info, Permission.MANAGE_INTEGRATIONS):
            return [None for _ in ids]
        async with await info.context.session() as session:
            rows = await audit_entries_by_ids(session, [i for i in ids if i is not None])
        found = {r.id: r for r in rows}
        return [cls.from_model(found[i]) if i in found else None for i in ids]

    @classmethod
    def from_model(cls, row: AuditRow) -> AuditEntry:
        return cls(
            id=str(row.id),
            action=row.action,
            actor=row.actor,
            subject_type=row.subject_type,
            subject_id=gid(row.subject_type, row.subject_id) if row.subject_id else None,
            detail=row.detail,
            created_at=row.created_at,
        )


@strawberry.type
class AuditQuery:
    @strawberry.field(
        permission_classes=[CanManageIntegrations],
        description="The business's audit log, newest first (owners and admins).",
    )
    async def audit_log(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        action: str | None = None,
    ) -> Connection[AuditEntry]:
        try:
            async with await info.context.session() as session:
                page = await audit_entries(
                    session, page=page_request(first, after, last, before), action=action
                )
        except DomainError as exc:
            raise from_domain(exc) from exc
        return Connection.from_page(page, AuditEntry.from_model)
