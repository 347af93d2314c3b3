"""The verification and session engine: one inbound message in, the replies out, state by state.

- No session, nothing pending: a public question is answered; anything else looks the phone up (no account,
  one account: a code at once, several: which profile?). A protected request that started it is remembered
  and carried out once the customer is verified.
- Choosing a profile: by number, name or email (or the list's row); then the code goes out.
- Code pending: six digits are an attempt (3 per code); "verify" issues a fresh code and kills the old one.
- Verified: a 24-hour session for one account; "log out" ends it; an expired one is announced once.
- Privacy, asked before done: "delete my messages" (verified) and a model's ``opt_out`` (anyone) wait for a
  "yes" to the engine's question; STOP and START act at once.

This module is the engine: the entry points other layers call and the dispatch of a turn by its state. The
code itself (issue, attempt) is ``codes.py``, the accounts a phone reaches and the choice among them
``profiles.py``, the message being handled ``turn.py``. Every step is an :class:`AuthEvent`. Pure domain: the
caller's tenant session, never a commit, no channel types.
"""

from __future__ import annotations

import json
import logging
import secrets
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bizzly import clock
from bizzly.crypto import KeyRing
from bizzly.db.paging import Page, PageRequest
from bizzly.ids import new_id
from bizzly.ports import LanguageModel
from bizzly.settings import Settings
from domain.assistant import codes, profiles, texts
from domain.assistant.dialogue import Assistant, ModelPublicAnswerer
from domain.assistant.hooks import ProtectedHandler, PublicAnswerer, words
from domain.assistant.messages import ChannelInfo, Choice, Inbound, Reply, Sender
from domain.assistant.models import AssistantSession, AuthEvent, AuthEventKind, SessionEnd, WhatsAppOptOut
from domain.assistant.repository import AssistantStore
from domain.assistant.steps import Step, verification_step
from domain.assistant.turn import Turn
from domain.assistant.understanding import NO, YES
from domain.customers.service import current_tenant, set_whatsapp_opt_out

# The code rules shared with the website's phone codes (re-exported: callers read them here).
from domain.identity.codes import CODE_TTL as CODE_TTL
from domain.identity.codes import MAX_ATTEMPTS as MAX_ATTEMPTS
from domain.identity.codes import RATE_WINDOW as RATE_WINDOW
from domain.identity.codes import looks_like_code
from domain.identity.service import ReachedVia
from domain.privacy.audit import record
from domain.privacy.erasure import erase_message_history

log = logging.getLogger("bizzly.assistant")

EXPIRED_MARKER_TTL = timedelta(days=30)
MAX_TEXT = 1000

_LOG_OUT = {"log out", "logout", "log off", "sign out", "signout"}
_ERASE = {"delete my messages", "delete my message history", "erase my messages", "delete my history"}


class _TurnMemory:
    """The dialogue's pending step, kept under ``dialogue`` in this sender's conversation state."""

    def __init__(self, turn: Turn) -> None:
        self.turn = turn

    def get(self) -> dict[str, Any]:
        value = self.turn.state.get("dialogue")
        return value if isinstance(value, dict) else {}

    async def put(self, value: dict[str, Any] | None) -> None:
        if value:
            await self.turn.save({**self.turn.state, "dialogue": value})
        else:
            await self.turn.drop("dialogue")


class _TurnQuestions:
    """The engine's privacy questions, for the dialogue and the public answers (``dialogue.Questions``)."""

    def __init__(self, turn: Turn) -> None:
        self.turn = turn

    async def ask_erase(self) -> list[Reply]:
        return await _ask_erase(self.turn)

    async def ask_opt_out(self) -> list[Reply]:
        return await _ask_opt_out(self.turn)


