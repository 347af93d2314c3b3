"""Background work for WhatsApp: inbox events become conversation messages (and go to the assistant);
statuses move outbound messages forward; ``whatsapp.send`` rows are sent through the Cloud API.

Send failures (docs/design.md section 5): 131047 (the 24-hour window has closed) sends the reply's fallback
template or records the failure, never retries as is; 130429 / 131056 / HTTP 429 push the tenant's WhatsApp
rows to later (``RetryLater``); 190 and the other token codes mark the connection ``needs_reauth``; 5xx and
network errors retry with backoff; anything else is recorded on the message.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bizzly import clock
from bizzly.crypto import KeyRing
from bizzly.outbox import (
    InboxEvent,
    OutboxRow,
    PermanentFailure,
    RetryLater,
    add_outbox,
    wake_earliest_parked,
)
from bizzly.ports import LanguageModel
from bizzly.settings import Settings
from bizzly.tasks import TaskContext, WorkContext, inbox_handler, outbox_handler
from domain.assistant import messages as assistant
from domain.assistant.model_config import assistant_model
from domain.assistant.service import handle_message, verified_customer
from domain.connections.repository import Connections
from domain.conversations import service as conversations
from domain.conversations.models import Conversation, Message, MessageStatus
from domain.conversations.repository import Conversations
from integrations.connections import (
    ConnectionStatus,
    Provider,
    ProviderConnection,
    config_of,
    live_connection,
    read_secrets,
    record_error,
    record_success,
)
from integrations.llm import tenant_model
from integrations.llm.turns import ModelAnswer, ModelQuestion, ModelSlots, Outcome, Probe, Replay, ask
from integrations.outbound import GuardedClient
from integrations.whatsapp import payloads
from integrations.whatsapp.checker import AUTH_CODES
from integrations.whatsapp.client import CloudApi, GraphError
from integrations.whatsapp.webhook import SOURCE

log = logging.getLogger("bizzly.whatsapp")

CHANNEL = "whatsapp"
SEND_TOPIC = conversations.send_topic(CHANNEL)
OUTSIDE_WINDOW = 131047
THROTTLED = {130429, 131056, 80007, 4}
# A status for a message we do not know yet (its send has not committed) is retried this many times.
STATUS_WAIT_ATTEMPTS = 5
# Throttled sends wait at least this long (Meta gives no Retry-After on 130429).
THROTTLE_DELAY = timedelta(seconds=5)
# last_success_at is refreshed at most this often: every send writing the connection row would contend.
SUCCESS_REFRESH = timedelta(minutes=1)
# A message the tenant's model will answer. One that finds the tenant's model slots taken waits (woken when
# one comes free, else at the end of its wait) and never sooner than this.
MODEL_TURN_TOPIC = "assistant.model_turn"
MODEL_BUSY_RETRY = timedelta(seconds=1)


def _time(value: Any) -> datetime | None:
    if isinstance(value, str) and value.isdigit():
        try:
            return datetime.fromtimestamp(int(value), tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    return None


# WhatsApp message types that are media: never downloaded, the assistant answers "text only".
MEDIA_KINDS = frozenset({"image", "audio", "voice", "video", "document", "sticker"})
INTERACTIVE_KINDS = frozenset({"interactive", "button"})


def _inbound(message: Message) -> assistant.Inbound:
    if message.kind == "text":
        return assistant.Inbound(kind="text", text=message.body)
    if message.kind in INTERACTIVE_KINDS:
        return assistant.Inbound(kind="interactive", text=message.body, reply_id=message.reply_id)
    if message.kind in MEDIA_KINDS:
        return assistant.Inbound(kind="media", media_type=message.kind)
    return assistant.Inbound(kind="unsupported")


def _sender(conversation: Conversation) -> assistant.Sender:
    # A conversation is keyed by WhatsApp's id (digits) or, for a sender with no phone, ``bsuid:<id>``.
    wa_id = None if conversation.user_key.startswith("bsuid:") else conversation.user_key
    return assistant.Sender(
        wa_id=wa_id,
        phone_e164=conversation.phone_e164,
        meta_user_id=conversation.meta_user_id,
        display_name=conversation.display_name,
    )


def _rendered(reply: assistant.Reply) -> conversations.Reply:
    template = None
    if reply.code_template is not None:
        code = reply.code_template
        template = conversations.Template(name=code.name, language=code.language, code=code.code)
    return conversations.Reply(
        text=reply.text,
        choices=[(c.id, c.title) for c in reply.choices],
        template=template,
        log_text=reply.log_text if reply.holds_code else None,
    )


class _AskedTheModel(Exception):
    """Rolls back a turn that asked the tenant's model: it is answered by a model turn instead."""


