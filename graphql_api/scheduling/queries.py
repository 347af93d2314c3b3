"""Scheduling queries: a service's free slots (public) and the bookings page (staff)."""

from __future__ import annotations

from datetime import date

import strawberry
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection

from bizzly.errors import DomainError, Invalid
from domain.scheduling import service as scheduling
from domain.scheduling.repository import BookingFilter as Where
from domain.scheduling.repository import Bookings
from graphql_api.context import Info
from graphql_api.errors import from_domain
from graphql_api.permissions import CanOperate, Public
from graphql_api.relay import Connection, page_request, parse_id
from graphql_api.scheduling.types import Booking, BookingFilter, Slot, prefetch
from tenants.permissions import Permission, role_can


def _where(filter: BookingFilter | None) -> Where:
    if filter is None:
        return Where()
    for name, value in (("filter.from", filter.from_), ("filter.to", filter.to)):
        if value is not None and value.tzinfo is None:
            raise Invalid("Give the time with its UTC offset.", field=name)
    if filter.from_ is not None and filter.to is not None and filter.to <= filter.from_:
        raise Invalid("`to` must be after `from`.", field="filter.to")
    return Where(
        status=filter.status.value if filter.status is not None else None,
        source=filter.source.value if filter.source is not None else None,
        customer_id=parse_id(filter.customer_id, "Customer", field="filter.customerId")
        if filter.customer_id is not None
        else None,
        starts_from=filter.from_,
        starts_before=filter.to,
    )


def _asks_total(info: Info) -> bool:
    """Whether the query selects ``totalCount``, directly or in a fragment (a count over the whole filtered
    list: made only when asked)."""

    def asks(selections: list[Selection]) -> bool:
        return any(
            (isinstance(s, SelectedField) and s.name == "totalCount")
            or (isinstance(s, FragmentSpread | InlineFragment) and asks(s.selections))
            for s in selections
        )

    return any(asks(field.selections) for field in info.selected_fields)


@strawberry.type
class SchedulingQuery:
    @strawberry.field(
        permission_classes=[Public],
        description="The free slots of a service on a date (the business's time zone), bookable as they are: "
        "open, on the slot step, not past, past the minimum notice, not full.",
    )
    async def availability(self, info: Info, service_id: strawberry.ID, date: date) -> list[Slot]:
        caller = info.context.caller
        staff = (
            caller.is_staff and caller.role is not None and role_can(caller.role, Permission.READ_SETTINGS)
        )
        try:
            parsed = parse_id(service_id, "Service", field="serviceId")
            async with await info.context.session() as session:
                slots = await scheduling.availability(
                    session, service_id=parsed, day=date, include_inactive=staff
                )
        except DomainError as exc:
            raise from_domain(exc) from exc
        return [Slot.from_value(s) for s in slots]

    @strawberry.field(
        permission_classes=[CanOperate],
        description="The business's bookings, latest start first.",
    )
    async def bookings(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        filter: BookingFilter | None = None,
    ) -> Connection[Booking]:
        try:
            where = _where(filter)
            async with await info.context.session() as session:
                page = await Bookings(session).page(
                    page_request(first, after, last, before), where, with_total=_asks_total(info)
                )
        except DomainError as exc:
            raise from_domain(exc) from exc
        await prefetch(info, [row for _, row in page.items])
        return Connection.from_page(page, Booking.from_model)