async def handle_message(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    sender: Sender,
    inbound: Inbound,
    channel: ChannelInfo,
    keys: KeyRing,
    settings: Settings,
    public: PublicAnswerer | None = None,
    protected: ProtectedHandler | None = None,
    model: LanguageModel | None = None,
) -> list[Reply]:
    """The replies to one inbound message, in order. Writes state, codes, sessions, auth events, audit
    entries and (for an account reached only through a CRM contact) an ``email.send`` outbox row in the
    caller's transaction; never commits. Call it once per stored inbound message (after de-duplication)."""
    try:
        user_key = sender.user_key
    except ValueError:
        return []
    tenant = await current_tenant(session)
    if tenant.id != tenant_id:
        raise RuntimeError("the session is bound to another tenant than the one passed")
    store = AssistantStore(session)
    turn = Turn(
        session=session,
        store=store,
        tenant=tenant,
        sender=sender,
        user_key=user_key[:160],
        channel=channel,
        keys=keys,
        settings=settings,
        now=clock.now(),
    )
    questions = _TurnQuestions(turn)
    turn.public = public or ModelPublicAnswerer(model, questions=questions)
    turn.protected = protected or Assistant(
        turn=turn, memory=_TurnMemory(turn), questions=questions, model=model
    )
    if inbound.kind in ("media", "unsupported"):
        return [Reply(text=texts.TEXT_ONLY)]
    row = await store.state_row(turn.user_key)
    if row is not None and row.expires_at > turn.now:
        loaded = json.loads(row.state)
        turn.state = loaded if isinstance(loaded, dict) else {}
    if inbound.kind == "interactive":
        return await _interactive(turn, inbound.reply_id or "")

    text = (inbound.text or "").strip()
    if not text:
        return [Reply(text=texts.EMPTY)]
    if len(text) > MAX_TEXT:
        return [Reply(text=texts.TOO_LONG.format(limit=f"{MAX_TEXT:,}"))]
    if not any(ch.isalnum() for ch in text):
        return [Reply(text=texts.NO_WORDS)]
    said = words(text)
    if turn.state.get("opt_out"):
        answered = await _opt_out_answered(turn, said)
        if answered is not None:
            return answered
    if said in ("stop", "unsubscribe"):
        return await _opt_out(turn, opted_out=True)
    if said == "start":
        return await _opt_out(turn, opted_out=False)

    current = await store.latest_session(turn.user_key)
    if current is not None and current.ended_at is None and current.expires_at > turn.now:
        return await _verified(turn, current, text, said)
    step = verification_step(turn.state)
    if step is Step.CODE:
        return await _code_pending(turn, text, said)
    if step is Step.CHOOSE_PROFILE:
        return await _choosing(turn, text, said)
    expired = (
        current
        if current is not None
        and current.ended_at is None
        and current.expires_at > turn.now - EXPIRED_MARKER_TTL
        else None
    )
    return await _start_verification(turn, text, said, expired)


async def is_opted_out(session: AsyncSession, *, sender: Sender) -> bool:
    """Whether this person said "stop" (business-initiated messages must not be sent)."""
    return await AssistantStore(session).opt_out_row(sender.user_key) is not None


async def verified_customer(session: AsyncSession, *, sender: Sender) -> uuid.UUID | None:
    """The account this person is verified as right now, if any."""
    current = await AssistantStore(session).latest_session(sender.user_key)
    if current is None or current.ended_at is not None or current.expires_at <= clock.now():
        return None
    return current.customer_id


async def auth_events(session: AsyncSession, *, page: PageRequest) -> Page[AuthEvent]:
    """The tenant's auth events, newest first."""
    return await AssistantStore(session).events_page(page)


async def auth_events_by_ids(session: AsyncSession, ids: list[uuid.UUID]) -> list[AuthEvent]:
    return await AssistantStore(session).events_by_ids(ids)


async def purge_expired(session: AsyncSession) -> int:
    """Retention for one tenant (the scheduler's job): expired conversation states, codes an hour past
    their life, and sessions whose end is more than 30 days old (the expired marker's lifetime)."""
    return await AssistantStore(session).purge(
        now=clock.now(), marker_ttl=EXPIRED_MARKER_TTL, code_ttl=RATE_WINDOW
    )


# --- states -------------------------------------------------------------------------------------------


