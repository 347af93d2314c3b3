"""``bizzly demo``: a demo business to click through, seeded through the same services the API uses.

Every step looks for what it would create first (the business by its web address, services, articles and
plans by name, customers by email, bookings only while the business has none), so running the command
again changes nothing, and a run cut short is completed by the next one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bizzly import clock
from bizzly.crypto import KeyRing
from bizzly.db.engine import Database, MaintenanceUse
from bizzly.db.paging import PageRequest
from bizzly.settings import Settings
from domain.catalog import help as articles
from domain.catalog import service as catalog
from domain.catalog.help import search_articles
from domain.catalog.repository import Services
from domain.customers import service as customers
from domain.customers.models import PhoneProof
from domain.customers.repository import Customers
from domain.scheduling.models import BookingSource
from domain.scheduling.repository import BookingFilter, Bookings
from domain.scheduling.service import BookingCaller, create_booking
from domain.subscriptions import service as subscriptions
from domain.subscriptions.repository import Plans
from tenants import service as accounts
from tenants.passwords import hash_password
from tenants.repository import TenantDirectory
from tenants.tokens import AccessTokens

SLUG = "demo"
OWNER_EMAIL = "owner@demo.example.com"
OWNER_PASSWORD = "Demo-Owner-2024"
CUSTOMER_PASSWORD = "Demo-Customer-2024"
ACTOR = "system"

HOURS = [(d, "09:00", "18:00") for d in range(5)] + [(5, "10:00", "16:00")]
# (name, description, minutes, price in pence, capacity, active)
SERVICES = [
    ("Haircut", "Wash, cut and style.", 45, 3500, 1, True),
    ("Beard trim", "Shape and tidy, hot towel finish.", 20, 1500, 1, True),
    ("Colour", "Full colour with a gloss.", 90, 8000, 1, True),
    ("Yoga class", "An hour of gentle flow for every level.", 60, 1200, 12, True),
    ("Hot stone massage", "Coming soon.", 60, 5500, 1, False),
]
# Sarah and Tom Jones share a phone (a family phone): the WhatsApp assistant asks which profile.
CUSTOMERS = [
    ("Sarah Jones", "sarah@example.com", "07700 900123"),
    ("Tom Jones", "tom@example.com", "07700 900123"),
    ("Priya Patel", "priya@example.com", "+44 7700 900456"),
    ("Liam Smith", "liam@example.com", "07700900789"),
]
PLAN = ("Yoga 8 a month", 8, "MONTH", 8000, ["Yoga class"])
# (customer email, service, days from today, local time, source)
BOOKINGS = [
    ("sarah@example.com", "Yoga class", 2, time(17, 0), BookingSource.WEBSITE),
    ("tom@example.com", "Haircut", 3, time(10, 0), BookingSource.DASHBOARD),
    ("priya@example.com", "Colour", 4, time(14, 0), BookingSource.WHATSAPP),
    ("liam@example.com", "Beard trim", 5, time(11, 30), BookingSource.DASHBOARD),
    ("sarah@example.com", "Yoga class", 9, time(17, 0), BookingSource.WEBSITE),
]
ARTICLES = [
    (
        "WhatsApp Authentication & Security",
        "Integrations",
        "Beginner",
        "When a customer messages your WhatsApp number, the assistant looks up the phone number in your "
        "customer database and sends a 6-digit verification code. Once verified, the customer has a 24-hour "
        "session to view, create and cancel bookings and check subscriptions.\n\n"
        "Public without verification: browsing services and pricing, checking availability and reading help "
        "articles.\n\nIf a phone number is shared across accounts, the assistant asks which profile to use. "
        'Codes expire after 10 minutes; customers say "verify" for a new one, and "log out" to end the '
        "session early.",
    ),
    (
        "Cancelling or moving a booking",
        "Bookings",
        "Beginner",
        "You can cancel or reschedule a booking from your account or on WhatsApp up to 24 hours before it "
        "starts. Within 24 hours, please call us: a late cancellation uses your plan's booking.",
    ),
    (
        "How subscriptions and quotas work",
        "Subscriptions",
        "Beginner",
        "A plan includes a number of bookings per week or month. Each booking of a covered service uses "
        "one from the period it takes place in; cancelling in time gives it back. Unused bookings do not "
        "roll over.",
    ),
    (
        "Finding us and parking",
        "Visiting",
        "Beginner",
        "We are on the high street, next to the library. Free parking behind the building after 6 pm.",
    ),
]


@dataclass(frozen=True)
class DemoResult:
    created: bool  # False: everything was already there
    slug: str
    timezone: str


async def _ensure_tenant(db: Database, settings: Settings, tokens: AccessTokens) -> tuple[bool, str]:
    async with db.maintenance_session(MaintenanceUse.DEMO) as s, s.begin():
        existing = await TenantDirectory(s).by_slug(SLUG)
        if existing is not None:
            return False, existing.timezone
        done = await accounts.sign_up(
            s,
            tokens=tokens,
            settings=settings,
            business_name="Demo Studio",
            slug=SLUG,
            timezone="Europe/London",
            default_region="GB",
            name="Olivia Owner",
            email=OWNER_EMAIL,
            password=OWNER_PASSWORD,
        )
        return True, done.tenant.timezone


async def _seed_catalog(s: AsyncSession) -> bool:
    changed = False
    if not await catalog.week(s):
        await catalog.set_business_hours(s, actor=ACTOR, hours=HOURS)
        changed = True
    services = Services(s)
    for name, description, minutes, pence, capacity, active in SERVICES:
        if await services.by_name(name) is None:
            await catalog.create_service(
                s,
                actor=ACTOR,
                name=name,
                description=description,
                duration_minutes=minutes,
                price_amount=pence,
                price_currency="GBP",
                capacity=capacity,
                active=active,
            )
            changed = True
    for title, category, level, body in ARTICLES:
        found = await search_articles(s, query=title, published_only=False)
        if not any(a.title == title for a in found):
            await articles.create_article(
                s, actor=ACTOR, title=title, body=body, category=category, level=level
            )
            changed = True
    return changed


async def _seed_people(s: AsyncSession) -> bool:
    changed = False
    tenant = await customers.current_tenant(s)
    repo = Customers(s)
    password_hash: str | None = None
    for name, email, phone in CUSTOMERS:
        if await repo.by_email_key(email.lower()) is None:
            password_hash = password_hash or await hash_password(CUSTOMER_PASSWORD)
            await customers.create_customer(
                s,
                tenant=tenant,
                actor=ACTOR,
                name=name,
                email=email,
                phone=phone,
                password_hash=password_hash,
                phone_proof=PhoneProof.STAFF,  # the demo business's own record of its customers
            )
            changed = True
    name, quota, period, pence, covered = PLAN
    plans = Plans(s)
    plan = await plans.by_name(name)
    if plan is None:
        services = Services(s)
        ids = [found.id for n in covered if (found := await services.by_name(n)) is not None]
        plan = await subscriptions.create_plan(
            s,
            actor=ACTOR,
            name=name,
            quota=quota,
            period=period,
            price_amount=pence,
            price_currency="GBP",
            service_ids=ids,
        )
        changed = True
    sarah = await repo.by_email_key("sarah@example.com")
    assert sarah is not None
    current = await subscriptions.customers_subscriptions(s, [sarah.id])
    if not any(v.plan.id == plan.id for v in current[sarah.id]):
        await subscriptions.subscribe(s, actor=ACTOR, customer_id=sarah.id, plan_id=plan.id)
        changed = True
    return changed


async def _seed_bookings(s: AsyncSession, zone: ZoneInfo) -> bool:
    if (await Bookings(s).page(PageRequest(first=1), BookingFilter())).items:
        return False
    repo, services = Customers(s), Services(s)
    today = clock.now().astimezone(zone).date()
    for email, service_name, days, at, source in BOOKINGS:
        customer = await repo.by_email_key(email)
        service = await services.by_name(service_name)
        assert customer is not None
        assert service is not None
        day = today + timedelta(days=days)
        while day.weekday() >= 5:  # every demo time fits Monday to Friday's hours
            day += timedelta(days=1)
        customer_id = customer.id if source is BookingSource.WEBSITE else None
        caller = BookingCaller(actor=ACTOR, source=source, customer_id=customer_id)
        await create_booking(
            s,
            caller=caller,
            customer_id=customer.id,
            service_id=service.id,
            starts_at=datetime.combine(day, at, tzinfo=zone),
        )
    return True


async def seed(settings: Settings) -> DemoResult:
    """Create (or complete) the demo business; returns whether anything was written."""
    keys = KeyRing(settings.key_ring())
    tokens = AccessTokens(keys, ttl=timedelta(seconds=settings.access_token_ttl_seconds))
    db = Database(settings, null_pool=True)
    try:
        created, timezone = await _ensure_tenant(db, settings, tokens)
        async with db.public_session() as s:
            tenant_id = await TenantDirectory(s).id_for_slug(SLUG)
        assert tenant_id is not None
        async with db.tenant_session(tenant_id, write=True) as s, s.begin():
            changed = await _seed_catalog(s)
            changed = await _seed_people(s) or changed
            changed = await _seed_bookings(s, ZoneInfo(timezone)) or changed
    finally:
        await db.dispose()
    return DemoResult(created=created or changed, slug=SLUG, timezone=timezone)


def instructions(result: DemoResult, settings: Settings) -> str:
    state = (
        "Seeded the demo business."
        if result.created
        else "The demo business is already there (nothing changed)."
    )
    url = settings.public_url.rstrip("/")
    emails = ", ".join(email for _, email, _ in CUSTOMERS)
    return f"""{state}

  Business:   Demo Studio (web address "{result.slug}", time zone {result.timezone})
  Staff:      {OWNER_EMAIL} / {OWNER_PASSWORD} (owner)
  Customers:  {emails} / {CUSTOMER_PASSWORD}
              (Sarah and Tom Jones share the phone +447700900123)

Start the server with `bizzly serve` and open {url}/graphql (GraphiQL). Log in as staff with

  mutation {{ logIn(input: {{email: "{OWNER_EMAIL}", password: "{OWNER_PASSWORD}"}})
             {{ accessToken errors {{ message }} }} }}

then send `Authorization: Bearer <accessToken>`; customers use `customerLogIn` with
tenantSlug "{result.slug}". Public queries (services, availability, helpArticles) need only the header
`X-Bizzly-Tenant: {result.slug}`."""
