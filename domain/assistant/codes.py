"""The verification code: issued (rate-limited, into the chat only for a proven own phone, else by email)
and attempted (3 tries, used once; a right one starts the 24-hour session and carries out the request that
started the verification).

Codes come from ``secrets``, live 10 minutes, are stored only as a keyed digest (bound to the tenant and the
sender), compared in constant time and used once. The rules are shared with the website's phone codes
(``domain/identity/codes.py``).
"""

from __future__ import annotations

from datetime import timedelta

from bizzly.errors import Invalid
from bizzly.ids import new_id
from domain.assistant import texts
from domain.assistant.messages import CodeTemplate, Reply
from domain.assistant.models import AssistantSession, AuthEventKind, Delivery, VerificationCode
from domain.assistant.steps import Step
from domain.assistant.turn import Turn, as_uuid
from domain.connections.analytics import queue_event as queue_analytics_event
from domain.customers.models import Customer
from domain.customers.phone_proof import proven_in_chat
from domain.customers.service import record_meta_user_id
from domain.identity.codes import CODE_TTL, MAX_ATTEMPTS, RATE_WINDOW, new_code, retry_at
from domain.identity.service import ReachedVia
from tenants.mail import queue_email

SESSION_TTL = timedelta(hours=24)
CODE_PURPOSE = "assistant-verification-code"


def _material(turn: Turn, code: str) -> str:
    # Bound to the tenant and the sender: a digest is useless for any other conversation.
    return f"{turn.tenant.id}|{turn.user_key}|{code}"


async def issue(turn: Turn, customer: Customer, via: ReachedVia) -> list[Reply]:
    """A fresh code for ``customer`` (older ones die), unless a rate limit says when to try again."""
    request = turn.state.get("request")
    pending = {
        "step": Step.CODE,
        "customer_id": str(customer.id),
        "via": via.value,
        **({"request": request} if request else {}),
    }
    since = turn.now - RATE_WINDOW
    for user_key, limit, message in (
        (turn.user_key, turn.settings.otp_per_phone_per_hour, texts.TOO_MANY_CODES),
        (None, turn.settings.otp_per_tenant_per_hour, texts.BUSY),
    ):
        count, oldest = await turn.store.codes_since(since, user_key=user_key)
        resume = retry_at(count, oldest, limit=limit, now=turn.now)
        if resume is not None:
            await turn.save(pending)
            turn.event(AuthEventKind.RATE_LIMITED, customer.id)
            return [Reply(text=message.format(wait=texts.wait_text(resume, turn.now), at=resume))]

    await turn.store.kill_codes(turn.user_key, at=turn.now)
    code = new_code()
    # Into this chat only for the account whose own phone this is *and* proven (PhoneProof): a phone typed
    # on a website by anyone gets its account's code at the account's email, never in the phone's chat.
    own = via is ReachedVia.OWN_PHONE and customer.phone_proven
    delivery = Delivery.CHAT if own else Delivery.EMAIL
    turn.store.add_code(
        VerificationCode(
            id=new_id(),
            user_key=turn.user_key,
            customer_id=customer.id,
            code_hmac=turn.keys.digest(CODE_PURPOSE, _material(turn, code)),
            delivery=delivery.value,
            attempts=0,
            created_at=turn.now,
            expires_at=turn.now + CODE_TTL,
        )
    )
    await turn.save(pending)
    turn.event(AuthEventKind.CODE_SENT, customer.id)
    minutes = int(CODE_TTL.total_seconds() // 60)
    if delivery is Delivery.EMAIL:
        # Anyone can plant a phone on a CRM contact with a public form: such an account's code goes to its
        # email of record, never into this chat.
        business = turn.tenant.name
        await queue_email(
            turn.session,
            keys=turn.keys,
            to=customer.email,
            subject=texts.EMAIL_SUBJECT.format(business=business),
            text=texts.EMAIL_TEXT.format(name=customer.name, business=business, code=code, minutes=minutes),
        )
        return [
            Reply(text=texts.CODE_BY_EMAIL.format(email=texts.mask_email(customer.email), minutes=minutes))
        ]
    template = turn.channel.otp_template_name
    return [
        Reply(
            text=texts.CODE_MESSAGE.format(code=code, minutes=minutes),
            holds_code=True,
            code_template=CodeTemplate(name=template, code=code, expires_minutes=minutes)
            if template
            else None,
        )
    ]


async def attempt(turn: Turn, digits: str) -> list[Reply]:
    code = await turn.store.live_code(turn.user_key)
    pending_customer = as_uuid(turn.state.get("customer_id"))
    if code is None or code.expires_at <= turn.now:
        turn.event(AuthEventKind.CODE_FAILED, code.customer_id if code else pending_customer)
        return [Reply(text=texts.INVALID_CODE)]
    if not turn.keys.verify_digest(CODE_PURPOSE, _material(turn, digits), code.code_hmac):
        code.attempts += 1
        turn.event(AuthEventKind.CODE_FAILED, code.customer_id)
        if code.attempts >= MAX_ATTEMPTS:
            code.dead_at = turn.now
            turn.event(AuthEventKind.LOCKED, code.customer_id)
        await turn.session.flush()
        return [Reply(text=texts.INVALID_CODE)]

    code.used_at = turn.now
    request = turn.state.get("request")
    turn.store.add_session(
        AssistantSession(
            id=new_id(),
            user_key=turn.user_key,
            customer_id=code.customer_id,
            started_at=turn.now,
            expires_at=turn.now + SESSION_TTL,
        )
    )
    await turn.clear()
    turn.event(AuthEventKind.VERIFIED, code.customer_id)
    await queue_analytics_event(turn.session, name="whatsapp_verified", customer_id=code.customer_id)
    if turn.sender.meta_user_id:
        try:
            await record_meta_user_id(
                turn.session,
                customer_id=code.customer_id,
                meta_user_id=turn.sender.meta_user_id,
                actor=turn.actor,
            )
        except Invalid:
            pass  # a malformed id from the channel: the phone still works
    await proven_in_chat(turn.session, customer_id=code.customer_id, phone=turn.phone, actor=turn.actor)
    await turn.session.flush()
    replies = [Reply(text=texts.VERIFIED)]
    if isinstance(request, str) and request:
        replies += await turn.protected.handle(
            turn.session, tenant_id=turn.tenant.id, customer_id=code.customer_id, text=request
        )
    return replies