async def hand_to_assistant(ctx: TaskContext, conversation: Conversation, message: Message) -> None:
    """The assistant decides the replies; each is queued through the outbox in this transaction.

    The deterministic understanding answers here. A message it leaves to the tenant's model is never asked
    about in this transaction: the turn is rolled back and an ``assistant.model_turn`` row takes the
    question out of it (``integrations.llm.turns``)."""
    inbound = _read(message)
    if await assistant_model(ctx.session) is None:
        await _queue(ctx, conversation, await _answer(ctx, conversation, inbound, model=None))
        return
    probe = Probe()
    message_id = message.id
    try:
        async with ctx.session.begin_nested():
            replies = await _answer(ctx, conversation, inbound, model=probe)
            if probe.question is not None:
                raise _AskedTheModel(probe.question)
    except _AskedTheModel as asked:
        question: ModelQuestion = asked.args[0]
        await add_outbox(
            ctx.session,
            topic=MODEL_TURN_TOPIC,
            # Encrypted: the customer's words (a typed code, even, that verifies before the model's turn).
            keys=ctx.keys,
            payload={
                "message_id": str(message_id),
                "inbound": {"kind": inbound.kind, "text": inbound.text, "reply_id": inbound.reply_id},
                "question": question.to_json(),
                "queued_at": clock.now().isoformat(),
            },
        )
        return
    await _queue(ctx, conversation, replies)


async def _ask_the_model(ctx: WorkContext, data: dict[str, Any]) -> ModelAnswer:
    """An ``assistant.model_turn``'s model call, outside any transaction: the credentials are read in a
    short read-only session that is closed before the call."""
    question = ModelQuestion.from_json(data.get("question"))
    if question is None:
        return ModelAnswer.failed("the model turn carries no question")
    http = ctx.shared("llm.http", lambda: GuardedClient(ctx.settings))
    async with ctx.db.tenant_session(ctx.tenant_id, write=False) as session:
        model = await tenant_model(
            session, keys=ctx.keys, client=http, timeout_seconds=ctx.settings.assistant_model_timeout_seconds
        )
    if model is None:
        return ModelAnswer.failed("the business removed its model")
    slots = ctx.shared("llm.slots", lambda: ModelSlots(ctx.settings.assistant_model_concurrency))
    answer = await ask(model, question, slots=slots, tenant_id=ctx.tenant_id)
    if answer.outcome is Outcome.BUSY and _waited(data) >= ctx.settings.assistant_model_timeout_seconds:
        # Waited as long as one call may take: answer without the model rather than keep the customer.
        return ModelAnswer.failed("the business's model stayed busy")
    return answer


def _queued_at(data: dict[str, Any]) -> datetime:
    try:
        queued_at = datetime.fromisoformat(str(data["queued_at"]))
    except (KeyError, ValueError):
        return datetime.min.replace(tzinfo=UTC)
    return queued_at if queued_at.tzinfo else queued_at.replace(tzinfo=UTC)


def _waited(data: dict[str, Any]) -> float:
    return (clock.now() - _queued_at(data)).total_seconds()


@outbox_handler(MODEL_TURN_TOPIC, prepare=_ask_the_model)
async def model_turn(ctx: TaskContext, row: OutboxRow, data: dict[str, Any]) -> None:
    """The message's turn again, in this row's transaction, with the model's answer (``ctx.prepared``)."""
    answer = ctx.prepared if isinstance(ctx.prepared, ModelAnswer) else ModelAnswer.failed("not prepared")
    if answer.outcome is Outcome.BUSY:
        # The tenant's model slots are taken: wait without holding a worker (not counted as an attempt),
        # until a finished model turn wakes this row or, at the latest, until it waited one timeout.
        wait = timedelta(seconds=ctx.settings.assistant_model_timeout_seconds)
        at = max(_queued_at(data) + wait, clock.now() + MODEL_BUSY_RETRY)
        raise RetryLater(at, "waiting for a free slot of the business's model")
    # A model slot of this tenant is free again: the longest-waiting model turn runs now.
    await wake_earliest_parked(ctx.session, topic=MODEL_TURN_TOPIC)
    question = ModelQuestion.from_json(data.get("question"))
    try:
        message_id = uuid.UUID(str(data["message_id"]))
    except (KeyError, ValueError) as exc:
        raise PermanentFailure("assistant.model_turn payload lacks a valid message_id") from exc
    repo = Conversations(ctx.session)
    message = await repo.message(message_id)
    if message is None or question is None:
        return  # erased meanwhile: nothing left to answer
    conversation = await repo.get(message.conversation_id)
    assert conversation is not None  # the foreign key
    replies = await _answer(ctx, conversation, _inbound_of(data, message), model=Replay(question, answer))
    await _queue(ctx, conversation, replies)


