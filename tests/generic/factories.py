"""One instance of every ``Node`` type, created in a tenant the way users create it (through the API).

The cross-tenant suite fails when a Node type of the schema has neither a factory here nor an entry in
``NOT_DIRECTLY_CREATABLE``: whoever adds a Node type adds its factory (a few lines with the contract's
operation), so the type is attacked with another tenant's ids from then on.

Every text a factory writes goes through ``ctx.text(...)``: it carries the tenant's marker word, and the
suite asserts that tenant B's marker never shows up in anything tenant A receives.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bizzly.db.engine import Database
from domain.identity.service import upsert_crm_contact
from tenants.models import Tenant as TenantRow
from tests.generic.operations import PROBE_PHONE, future
from tests.support.accounts import SignedUp, accept_invitation
from tests.support.graphql import GraphQLClient


@dataclass
class FactoryContext:
    gql: GraphQLClient
    owner: SignedUp
    marker: str  # a word every text of this tenant carries
    db: Database
    tenant_uuid: Any
    created: dict[str, str] = field(default_factory=dict)  # Node type -> global id

    def text(self, value: str) -> str:
        return f"{value} {self.marker}"

    def email(self, local: str) -> str:
        return f"{local}@{self.marker.lower()}.example.com"

    async def op(self, name: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """A contract operation as the tenant's owner; fails on any error, returns ``data``."""
        result = await self.gql.op(name, variables, token=self.owner.access_token)
        assert not result.errors, (name, result.errors)
        for value in result.data.values():
            if isinstance(value, dict) and "errors" in value:
                assert value["errors"] == [], (name, value["errors"])
        return result.data

    async def ensure(self, type_name: str) -> str:
        """The id of this tenant's instance of ``type_name``, created on first use."""
        if type_name not in self.created:
            self.created[type_name] = await FACTORIES[type_name](self)
        return self.created[type_name]


Factory = Callable[[FactoryContext], Awaitable[str]]
FACTORIES: dict[str, Factory] = {}

# Node types no API call creates on its own; the suite still needs (and checks it finds) one of each, by
# listing the tenant's connections after the factories ran.
NOT_DIRECTLY_CREATABLE: dict[str, str] = {
    "AuditEntry": "written as a side effect of other mutations; listed by auditLog",
}


def factory(type_name: str) -> Callable[[Factory], Factory]:
    def register(fn: Factory) -> Factory:
        assert type_name not in FACTORIES, f"two factories for {type_name}"
        FACTORIES[type_name] = fn
        return fn

    return register


# --- accounts ------------------------------------------------------------------------------------------


@factory("Tenant")
async def _tenant(ctx: FactoryContext) -> str:
    return ctx.owner.tenant_id


@factory("User")
async def _user(ctx: FactoryContext) -> str:
    data = await ctx.op("Viewer")
    return str(data["viewer"]["user"]["id"])


@factory("StaffMember")
async def _staff_member(ctx: FactoryContext) -> str:
    """Invited, then accepted by the invitee: only then a member."""
    email = ctx.email("stan")
    await ctx.op("AddStaffMember", {"input": {"email": email, "name": ctx.text("Stan"), "role": "STAFF"}})
    await accept_invitation(ctx.gql, email=email)
    data = await ctx.op("StaffMembers")
    [member] = [e["node"] for e in data["staffMembers"]["edges"] if e["node"]["user"]["email"] == email]
    return str(member["id"])


# --- customers and identity ----------------------------------------------------------------------------


@factory("Customer")
async def _customer(ctx: FactoryContext) -> str:
    data = await ctx.op(
        "CreateCustomer",
        {"input": {"name": ctx.text("Carla"), "email": ctx.email("carla"), "phone": PROBE_PHONE}},
    )
    return str(data["createCustomer"]["customer"]["id"])


@factory("CrmContact")
async def _crm_contact(ctx: FactoryContext) -> str:
    # Contacts arrive from the CRM (sync, webhooks), not from a dashboard mutation: written by the same
    # domain service the sync uses, in the tenant's own session.
    from graphql_api.relay import gid

    async with ctx.db.tenant_session(ctx.tenant_uuid) as s, s.begin():
        tenant = await s.get(TenantRow, ctx.tenant_uuid)
        assert tenant is not None
        contact = await upsert_crm_contact(
            s,
            tenant=tenant,
            external_id=f"crm-{ctx.marker.lower()}",
            email=ctx.email("cora"),
            first_name=ctx.text("Cora"),
            phone=PROBE_PHONE,
            actor="system",
        )
    return str(gid("CrmContact", contact.id))


@factory("Lead")
async def _lead(ctx: FactoryContext) -> str:
    await ctx.op(
        "SubmitContactForm",
        {
            "input": {
                "tenantSlug": ctx.owner.slug,
                "email": ctx.email("lena"),
                "firstName": ctx.text("Lena"),
                "message": ctx.text("Call me back"),
            }
        },
    )
    data = await ctx.op("Leads", {"first": 1})
    return str(data["leads"]["edges"][0]["node"]["id"])


# --- catalog, scheduling, subscriptions ----------------------------------------------------------------


