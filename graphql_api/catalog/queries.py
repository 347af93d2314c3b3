"""Catalog queries. Public per tenant: anonymous callers name the business with ``X-Bizzly-Tenant`` and
see only active services and published articles; staff see everything."""

from __future__ import annotations

import strawberry

from bizzly.db.paging import Page, decode_cursor, encode_cursor
from bizzly.errors import DomainError, Invalid
from domain.catalog import help as articles
from domain.catalog import service as catalog
from domain.catalog.help_repository import HelpArticles
from domain.catalog.models import HelpArticle as ArticleRow
from domain.catalog.repository import Services
from graphql_api.catalog.loaders import prime_services
from graphql_api.catalog.types import BusinessHours, HelpArticle, Service
from graphql_api.context import Info
from graphql_api.errors import from_domain
from graphql_api.permissions import Public, staff_can
from graphql_api.relay import Connection, page_request
from tenants.permissions import Permission


def _ranked_page(rows: list[ArticleRow], *, first: int | None, after: str | None) -> Page[ArticleRow]:
    """A page of an already ranked list (search results): the cursor is the position."""
    size = 10 if first is None else first
    if not 0 <= size <= 100:
        raise Invalid("Page size must be between 0 and 100.", field="first")
    start = 0
    if after:
        (position,) = decode_cursor(after, 1, field="after")
        if not isinstance(position, int) or position < 0:
            raise Invalid("This cursor is not valid.", field="after")
        start = position + 1
    chosen = rows[start : start + size]
    return Page(
        items=[(encode_cursor([start + i]), row) for i, row in enumerate(chosen)],
        has_next=start + size < len(rows),
        has_previous=start > 0,
        total=len(rows),
    )


@strawberry.type
class CatalogQuery:
    @strawberry.field(
        permission_classes=[Public],
        description="The business's services by name. Customers and anonymous callers see active ones only; "
        "staff see inactive ones too (and archived ones with includeArchived).",
    )
    async def services(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        include_archived: bool = False,
    ) -> Connection[Service]:
        staff = staff_can(info, Permission.READ_SETTINGS)
        try:
            async with await info.context.session() as session:
                page = await Services(session).page(
                    page_request(first, after, last, before),
                    include_inactive=staff,
                    include_archived=staff and include_archived,
                )
        except DomainError as exc:
            raise from_domain(exc) from exc
        prime_services(info.context, [row for _, row in page.items])
        return Connection.from_page(page, Service.from_model)

    @strawberry.field(
        permission_classes=[Public],
        description="Weekly opening hours in the business's time zone (a weekday without hours is closed).",
    )
    async def business_hours(self, info: Info) -> list[BusinessHours]:
        async with await info.context.session() as session:
            ranges = await catalog.week(session)
        return [BusinessHours.from_range(r) for r in ranges]

    @strawberry.field(
        permission_classes=[Public],
        description="Help articles: with `search`, most relevant first (typo-tolerant for short queries); "
        "without, by category and title. The public sees published articles only.",
    )
    async def help_articles(
        self,
        info: Info,
        search: str | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[HelpArticle]:
        published_only = not staff_can(info, Permission.OPERATE)
        try:
            async with await info.context.session() as session:
                if search is not None and search.strip():
                    if len(search) > 200:
                        raise Invalid("Search for at most 200 characters.", field="search")
                    found = await articles.search_articles(
                        session, query=search, published_only=published_only
                    )
                    page = _ranked_page(list(found), first=first, after=after)
                else:
                    page = await HelpArticles(session).page(
                        page_request(first, after), published_only=published_only
                    )
        except DomainError as exc:
            raise from_domain(exc) from exc
        return Connection.from_page(page, HelpArticle.from_model)
