"""What customer services call on every change made on Bizzly's side (never on an import from HubSpot):
link the customer's earlier leads, and mark the customer for the batched HubSpot push.

Kept apart from ``domain.leads.service`` so that ``domain.customers.service`` can call it without an
import cycle (the lead service reads customers)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bizzly import clock
from bizzly.ids import new_id
from bizzly.outbox import add_outbox
from domain.connections.models import Provider
from domain.connections.service import live_connection
from domain.customers.models import Customer
from domain.leads.models import CustomerPush
from domain.leads.repository import CustomerPushes, Leads, push_row_waiting

PUSH_TOPIC = "hubspot.push"
# Changes wait this long before the push runs, so a burst goes out in full batches of up to 100.
PUSH_DELAY = timedelta(seconds=5)


async def hubspot_connected(session: AsyncSession) -> bool:
    """A live (not disconnected) connection: a portal waiting for a reconnect still collects changes."""
    return await live_connection(session, provider=Provider.HUBSPOT) is not None


async def schedule_push(session: AsyncSession, *, delay: timedelta = PUSH_DELAY) -> None:
    """One waiting ``hubspot.push`` row per tenant: a row that has not started yet will see new marks."""
    if not await push_row_waiting(session, PUSH_TOPIC):
        await add_outbox(session, topic=PUSH_TOPIC, payload={}, available_at=clock.now() + delay)


async def customer_changed(session: AsyncSession, customer: Customer, *, created: bool = False) -> None:
    """A customer was created or changed on our side: link its leads (by email) and, with HubSpot
    connected, mark it for the next push."""
    for lead in await Leads(session).unlinked_with_email(customer.email_key):
        lead.customer_id = customer.id
    if not await hubspot_connected(session):
        return
    pushes = CustomerPushes(session)
    row = None if created else await pushes.for_customer(customer.id)
    if row is None:
        row = CustomerPush(tenant_id=customer.tenant_id, id=new_id(), customer_id=customer.id)
        pushes.add(row)
    row.pending = True
    row.changed_at = clock.now()
    await schedule_push(session)