async def _verified(turn: Turn, current: AssistantSession, text: str, said: str) -> list[Reply]:
    if turn.state.get("erase"):
        if said in YES:
            return await _erase(turn, current)
        await turn.clear()
        if said in NO:
            return [Reply(text=texts.ERASE_CANCELLED)]
    if said in _LOG_OUT:
        current.ended_at = turn.now
        current.end_reason = SessionEnd.LOGGED_OUT.value
        await turn.clear()
        turn.event(AuthEventKind.LOGGED_OUT, current.customer_id)
        return [Reply(text=texts.LOGGED_OUT)]
    if said in _ERASE:
        return await _ask_erase(turn)
    if said == "verify":
        return [Reply(text=texts.ALREADY_VERIFIED)]
    # The full assistant answers public questions itself, and a pending step comes before them.
    if not getattr(turn.protected, "answers_public", False) and not turn.state.get("dialogue"):
        answer = await turn.answer_public(text)
        if answer is not None:
            return answer
    return await turn.protected.handle(
        turn.session, tenant_id=turn.tenant.id, customer_id=current.customer_id, text=text
    )


async def _code_pending(turn: Turn, text: str, said: str) -> list[Reply]:
    if looks_like_code(text):
        return await codes.attempt(turn, text.replace(" ", ""))
    if said == "verify":
        account = await profiles.pending_account(turn)
        if account is None:
            await turn.clear()
            return await _start_verification(turn, text, said, None)
        return await codes.issue(turn, account[0], account[1])
    if said in _LOG_OUT:
        await turn.store.kill_codes(turn.user_key, at=turn.now)
        await turn.clear()
        return [Reply(text=texts.NOT_LOGGED_IN)]
    answer = await turn.answer_public(text)
    if answer is not None:
        return answer
    if turn.protected.is_protected(text):
        await turn.save({**turn.state, "request": text})
    return [Reply(text=texts.ENTER_CODE)]


async def _choosing(turn: Turn, text: str, said: str) -> list[Reply]:
    candidates = await profiles.candidates(turn)
    if said in _LOG_OUT:
        await turn.clear()
        return [Reply(text=texts.NOT_LOGGED_IN)]
    if said == "verify":
        return [profiles.profile_list(turn, candidates)]
    picked = profiles.picked(candidates, said)
    if len(picked) > 1:
        return [Reply(text=texts.AMBIGUOUS_NAME.format(name=text.strip()[:60]))]
    if len(picked) == 1:
        customer, via = candidates[picked[0]]
        if customer is not None:
            return await codes.issue(turn, customer, via)
    answer = await turn.answer_public(text)
    if answer is not None:
        return answer
    return [Reply(text=texts.PICK_AGAIN), profiles.profile_list(turn, candidates)]


async def _start_verification(
    turn: Turn, text: str, said: str, expired: AssistantSession | None
) -> list[Reply]:
    if said in _LOG_OUT:
        return [Reply(text=texts.NOT_LOGGED_IN)]
    answer = await turn.answer_public(text)
    if answer is not None:
        return answer
    replies: list[Reply] = []
    if expired is not None:
        expired.ended_at = turn.now
        expired.end_reason = SessionEnd.EXPIRED.value
        turn.event(AuthEventKind.SESSION_EXPIRED, expired.customer_id)
        replies.append(Reply(text=texts.SESSION_EXPIRED))
    request = text if turn.protected.is_protected(text) else None
    accounts = await profiles.accounts(turn)
    if not accounts:
        return [*replies, Reply(text=texts.NO_ACCOUNT)]
    turn.state = {"request": request} if request else {}
    if len(accounts) == 1:
        return [*replies, *await codes.issue(turn, *accounts[0])]
    await turn.save(
        {
            "step": Step.CHOOSE_PROFILE,
            "list": secrets.token_hex(4),
            "candidates": [{"id": str(c.id), "via": via.value} for c, via in accounts],
            **({"request": request} if request else {}),
        }
    )
    return [*replies, profiles.profile_list(turn, [(c, via) for c, via in accounts])]


