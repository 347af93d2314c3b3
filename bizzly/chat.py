"""``bizzly chat``: talk to a business's assistant from a terminal, as a customer would on WhatsApp.

Each line goes the webhook's way (stored as an inbound message in the tenant's conversation log, then the
assistant), and the replies are printed instead of sent: the terminal is the customer's phone, so a
verification code is shown as the customer would receive it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from bizzly.crypto import KeyRing
from bizzly.db.engine import Database
from bizzly.ids import new_id
from bizzly.settings import Settings
from domain.assistant.messages import ChannelInfo, Reply
from domain.conversations import service as conversations
from integrations.outbound import GuardedClient
from integrations.whatsapp.handlers import CHANNEL, assistant_replies
from tenants.repository import TenantDirectory


def shown(reply: Reply) -> str:
    """A reply as the phone shows it: the text, then any buttons or list choices."""
    lines = [reply.text, *(f"  [{c.title}]" for c in reply.choices)]
    return "\n".join(lines)


async def chat(
    settings: Settings, *, slug: str, phone: str, lines: Iterable[str], out: Callable[[str], None]
) -> None:
    """Answer each of ``lines`` in its own transaction. Raises LookupError for an unknown business."""
    keys = KeyRing(settings.key_ring())
    db = Database(settings, null_pool=True)
    wa_id = "".join(ch for ch in phone if ch.isdigit())
    # The client the tenant's own language model is called with, as a worker calls it.
    http = GuardedClient(settings)
    try:
        async with db.public_session() as s:
            tenant_id = await TenantDirectory(s).id_for_slug(slug)
        if tenant_id is None:
            raise LookupError(f"no business {slug!r}")
        for line in lines:
            text = line.rstrip("\n")
            if not text.strip():
                continue
            async with db.tenant_session(tenant_id, write=True) as s, s.begin():
                stored = await conversations.record_inbound(
                    s,
                    channel=CHANNEL,
                    connection_id=None,
                    sender=conversations.Sender(wa_id=wa_id),
                    wamid=f"cli.{new_id()}",
                    kind="text",
                    body=text,
                )
                if stored is None:
                    continue
                conversation, message = stored
                replies = await assistant_replies(
                    s,
                    tenant_id=tenant_id,
                    keys=keys,
                    settings=settings,
                    conversation=conversation,
                    message=message,
                    channel=ChannelInfo(),
                    http=http,
                )
            for reply in replies:
                out(shown(reply))
    finally:
        await http.aclose()
        await db.dispose()
