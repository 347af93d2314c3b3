"""Free slots: the business's wall clock (across daylight-saving changes), and never a full, closed, past or
too-soon time."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bizzly import clock
from tests.support.accounts import SignedUp, sign_up
from tests.support.customers import create_customer
from tests.support.graphql import GraphQLClient
from tests.support.scheduling import (
    book,
    create_service,
    local,
    next_last_sunday,
    next_weekday,
    set_hours,
    slots,
    update_settings,
)

LONDON = ZoneInfo("Europe/London")


@pytest.fixture
async def owner(gql: GraphQLClient) -> SignedUp:
    business = await sign_up(gql, slug="london-cuts", timezone="Europe/London")
    await set_hours(gql, business.access_token)
    return business


async def test_slots_start_at_opening_local_time_on_both_daylight_saving_days(
    gql: GraphQLClient, owner: SignedUp
) -> None:
    service = await create_service(gql, owner.access_token, duration=60)
    spring, autumn = next_last_sunday(3), next_last_sunday(10)

    for day, utc_offset_hours in ((spring, 1), (autumn, 0)):
        found = await slots(gql, service["id"], day, tenant=owner.slug)
        # 09:00, 09:15, ... 16:00 local: the last one ends at closing.
        assert len(found) == 29
        assert [s.astimezone(LONDON).strftime("%H:%M") for s in found[:3]] == ["09:00", "09:15", "09:30"]
        assert found[-1].astimezone(LONDON).strftime("%H:%M") == "16:00"
        # The instants themselves: 09:00 BST is 08:00 UTC after the spring change, 09:00 GMT after autumn's.
        assert found[0] == datetime(day.year, day.month, day.day, 9 - utc_offset_hours, tzinfo=UTC)

    # The day before each change is on the other offset.
    saturday = spring - timedelta(days=1)
    before_spring = await slots(gql, service["id"], saturday, tenant=owner.slug)
    assert before_spring[0] == datetime(saturday.year, saturday.month, saturday.day, 9, tzinfo=UTC)


async def test_a_skipped_local_hour_is_never_offered_and_a_repeated_one_once(
    gql: GraphQLClient, owner: SignedUp
) -> None:
    night = [{"weekday": 6, "opens": "00:00", "closes": "04:00"}]  # Sundays: the changes happen at 01:00 UTC
    await set_hours(gql, owner.access_token, night)
    service = await create_service(gql, owner.access_token, duration=60)

    spring = await slots(gql, service["id"], next_last_sunday(3), tenant=owner.slug)
    walls = [s.astimezone(LONDON).strftime("%H:%M") for s in spring]
    assert not [w for w in walls if w.startswith("01:")]  # 01:00-01:59 does not exist that night
    assert walls[:4] == ["00:00", "00:15", "00:30", "00:45"]
    assert walls[4] == "02:00"
    # Real durations: 04:00 BST is 03:00 UTC, so the last hour-long slot starts at 03:00 BST.
    assert walls[-1] == "03:00"
    assert all(b - a >= timedelta(minutes=15) for a, b in zip(spring, spring[1:], strict=False))

    autumn = await slots(gql, service["id"], next_last_sunday(10), tenant=owner.slug)
    assert len(autumn) == len(set(autumn))
    # 01:00-01:59 happens twice; each wall-clock time is offered once, and hours are real hours: the last
    # hour-long slot before 04:00 GMT starts at 03:00.
    autumn_walls = [s.astimezone(LONDON).strftime("%H:%M") for s in autumn]
    assert autumn_walls.count("01:30") == 1
    assert autumn_walls[-1] == "03:00"


async def test_full_closed_and_past_slots_are_never_offered(gql: GraphQLClient, owner: SignedUp) -> None:
    service = await create_service(gql, owner.access_token, duration=60, capacity=1)
    customer = await create_customer(gql, owner, name="Ann", email="ann@example.com")
    day = next_weekday(2)

    before = await slots(gql, service["id"], day, tenant=owner.slug)
    assert local(day, 10) in before
    done = await book(
        gql,
        owner.access_token,
        service_id=service["id"],
        starts_at=local(day, 10),
        customer_id=customer["id"],
    )
    assert done["errors"] == []

    after = await slots(gql, service["id"], day, tenant=owner.slug)
    # An hour-long booking at 10:00 blocks every start whose hour overlaps it: 09:15 to 10:45.
    blocked = {local(day, 9, 15) + timedelta(minutes=15 * i) for i in range(7)}
    assert set(before) - set(after) == blocked

    await update_settings(gql, owner.access_token, closedDates=[day.isoformat()])
    assert await slots(gql, service["id"], day, tenant=owner.slug) == []

    yesterday = (clock.now().astimezone(LONDON) - timedelta(days=1)).date()
    assert await slots(gql, service["id"], yesterday, tenant=owner.slug) == []


async def test_today_offers_nothing_before_now_plus_the_minimum_notice(
    gql: GraphQLClient, owner: SignedUp
) -> None:
    always = [{"weekday": d, "opens": "00:00", "closes": "24:00"} for d in range(7)]
    await set_hours(gql, owner.access_token, always)
    await update_settings(gql, owner.access_token, minimumNoticeMinutes=120, slotStepMinutes=30)
    service = await create_service(gql, owner.access_token, duration=30)
    now = clock.now()
    earliest = now + timedelta(minutes=120)
    today, tomorrow = now.astimezone(LONDON).date(), (now.astimezone(LONDON) + timedelta(days=1)).date()
    found = await slots(gql, service["id"], today, tenant=owner.slug) + await slots(
        gql, service["id"], tomorrow, tenant=owner.slug
    )
    assert all(s >= earliest for s in found)
    assert all(s.astimezone(LONDON).minute in (0, 30) for s in found)
    # Nothing bookable is held back: the first slot is the first half hour on or after the notice.
    assert earliest <= found[0] < earliest + timedelta(minutes=30)


async def test_availability_is_public_but_never_of_an_inactive_service(
    gql: GraphQLClient, owner: SignedUp
) -> None:
    hidden = await create_service(gql, owner.access_token, name="Secret", active=False)
    day = next_weekday(1)
    result = await gql.op(
        "Availability", {"serviceId": hidden["id"], "date": day.isoformat()}, tenant=owner.slug
    )
    assert result.error_codes == ["NOT_FOUND"]
    # Staff see it as not bookable: no slots rather than an error.
    assert await slots(gql, hidden["id"], day, token=owner.access_token) == []
    shown = await create_service(gql, owner.access_token, name="Shown")
    for far in ("0001-01-01", "9999-12-31", (day + timedelta(days=400)).isoformat()):
        assert await slots(gql, shown["id"], date.fromisoformat(far), tenant=owner.slug) == []
    unknown = await gql.op(
        "Availability", {"serviceId": "not-an-id", "date": day.isoformat()}, tenant=owner.slug
    )
    assert unknown.error_codes == ["BAD_USER_INPUT"]
    no_tenant = await gql.op("Availability", {"serviceId": hidden["id"], "date": day.isoformat()})
    assert no_tenant.error_codes == ["BAD_USER_INPUT"]