async def _interactive(turn: Turn, reply_id: str) -> list[Reply]:
    if turn.state.get("opt_out"):
        said = {"optout:yes": "yes", "optout:no": "no"}.get(reply_id, "")
        answered = await _opt_out_answered(turn, said)
        if answered is not None:
            return answered
    if reply_id.startswith("erase:") and turn.state.get("erase"):
        current = await turn.store.latest_session(turn.user_key)
        if current is not None and current.ended_at is None and current.expires_at > turn.now:
            said = "yes" if reply_id == "erase:yes" else "no"
            return await _verified(turn, current, said, said)
    if reply_id.startswith("d:") and turn.state.get("dialogue"):
        # A row or button of the assistant's own list ("d:3", "d:yes"): the same as typing it.
        current = await turn.store.latest_session(turn.user_key)
        if current is not None and current.ended_at is None and current.expires_at > turn.now:
            said = words(reply_id[2:])
            return await _verified(turn, current, said, said)
    parts = reply_id.split(":")
    if len(parts) == 3 and parts[0] == "p" and parts[2].isdigit():
        if verification_step(turn.state) is not Step.CHOOSE_PROFILE or parts[1] != turn.state.get("list"):
            return [Reply(text=texts.OLD_LIST)]
        candidates = await profiles.candidates(turn)
        index = int(parts[2])
        if index < len(candidates):
            customer, via = candidates[index]
            if customer is not None:
                return await codes.issue(turn, customer, via)
        return [Reply(text=texts.OLD_LIST)]
    return [Reply(text=texts.UNKNOWN_CHOICE)]


# --- privacy ------------------------------------------------------------------------------------------


async def _ask_opt_out(turn: Turn) -> list[Reply]:
    """Stop all messages? (a model's ``opt_out``): the sender's "yes" opts out as STOP does. Whatever else is
    pending (a code, a profile choice) stays."""
    await turn.save({**turn.state, "opt_out": True})
    return [
        Reply(
            text=texts.OPT_OUT_CONFIRM.format(business=turn.tenant.name),
            kind="buttons",
            choices=[Choice(id="optout:yes", title="Yes"), Choice(id="optout:no", title="No")],
        )
    ]


async def _opt_out_answered(turn: Turn, said: str) -> list[Reply] | None:
    """The answer to the pending opt-out question, which is dropped whatever was said; None when ``said`` is
    neither yes nor no (the message is then handled as usual)."""
    await turn.drop("opt_out")
    if said in YES:
        return await _opt_out(turn, opted_out=True)
    if said in NO:
        return [Reply(text=texts.OPT_OUT_CANCELLED)]
    return None


async def _opt_out(turn: Turn, *, opted_out: bool) -> list[Reply]:
    """stop / start, for anyone: kept per sender and mirrored onto the accounts whose own phone this is."""
    existing = await turn.store.opt_out_row(turn.user_key)
    if opted_out and existing is None:
        turn.store.add_opt_out(
            WhatsAppOptOut(id=new_id(), user_key=turn.user_key, phone=turn.phone, created_at=turn.now)
        )
    elif not opted_out and existing is not None:
        await turn.store.remove_opt_out(turn.user_key)
    if (existing is None) == opted_out:
        record(
            turn.session,
            actor=turn.actor,
            action="whatsapp.opted_out" if opted_out else "whatsapp.opted_in",
            subject_type="Conversation",
            subject_id=None,
        )
    for customer, via in await profiles.accounts(turn):
        if via is ReachedVia.OWN_PHONE:
            await set_whatsapp_opt_out(
                turn.session, customer_id=customer.id, opted_out=opted_out, actor=turn.actor
            )
    await turn.session.flush()
    return [Reply(text=texts.OPTED_OUT if opted_out else texts.OPTED_IN)]


async def _ask_erase(turn: Turn) -> list[Reply]:
    """Delete this conversation's messages? (a verified customer's "delete my messages", or a model's
    ``erase_my_messages``): her "yes", typed or the button, erases them in ``_verified``."""
    await turn.save({"erase": True})
    return [
        Reply(
            text=texts.ERASE_CONFIRM,
            kind="buttons",
            choices=[Choice(id="erase:yes", title="Yes"), Choice(id="erase:no", title="No")],
        )
    ]


async def _erase(turn: Turn, current: AssistantSession) -> list[Reply]:
    erased = await erase_message_history(turn.session, user_keys=[turn.user_key])
    await turn.clear()
    record(
        turn.session,
        actor=f"customer:{current.customer_id}",
        action="whatsapp.messages_erased",
        subject_type="Customer",
        subject_id=current.customer_id,
        detail=f"{erased} messages",
    )
    return [Reply(text=texts.ERASED)]
