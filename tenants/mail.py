"""The emails the accounts flows send, queued through the outbox (topic ``email.send``).

The payload carries a link with a secret token, so it is always encrypted with the key ring.
"""

from __future__ import annotations

import uuid
from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncSession

from bizzly.crypto import KeyRing
from bizzly.outbox import OutboxRow, add_outbox
from bizzly.settings import Settings

EMAIL_TOPIC = "email.send"


async def queue_email(
    session: AsyncSession,
    *,
    keys: KeyRing,
    to: str,
    subject: str,
    text: str,
    tenant_id: uuid.UUID | None = None,
) -> OutboxRow:
    """Queue one email in the caller's transaction. ``tenant_id`` is needed only on the maintenance
    session (which is bound to no tenant); a tenant session stamps its own."""
    row = await add_outbox(
        session, topic=EMAIL_TOPIC, payload={"to": to, "subject": subject, "text": text}, keys=keys
    )
    if tenant_id is not None:
        row.tenant_id = tenant_id
    return row


def dashboard_link(settings: Settings, path: str, **params: str) -> str:
    query = f"?{urlencode(params)}" if params else ""
    return f"{settings.dashboard_url.rstrip('/')}/{path.lstrip('/')}{query}"


def invitation_text(*, name: str, business: str, link: str, hours: int, has_account: bool) -> tuple[str, str]:
    subject = f"You are invited to {business} on Bizzly"
    how = (
        "To accept, open this link and confirm with your Bizzly password"
        if has_account
        else "To accept, open this link and choose your password"
    )
    text = (
        f"Hello {name},\n\n"
        f"You are invited to join {business}'s team on Bizzly. {how}:\n\n"
        f"{link}\n\n"
        f"This link works once and expires in {hours} hours. Nothing changes for you until you accept; "
        f"if you did not expect this email, ignore it.\n"
    )
    return subject, text


def reset_text(*, name: str, link: str, minutes: int) -> tuple[str, str]:
    subject = "Reset your Bizzly password"
    text = (
        f"Hello {name},\n\n"
        f"Someone asked to reset the password of your Bizzly account. Choose a new one here:\n\n"
        f"{link}\n\n"
        f"This link works once and expires in {minutes} minutes. If it was not you, ignore this email: "
        f"your password stays as it is.\n"
    )
    return subject, text