@factory("Service")
async def _service(ctx: FactoryContext) -> str:
    data = await ctx.op(
        "CreateService",
        {
            "input": {
                "name": ctx.text("Haircut"),
                "description": ctx.text("A tidy cut"),
                "durationMinutes": 30,
                "price": {"amount": 2500, "currency": "GBP"},
            }
        },
    )
    return str(data["createService"]["service"]["id"])


@factory("HelpArticle")
async def _help_article(ctx: FactoryContext) -> str:
    data = await ctx.op(
        "CreateHelpArticle",
        {
            "input": {
                "title": ctx.text("Parking"),
                "body": ctx.text("Park behind"),
                "category": ctx.text("Visit"),
            }
        },
    )
    return str(data["createHelpArticle"]["article"]["id"])


@factory("Plan")
async def _plan(ctx: FactoryContext) -> str:
    service = await ctx.ensure("Service")
    data = await ctx.op(
        "CreatePlan",
        {
            "input": {
                "name": ctx.text("Monthly"),
                "quota": 4,
                "period": "MONTH",
                "price": {"amount": 8000, "currency": "GBP"},
                "serviceIds": [service],
            }
        },
    )
    return str(data["createPlan"]["plan"]["id"])


@factory("CustomerSubscription")
async def _subscription(ctx: FactoryContext) -> str:
    customer, plan = await ctx.ensure("Customer"), await ctx.ensure("Plan")
    data = await ctx.op("SubscribeCustomer", {"input": {"customerId": customer, "planId": plan}})
    return str(data["subscribeCustomer"]["subscription"]["id"])


@factory("Booking")
async def _booking(ctx: FactoryContext) -> str:
    customer, service = await ctx.ensure("Customer"), await ctx.ensure("Service")
    hours = [{"weekday": d, "opens": "08:00", "closes": "18:00"} for d in range(7)]
    await ctx.op("SetBusinessHours", {"input": {"hours": hours}})
    data = await ctx.op(
        "CreateBooking",
        {"input": {"customerId": customer, "serviceId": service, "startsAt": future().isoformat()}},
    )
    return str(data["createBooking"]["booking"]["id"])


# --- connections and conversations (WhatsApp) ----------------------------------------------------------


def _digits(ctx: FactoryContext) -> str:
    return str(int.from_bytes(ctx.marker.encode()[:6].ljust(6, b"0"), "big"))


@factory("Integration")
async def _integration(ctx: FactoryContext) -> str:
    # connectWhatsApp checks the number with Meta (the WhatsApp suite does that against its fake); here the
    # record is saved by the same domain service the mutation uses once Meta said yes.
    from domain.connections.service import save_connection
    from graphql_api.relay import gid
    from tests.support.accounts import _services

    async with ctx.db.tenant_session(ctx.tenant_uuid) as s, s.begin():
        row = await save_connection(
            s,
            keys=_services(ctx.gql).keys,
            provider="whatsapp",
            display_name=ctx.text("WhatsApp"),
            config={"phone_number_id": _digits(ctx), "waba_id": "1"},
            secrets={"access_token": "token"},
            routes=[_digits(ctx)],
            single=False,
        )
    return str(gid("Integration", row.id))


async def _inbound(ctx: FactoryContext) -> tuple[str, str]:
    from domain.conversations.service import Sender, record_inbound
    from graphql_api.relay import gid

    async with ctx.db.tenant_session(ctx.tenant_uuid) as s, s.begin():
        stored = await record_inbound(
            s,
            channel="whatsapp",
            connection_id=None,
            sender=Sender(wa_id=PROBE_PHONE.lstrip("+"), name=ctx.text("Wendy")),
            wamid=f"wamid.{ctx.marker}",
            kind="text",
            body=ctx.text("hello"),
        )
    assert stored is not None
    conversation, message = stored
    return str(gid("Conversation", conversation.id)), str(gid("Message", message.id))


@factory("Conversation")
async def _conversation(ctx: FactoryContext) -> str:
    conversation, message = await _inbound(ctx)
    ctx.created["Message"] = message
    return conversation


@factory("Message")
async def _message(ctx: FactoryContext) -> str:
    await ctx.ensure("Conversation")
    return ctx.created["Message"]


@factory("AuthEvent")
async def _auth_event(ctx: FactoryContext) -> str:
    # Auth events are written by the assistant's verification engine as a WhatsApp customer verifies; no
    # mutation makes one. Written in the tenant's own session, pointing at the tenant's customer.
    import uuid

    from strawberry import relay

    from domain.assistant.models import AuthEvent, AuthEventKind
    from graphql_api.relay import gid

    customer = relay.GlobalID.from_id(await ctx.ensure("Customer")).node_id
    async with ctx.db.tenant_session(ctx.tenant_uuid, write=True) as s, s.begin():
        event = AuthEvent(
            kind=AuthEventKind.CODE_SENT.value,
            phone=PROBE_PHONE,
            user_key=PROBE_PHONE.lstrip("+"),
            customer_id=uuid.UUID(customer),
        )
        s.add(event)
        await s.flush()
    return str(gid("AuthEvent", event.id))


# --- notifications -------------------------------------------------------------------------------------


@factory("Notification")
async def _notification(ctx: FactoryContext) -> str:
    # A booking decides its confirmation (and the owner's new-booking email) in its own transaction.
    await ctx.ensure("Booking")
    data = await ctx.op("Notifications", {"first": 1})
    return str(data["notifications"]["edges"][0]["node"]["id"])
