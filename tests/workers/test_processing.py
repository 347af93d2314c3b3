"""Running outbox rows: backoff, rate-limit retries, dead rows, idempotency and the built-in handlers."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from bizzly import clock
from bizzly.db.engine import Database, MaintenanceUse
from bizzly.outbox import (
    InboxEvent,
    OutboxRow,
    OutboxStatus,
    PermanentFailure,
    RetryLater,
    add_outbox,
    record_inbox,
)
from bizzly.settings import Settings
from bizzly.tasks import OutboxHandler, TaskContext, inbox_handler, unregister
from domain.privacy.audit import record
from tests.conftest import make_settings
from tests.fakes.smtp import SmtpFake
from tests.support.outbox import RecordingMailer, drain_outbox
from tests.workers.conftest import add_row, count_effects, get_row, make_tenant
from workers.processing import BACKOFF_BASE, process_row
from workers.relay import claim_due
from workers.resources import Resources

Register = Callable[[str, OutboxHandler], None]


async def dispatch_one(db: Database, settings: Settings) -> None:
    """What the relay does before sending: mark the due rows dispatched."""
    async with db.maintenance_session(MaintenanceUse.TESTS) as s, s.begin():
        await claim_due(s, settings)


async def effect(ctx: TaskContext, row: OutboxRow, data: dict[str, Any]) -> None:
    """The handler's own database effect, in the row's transaction."""
    record(ctx.session, actor="system", action=row.topic, subject_type="Outbox", subject_id=row.id)


async def test_a_failing_handler_backs_off_and_keeps_no_effect(
    settings: Settings, db: Database, tenant: uuid.UUID, register: Register
) -> None:
    async def fails(ctx: TaskContext, row: OutboxRow, data: dict[str, Any]) -> None:
        await effect(ctx, row, data)
        raise ConnectionError("vendor down")

    register("test.fails", fails)
    row_id = await add_row(db, tenant, "test.fails", {"n": 1})
    res = Resources.build(settings, RecordingMailer())
    try:
        delays = []
        for attempt in (1, 2, 3):
            await dispatch_one(db, settings)
            started = clock.now()
            assert await process_row(res, tenant, row_id) == OutboxStatus.PENDING
            row = await get_row(db, row_id)
            assert row.attempts == attempt
            assert row.last_error == "ConnectionError: vendor down"
            delay = row.available_at - started
            ceiling = BACKOFF_BASE * 2 ** (attempt - 1)
            assert ceiling / 2 - timedelta(seconds=1) <= delay <= ceiling
            delays.append(delay)
            # Not due before its time: the relay leaves it alone.
            await dispatch_one(db, settings)
            assert (await get_row(db, row_id)).status == OutboxStatus.PENDING
            clock.advance(delay + timedelta(seconds=1))
        assert delays[2] > delays[0]
        # The failed runs' own rows were rolled back with them.
        assert await count_effects(db, "test.fails") == 0
    finally:
        await res.aclose()


async def test_retry_later_moves_the_row_without_using_an_attempt(
    settings: Settings, db: Database, tenant: uuid.UUID, register: Register
) -> None:
    at = clock.now() + timedelta(seconds=10)

    async def rate_limited(ctx: TaskContext, row: OutboxRow, data: dict[str, Any]) -> None:
        raise RetryLater(at, "HTTP 429")

    register("test.limited", rate_limited)
    row_id = await add_row(db, tenant, "test.limited", {})
    res = Resources.build(settings, RecordingMailer())
    try:
        for _ in range(3):
            await dispatch_one(db, settings)
            assert await process_row(res, tenant, row_id) == OutboxStatus.PENDING
        row = await get_row(db, row_id)
        assert row.attempts == 0
        assert row.available_at == at
        assert row.last_error == "retry later: HTTP 429"
    finally:
        await res.aclose()


async def test_a_rate_limit_holds_the_tenants_rows_for_that_provider_only(
    settings: Settings, db: Database, register: Register
) -> None:
    at = clock.now() + timedelta(seconds=10)

    async def limited(ctx: TaskContext, row: OutboxRow, data: dict[str, Any]) -> None:
        raise RetryLater(at, "HTTP 429", topic_prefix="vendor.")

    register("vendor.push", limited)
    tenant, other = await make_tenant(db, "busy-shop"), await make_tenant(db, "calm-shop")
    first = await add_row(db, tenant, "vendor.push", {"n": 1})
    await dispatch_one(db, settings)
    sibling = await add_row(db, tenant, "vendor.form", {"n": 2})
    unrelated = await add_row(db, tenant, "email.send", {"n": 3})
    elsewhere = await add_row(db, other, "vendor.form", {"n": 4})
    res = Resources.build(settings, RecordingMailer())
    try:
        assert await process_row(res, tenant, first) == OutboxStatus.PENDING
    finally:
        await res.aclose()
    assert (await get_row(db, first)).available_at == at
    assert (await get_row(db, sibling)).available_at == at
    assert (await get_row(db, unrelated)).available_at < at
    assert (await get_row(db, elsewhere)).available_at < at


async def test_a_row_is_dead_after_max_attempts(
    database_settings: dict[str, str], register: Register
) -> None:
    settings = make_settings(database_settings, outbox_max_attempts=2)
    db = Database(settings)
    try:
        tenant = await make_tenant(db, "dead-shop")

        async def fails(ctx: TaskContext, row: OutboxRow, data: dict[str, Any]) -> None:
            raise ValueError("bad luck")

        register("test.fails", fails)
        row_id = await add_row(db, tenant, "test.fails", {})
        statuses = await drain_outbox(settings)
        assert statuses == {row_id: OutboxStatus.PENDING}
        clock.advance(timedelta(hours=1))
        assert await drain_outbox(settings) == {row_id: OutboxStatus.DEAD}
        row = await get_row(db, row_id)
        assert (row.status, row.attempts) == (OutboxStatus.DEAD, 2)
        assert row.last_error == "gave up after 2 attempts: ValueError: bad luck"
        clock.advance(timedelta(hours=1))
        assert await drain_outbox(settings) == {}
    finally:
        await db.dispose()


async def test_a_lost_run_past_max_attempts_is_dead(database_settings: dict[str, str]) -> None:
    settings = make_settings(database_settings, outbox_max_attempts=1)
    db = Database(settings)
    try:
        tenant = await make_tenant(db, "lost-shop")
        row_id = await add_row(db, tenant, "test.never-finishes", {})
        await dispatch_one(db, settings)  # its worker dies: the row stays dispatched
        clock.advance(timedelta(seconds=settings.outbox_lease_seconds + 1))
        await dispatch_one(db, settings)
        row = await get_row(db, row_id)
        assert row.status == OutboxStatus.DEAD
        assert row.last_error == "gave up after 1 attempts; the last run never finished (worker lost)"
    finally:
        await db.dispose()


async def test_permanent_failures_and_unknown_topics_are_dead_without_secrets(
    settings: Settings, db: Database, tenant: uuid.UUID, register: Register
) -> None:
    async def refuses(ctx: TaskContext, row: OutboxRow, data: dict[str, Any]) -> None:
        raise PermanentFailure(f"recipient {data['to']} refused")

    async def crashes(ctx: TaskContext, row: OutboxRow, data: dict[str, Any]) -> None:
        raise RuntimeError(f"server said no to code {data['code']} for {data['to']}")

    register("test.refuses", refuses)
    register("test.crashes", crashes)
    payload = {"to": "ada@example.com", "code": "493817"}
    refused = await add_row(db, tenant, "test.refuses", payload, keys=None)
    crashed = await add_row(db, tenant, "test.crashes", payload)
    unknown = await add_row(db, tenant, "test.nobody", payload)
    statuses = await drain_outbox(settings)
    assert statuses == {refused: "dead", crashed: "pending", unknown: "dead"}
    assert (await get_row(db, refused)).last_error == "recipient ••• refused"
    assert (await get_row(db, crashed)).last_error == "RuntimeError: server said no to code ••• for •••"
    assert (await get_row(db, unknown)).last_error == "no handler is registered for topic 'test.nobody'"


async def test_the_same_message_twice_runs_the_effect_once(
    settings: Settings, db: Database, tenant: uuid.UUID, register: Register
) -> None:
    register("test.effect", effect)
    row_id = await add_row(db, tenant, "test.effect", {})
    await dispatch_one(db, settings)
    # Two workers receive the same message at once (a redelivery, or a re-dispatch after a lease).
    first, second = Resources.build(settings, RecordingMailer()), Resources.build(settings, RecordingMailer())
    try:
        results = await asyncio.gather(
            process_row(first, tenant, row_id), process_row(second, tenant, row_id)
        )
        assert list(results) == [OutboxStatus.DONE, OutboxStatus.DONE]
        assert await process_row(first, tenant, row_id) == OutboxStatus.DONE
    finally:
        await first.aclose()
        await second.aclose()
    assert await count_effects(db, "test.effect") == 1
    row = await get_row(db, row_id)
    assert (row.status, row.attempts, row.last_error) == (OutboxStatus.DONE, 1, None)
    assert row.done_at is not None


async def test_email_send_reaches_smtp_and_the_payload_stays_encrypted(
    database_settings: dict[str, str], smtp_fake: SmtpFake
) -> None:
    settings = make_settings(database_settings, smtp_url=smtp_fake.url)
    db = Database(settings)
    keys = Resources.build(settings, RecordingMailer()).keys
    try:
        tenant = await make_tenant(db, "mail-shop")
        async with db.tenant_session(tenant) as s, s.begin():
            row = await add_outbox(
                s,
                topic="email.send",
                payload={"to": "ada@example.com", "subject": "Your link", "text": "https://x/reset?t=s3cret"},
                keys=keys,
            )
        assert "s3cret" not in row.payload
        assert await drain_outbox(settings) == {row.id: OutboxStatus.DONE}
        [mail] = smtp_fake.messages
        assert mail.to == ["ada@example.com"]
        assert mail.subject == "Your link"
        assert "https://x/reset?t=s3cret" in mail.body
    finally:
        await db.dispose()


async def test_without_smtp_emails_land_in_the_development_mailbox(
    settings: Settings, db: Database, tenant: uuid.UUID
) -> None:
    await add_row(db, tenant, "email.send", {"to": "ada@example.com", "subject": "Hi", "text": "Hello Ada"})
    await drain_outbox(settings)
    mailbox = settings.data_dir / "outbox-mail.log"
    assert "To: ada@example.com\nSubject: Hi\n\nHello Ada\n" in mailbox.read_text()
    assert mailbox.stat().st_mode & 0o077 == 0


async def test_an_email_without_recipient_is_dead(
    settings: Settings, db: Database, tenant: uuid.UUID
) -> None:
    row_id = await add_row(db, tenant, "email.send", {"subject": "Hi", "text": "Hello"})
    mailer = RecordingMailer()
    assert await drain_outbox(settings, mailer=mailer) == {row_id: OutboxStatus.DEAD}
    assert (await get_row(db, row_id)).last_error == "email.send payload lacks a usable 'to'"
    assert mailer.sent == []


async def test_an_inbox_event_is_processed_once_by_its_source_handler(
    settings: Settings, db: Database, tenant: uuid.UUID
) -> None:
    seen: list[str] = []

    @inbox_handler("test-source")
    async def on_event(ctx: TaskContext, event: InboxEvent) -> None:
        seen.append(event.payload)
        record(ctx.session, actor="system", action="test.inbox", subject_type="Inbox", subject_id=event.id)

    try:
        async with db.tenant_session(tenant) as s, s.begin():
            first = await record_inbox(s, source="test-source", external_id="wamid.1", payload='{"a":1}')
        async with db.tenant_session(tenant) as s, s.begin():
            again = await record_inbox(s, source="test-source", external_id="wamid.1", payload='{"a":1}')
        assert first is not None
        assert again is None
        statuses = await drain_outbox(settings)
        assert list(statuses.values()) == [OutboxStatus.DONE]
        assert await drain_outbox(settings) == {}
        assert seen == ['{"a":1}']
        assert await count_effects(db, "test.inbox") == 1
        async with db.tenant_session(tenant, write=False) as s:
            event = await s.get(InboxEvent, (tenant, first))
        assert event is not None
        assert event.processed_at is not None
    finally:
        unregister(source="test-source")


async def test_an_inbox_event_of_an_unknown_source_is_dead(
    settings: Settings, db: Database, tenant: uuid.UUID
) -> None:
    async with db.tenant_session(tenant) as s, s.begin():
        await record_inbox(s, source="nobody", external_id="1", payload="{}")
    [(row_id, status)] = (await drain_outbox(settings)).items()
    assert status == OutboxStatus.DEAD
    assert (await get_row(db, row_id)).last_error == "no inbox handler is registered for source 'nobody'"


async def test_processed_rows_are_counted_in_the_metrics(
    settings: Settings, db: Database, tenant: uuid.UUID, register: Register
) -> None:
    from prometheus_client import REGISTRY

    def sample(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    register("test.metered", effect)
    before_sent = sample("bizzly_outbox_dispatched_total", topic="test.metered")
    before_done = sample("bizzly_outbox_processed_total", topic="test.metered", outcome="done")
    row_id = await add_row(db, tenant, "test.metered", {"n": 1})
    await dispatch_one(db, settings)
    res = Resources.build(settings, RecordingMailer())
    try:
        assert await process_row(res, tenant, row_id) == OutboxStatus.DONE
    finally:
        await res.aclose()
    assert sample("bizzly_outbox_dispatched_total", topic="test.metered") == before_sent + 1
    assert sample("bizzly_outbox_processed_total", topic="test.metered", outcome="done") == before_done + 1
