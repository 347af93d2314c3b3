"""``syncHubSpotNow`` and the HubSpot sync's progress (``Integration.syncProgress``)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import strawberry
from strawberry.dataloader import DataLoader

from bizzly.errors import DomainError
from domain.crm_sync.models import HubSpotSyncRun
from domain.crm_sync.service import latest_runs, sync_hubspot_now
from graphql_api.context import Context, Info
from graphql_api.errors import UserError, user_errors
from graphql_api.permissions import CanManageIntegrations
from tenants.service import staff_actor


@strawberry.type(description="A HubSpot -> Bizzly sync run: where it is and what it did so far.")
class HubSpotSyncProgress:
    state: str = strawberry.field(description="queued, running, done or failed.")
    kind: str = strawberry.field(
        description="full (every contact) or incremental (changes since the last run)."
    )
    trigger: str = strawberry.field(description="schedule or manual.")
    read: int = strawberry.field(description="Contacts read from HubSpot.")
    created: int
    updated: int
    linked: int = strawberry.field(description="Contacts linked to a website account by email.")
    archived: int = strawberry.field(
        description="Contacts deleted in HubSpot (kept archived, out of lookups)."
    )
    merged: int = strawberry.field(description="Contacts folded into another by a HubSpot merge.")
    skipped: int = strawberry.field(description="Erased people, never imported again.")
    failed: int = strawberry.field(
        description="Contacts HubSpot sent that could not be stored (see the logs by HubSpot id)."
    )
    last_error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def from_model(cls, run: HubSpotSyncRun) -> HubSpotSyncProgress:
        return cls(
            state=run.state,
            kind=run.kind,
            trigger=run.trigger,
            read=run.read,
            created=run.created,
            updated=run.updated,
            linked=run.linked,
            archived=run.archived,
            merged=run.merged,
            skipped=run.skipped,
            failed=run.failed,
            last_error=run.last_error,
            created_at=run.created_at,
            started_at=run.started_at,
            finished_at=run.finished_at,
        )


def sync_progress_loader(ctx: Context) -> DataLoader[uuid.UUID, HubSpotSyncProgress | None]:
    """The newest run of every connection asked for, in one statement."""

    async def load(ids: Sequence[uuid.UUID]) -> list[HubSpotSyncProgress | None]:
        async with await ctx.session() as session:
            found = await latest_runs(session, list(ids))
        return [HubSpotSyncProgress.from_model(found[i]) if i in found else None for i in ids]

    return ctx.loaders.get("hubspot.sync_progress", lambda: DataLoader(load_fn=load))


@strawberry.type
class SyncHubSpotNowPayload:
    ok: bool = False
    progress: HubSpotSyncProgress | None = strawberry.field(
        default=None, description="The run queued (or the one already in progress)."
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class HubSpotSyncMutation:
    @strawberry.mutation(
        permission_classes=[CanManageIntegrations],
        description="Sync contacts from HubSpot now (incremental; full the first time). Returns at once: "
        "follow the run in `connections { syncProgress }`. A run already in progress is returned instead.",
    )
    async def sync_hub_spot_now(self, info: Info) -> SyncHubSpotNowPayload:
        ctx = info.context
        try:
            async with await ctx.session(write=True) as s, s.begin():
                run = await sync_hubspot_now(
                    s,
                    actor=await staff_actor(s, ctx.caller),
                    lag_seconds=ctx.settings.hubspot_sync_lag_seconds,
                )
                progress = HubSpotSyncProgress.from_model(run)
        except DomainError as exc:
            return SyncHubSpotNowPayload(errors=user_errors(exc))
        return SyncHubSpotNowPayload(ok=True, progress=progress)
