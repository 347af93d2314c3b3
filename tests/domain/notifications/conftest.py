"""Fixtures for the notifications suite: the fake Meta and GA servers, a business with WhatsApp and Google
Analytics connected, hours and a service, and helpers to run the scheduler and read notifications."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bizzly.db.engine import Database, MaintenanceUse
from bizzly.outbox import OutboxRow
from bizzly.settings import Settings
from bizzly.tasks import Job
from bizzly.wiring import import_handlers
from domain.notifications.models import Notification
from tests.fakes.ga import GaFake, running_ga_fake
from tests.fakes.meta import MetaFake, running_meta_fake
from tests.integrations.analytics.test_google_analytics import connect as connect_ga
from tests.integrations.whatsapp.conftest import connect as connect_whatsapp
from tests.integrations.whatsapp.conftest import whatsapp_settings
from tests.support.accounts import SignedUp, _services, sign_up, tenant_uuid
from tests.support.graphql import GraphQLClient
from tests.support.scheduling import create_service, local, set_hours
from workers.scheduler import Scheduler


@pytest.fixture
async def meta() -> AsyncIterator[MetaFake]:
    async with running_meta_fake() as fake:
        yield fake


@pytest.fixture
async def ga() -> AsyncIterator[GaFake]:
    async with running_ga_fake() as fake:
        yield fake


@pytest.fixture
def settings(database_settings: dict[str, str], meta: MetaFake, ga: GaFake) -> Settings:
    return whatsapp_settings(database_settings, meta, ga_url=ga.url)


@dataclass
class Shop:
    owner: SignedUp
    tenant_id: uuid.UUID
    service_id: str
    zone: str

    def at(self, day: date, hour: int, minute: int = 0) -> datetime:
        return local(day, hour, minute, self.zone)


async def open_shop(
    gql: GraphQLClient, meta: MetaFake, slug: str, *, zone: str = "Europe/London", whatsapp: bool = True
) -> Shop:
    owner = await sign_up(gql, slug=slug, timezone=zone)
    if whatsapp:
        assert (await connect_whatsapp(gql, owner, meta))["errors"] == []
    assert (await connect_ga(gql, owner, "G-NOTIFY1234", "mp-secret-notify"))["errors"] == []
    await set_hours(gql, owner.access_token)
    service = await create_service(gql, owner.access_token, name="Haircut")
    return Shop(owner, await tenant_uuid(gql, slug), service["id"], zone)


def db(gql: GraphQLClient) -> Database:
    found: Database = _services(gql).db
    return found


async def notifications(gql: GraphQLClient, tenant_id: uuid.UUID, *where: Any) -> list[Notification]:
    async with db(gql).maintenance_session(MaintenanceUse.TESTS, write=False) as s:
        stmt = select(Notification).where(Notification.tenant_id == tenant_id, *where)
        return list((await s.execute(stmt.order_by(Notification.created_at, Notification.id))).scalars())


async def outbox_topics(gql: GraphQLClient, tenant_id: uuid.UUID, topic: str) -> list[OutboxRow]:
    async with db(gql).maintenance_session(MaintenanceUse.TESTS, write=False) as s:
        stmt = select(OutboxRow).where(OutboxRow.tenant_id == tenant_id, OutboxRow.topic == topic)
        return list((await s.execute(stmt)).scalars())


def scheduler(gql: GraphQLClient, settings: Settings, holder: str) -> Scheduler:
    """A scheduler running only the reminder job (the outbox is drained by the test itself)."""
    import_handlers()
    from workers.notifications import REMINDER_JOB, SCAN_EVERY, reminders

    services = _services(gql)
    return Scheduler(
        db=services.db,
        settings=settings,
        keys=services.keys,
        send=None,
        holder=holder,
        jobs=[Job(name=REMINDER_JOB, every=SCAN_EVERY, run=reminders)],
    )


async def two_schedulers_tick(gql: GraphQLClient, settings: Settings) -> list[list[str]]:
    """Two schedulers fire the same tick at once: the database lets one of them run the job."""
    a, b = scheduler(gql, settings, "scheduler-a"), scheduler(gql, settings, "scheduler-b")
    return list(await asyncio.gather(a.fire_due(), b.fire_due()))


def until(target: datetime) -> timedelta:
    from bizzly import clock

    return target - clock.now()