def _inbound_of(data: dict[str, Any], message: Message) -> assistant.Inbound:
    """The message as the assistant first read it (its log copy may have had a code taken out)."""
    kept = data.get("inbound")
    if isinstance(kept, dict) and kept.get("kind") in ("text", "interactive"):
        text, reply_id = kept.get("text"), kept.get("reply_id")
        return assistant.Inbound(
            kind=kept["kind"],
            text=text if isinstance(text, str) else None,
            reply_id=reply_id if isinstance(reply_id, str) else None,
        )
    return _inbound(message)


async def _answer(
    ctx: TaskContext, conversation: Conversation, inbound: assistant.Inbound, *, model: LanguageModel | None
) -> list[assistant.Reply]:
    connection = await _connection_for(ctx, conversation)
    otp_template = config_of(connection).get("otp_template_name") if connection is not None else None
    return await _turn(
        ctx.session,
        tenant_id=ctx.tenant_id,
        keys=ctx.keys,
        settings=ctx.settings,
        conversation=conversation,
        inbound=inbound,
        channel=assistant.ChannelInfo(otp_template_name=otp_template or None),
        model=model,
    )


async def _queue(ctx: TaskContext, conversation: Conversation, replies: list[assistant.Reply]) -> None:
    for reply in replies:
        await conversations.queue_reply(
            ctx.session, keys=ctx.keys, conversation=conversation, reply=_rendered(reply)
        )


def _read(message: Message) -> assistant.Inbound:
    """The message for the assistant; a typed code is then taken out of the message log (the assistant
    compares it, then it is gone)."""
    inbound = _inbound(message)
    if assistant.is_code_attempt(message.body):
        message.body = assistant.redact_codes(message.body or "")
    return inbound


async def assistant_replies(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    keys: KeyRing,
    settings: Settings,
    conversation: Conversation,
    message: Message,
    channel: assistant.ChannelInfo,
    http: GuardedClient | None = None,
) -> list[assistant.Reply]:
    """``bizzly chat``'s turn: the replies to a stored inbound message, the tenant's model (through
    ``http``) asked directly -- one person at a terminal, so there is no one else to hold up."""
    inbound = _read(message)
    model = (
        await tenant_model(
            session, keys=keys, client=http, timeout_seconds=settings.assistant_model_timeout_seconds
        )
        if http is not None
        else None
    )
    return await _turn(
        session,
        tenant_id=tenant_id,
        keys=keys,
        settings=settings,
        conversation=conversation,
        inbound=inbound,
        channel=channel,
        model=model,
    )


async def _turn(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    keys: KeyRing,
    settings: Settings,
    conversation: Conversation,
    inbound: assistant.Inbound,
    channel: assistant.ChannelInfo,
    model: LanguageModel | None,
) -> list[assistant.Reply]:
    """The assistant's replies; records who the conversation is verified as."""
    sender = _sender(conversation)
    replies = await handle_message(
        session,
        tenant_id=tenant_id,
        sender=sender,
        inbound=inbound,
        channel=channel,
        keys=keys,
        settings=settings,
        model=model,
    )
    customer_id = await verified_customer(session, sender=sender)
    conversation.customer_id = customer_id
    conversation.verified = customer_id is not None
    return replies


@inbox_handler(SOURCE)
async def on_whatsapp(ctx: TaskContext, event: InboxEvent) -> None:
    data = json.loads(event.payload)
    if not isinstance(data, dict):
        raise PermanentFailure("whatsapp inbox payload is not an object")
    if data.get("kind") == "message":
        await _on_message(ctx, data)
    elif data.get("kind") == "status":
        await _on_status(ctx, data)
    else:
        raise PermanentFailure("whatsapp inbox payload of unknown kind")


async def _on_message(ctx: TaskContext, data: dict[str, Any]) -> None:
    connection_id: uuid.UUID | None
    try:
        connection_id = uuid.UUID(str(data.get("connection_id")))
    except ValueError:
        connection_id = None
    sender = conversations.Sender(
        wa_id=data.get("wa_id"), meta_user_id=data.get("user_id"), name=data.get("name")
    )
    kind = str(data.get("type") or "unknown")
    stored = await conversations.record_inbound(
        ctx.session,
        channel=CHANNEL,
        connection_id=connection_id,
        sender=sender,
        wamid=str(data["wamid"]),
        kind=kind,
        body=data.get("text"),
        reply_id=data.get("reply_id"),
        media_id=data.get("media_id"),
        sent_at=_time(data.get("timestamp")),
    )
    if stored is None:
        return
    conversation, message = stored
    await hand_to_assistant(ctx, conversation, message)


