"""``bizzly chat``: talk to a business's assistant from a terminal, as a customer would on WhatsApp.

Each line goes the webhook's way (stored as an inbound message in the tenant's conversation log, then the
assistant), and the replies are printed instead of sent: the terminal is the customer's phone, so a
verification code is shown as the customer would receive it.

The phone is read as the business reads its customers' numbers (``07700 900123`` with a GB business's region,
or international), then sent on as WhatsApp's ``wa_id``. Replies are printed as a transcript: each reply's
first line starts with ``< `` and its other lines are indented, so two replies (whose texts may hold blank
lines) never run together; with ``echo`` (input piped from a file) each message is printed first, after
``> ``, so the output reads as the conversation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from bizzly.crypto import KeyRing
from bizzly.db.engine import Database
from bizzly.ids import new_id
from bizzly.settings import Settings
from domain.assistant.messages import ChannelInfo, Reply
from domain.conversations import service as conversations
from domain.identity.phones import parse_phone
from integrations.outbound import GuardedClient
from integrations.whatsapp.handlers import CHANNEL, assistant_replies
from tenants.repository import TenantDirectory


def shown(reply: Reply) -> str:
    """A reply as the phone shows it (the text, then any buttons or list choices), as one transcript entry."""
    first, *rest = [*reply.text.split("\n"), *(f"[{c.title}]" for c in reply.choices)]
    return "\n".join([f"< {first}", *(f"  {line}".rstrip() for line in rest)])


async def chat(
    settings: Settings,
    *,
    slug: str,
    phone: str,
    lines: Iterable[str],
    out: Callable[[str], None],
    echo: bool = False,
) -> None:
    """Answer each of ``lines`` in its own transaction. Raises LookupError for an unknown business and
    ``InvalidPhone`` for a number the business's region cannot read."""
    keys = KeyRing(settings.key_ring())
    db = Database(settings, null_pool=True)
    # The client the tenant's own language model is called with, as a worker calls it.
    http = GuardedClient(settings)
    try:
        async with db.public_session() as s:
            tenant = await TenantDirectory(s).by_slug(slug)
        if tenant is None:
            raise LookupError(f"no business {slug!r}")
        tenant_id = tenant.id
        wa_id = parse_phone(phone, tenant.default_region).e164.removeprefix("+")
        for line in lines:
            text = line.rstrip("\n")
            if not text.strip():
                continue
            if echo:
                out(f"> {text}")
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