async def _on_status(ctx: TaskContext, data: dict[str, Any]) -> None:
    at = _time(data.get("timestamp")) or clock.now()
    found = await conversations.apply_status(
        ctx.session,
        wamid=str(data["wamid"]),
        status=str(data["status"]),
        at=at,
        error_code=data.get("error_code"),
        error=data.get("error"),
    )
    if found is None and ctx.attempt < STATUS_WAIT_ATTEMPTS:
        # The send that created this wamid may not have committed yet: try again a little later.
        raise LookupError("status for a message not stored yet")


async def _connection_for(ctx: TaskContext, conversation: Conversation) -> ProviderConnection | None:
    """The number the customer wrote to; if it was reconnected or removed since, the newest live one."""
    if conversation.connection_id is not None:
        found = await Connections(ctx.session).get(conversation.connection_id)
        if found is not None and found.status != ConnectionStatus.DISCONNECTED:
            return found
    return await live_connection(ctx.session, provider=Provider.WHATSAPP)


def _api(ctx: TaskContext) -> CloudApi:
    return ctx.shared("whatsapp.api", lambda: CloudApi(ctx.settings))


def _request(to: str, data: dict[str, Any], *, use_fallback: bool) -> dict[str, Any]:
    spec = data.get("fallback") if use_fallback else data.get("template")
    if isinstance(spec, dict) and spec.get("name"):
        return payloads.template(to, spec)
    options = [(str(i), str(t)) for i, t in data.get("choices") or []]
    if options:
        return payloads.choices(
            to, str(data.get("text") or ""), options, button=str(data.get("list_button") or "Choose")
        )
    return payloads.text(to, str(data.get("text") or ""))


def _fail(message: Message, code: int | None, error: str) -> None:
    conversations.mark_failed(message, code=code, error=error)
    log.warning("whatsapp message %s failed: %s", message.id, error)


@outbox_handler(SEND_TOPIC)
async def send(ctx: TaskContext, row: OutboxRow, data: dict[str, Any]) -> None:
    try:
        message_id = uuid.UUID(str(data["message_id"]))
    except (KeyError, ValueError) as exc:
        raise PermanentFailure("whatsapp.send payload lacks a valid message_id") from exc
    repo = Conversations(ctx.session)
    message = await repo.message(message_id)
    if message is None:
        raise PermanentFailure("whatsapp.send for a message that no longer exists")
    if message.status != MessageStatus.QUEUED:
        return  # already sent (or failed) by an earlier run
    conversation = await repo.get(message.conversation_id)
    assert conversation is not None  # the foreign key
    connection = await _connection_for(ctx, conversation)
    if connection is None or connection.status == ConnectionStatus.NEEDS_REAUTH:
        _fail(
            message,
            None,
            "WhatsApp is not connected" if connection is None else "WhatsApp needs reconnecting",
        )
        return
    to = conversation.phone_e164.lstrip("+") if conversation.phone_e164 else conversation.meta_user_id
    if not to:
        _fail(message, None, "the conversation has no address")
        return
    is_template = isinstance(data.get("template"), dict)
    use_fallback = not is_template and not conversations.in_window(conversation)
    if use_fallback and not isinstance(data.get("fallback"), dict):
        _fail(message, OUTSIDE_WINDOW, "outside the 24-hour window and no template to fall back to")
        return
    await _deliver(ctx, connection, message, to, data, use_fallback=use_fallback)


async def _deliver(
    ctx: TaskContext,
    connection: ProviderConnection,
    message: Message,
    to: str,
    data: dict[str, Any],
    *,
    use_fallback: bool,
) -> None:
    config = config_of(connection)
    token = read_secrets(ctx.keys, connection).get("access_token", "")
    try:
        wamid = await _api(ctx).send(
            str(config.get("phone_number_id", "")), token, _request(to, data, use_fallback=use_fallback)
        )
    except GraphError as exc:
        if exc.code == OUTSIDE_WINDOW and not use_fallback and isinstance(data.get("fallback"), dict):
            await _deliver(ctx, connection, message, to, data, use_fallback=True)
            return
        if exc.code in THROTTLED or exc.status == 429:
            delay = timedelta(seconds=exc.retry_after) if exc.retry_after else THROTTLE_DELAY
            raise RetryLater(clock.now() + delay, exc.short, topic_prefix=f"{CHANNEL}.") from exc
        if exc.code in AUTH_CODES or exc.status == 401:
            record_error(connection, exc.short, status=ConnectionStatus.NEEDS_REAUTH)
            _fail(message, exc.code, exc.short)
            return
        if exc.status == 0 or exc.status >= 500 or exc.code in {131000, 2}:
            raise  # transient: backoff
        _fail(message, exc.code, exc.short)
        return
    conversations.mark_sent(message, wamid=wamid)
    if connection.last_success_at is None or clock.now() - connection.last_success_at > SUCCESS_REFRESH:
        record_success(connection)
