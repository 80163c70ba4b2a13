"""Publishing a year's holiday arrangement: provisional deadlines, their one recompute by a
real worker, and every DateTime answered in the city's zone (docs/calendar.md).

The year is the first one ``chinese-calendar`` does not ship (2027 with 1.11), so the
test keeps working when the package learns that year. The notice used here is an
example (New Year's Day, 1–3 January, on whatever weekdays they fall), not the
published one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest_asyncio
from strawberry import relay

from hotline.platform import jobs
from hotline.platform.calendar import covered_years
from hotline.platform.tenancy import Scope, use_scope
from hotline.tenants.provinces.calendar import seed_official_calendar, tenant_calendar
from hotline.tenants.provinces.calendar_years import RECOMPUTE_JOB
from hotline.tenants.provinces.models import CalendarEntry, CalendarYear
from hotline.tenants.sla.rules import SlaPolicy
from hotline.tenants.tickets import deadlines
from hotline.tenants.tickets.models import Assignment, AssignmentStatus, Status, Ticket
from hotline.workers.runner import Worker
from hotline.workers.settings import WorkerSettings
from tests.tickets_api.conftest import City, World, make_ticket

SHANGHAI = ZoneInfo("Asia/Shanghai")
YEAR = max(covered_years()) + 1

IMPORT = """mutation($p: ID!, $y: Int!, $h: [HolidayRangeInput!]!, $w: [MakeUpDayInput!]!) {
  importCalendarYear(provinceId: $p, year: $y, holidays: $h, workdays: $w) {
    year holidayDates makeUpWorkdays recomputeJobs errors { field code message } } }"""

TICKET = """query($id: ID!) { ticket(id: $id) {
  replyDeadline signDeadline deadlineProvisional updatedAt stages { receivedAt }
  assignments { replyDeadline deadlineProvisional }
  timeline { action at reason data } } }"""

NEW_YEAR = [{"start": f"{YEAR}-01-01", "end": f"{YEAR}-01-03", "name": "元旦"}]


def gid(type_name: str, row_id: int) -> str:
    return str(relay.to_base64(type_name, row_id))


async def province_call(
    world: World, city: City, who: str, query: str, variables: dict[str, Any]
) -> dict[str, Any]:
    """A request with no city selected (province scope)."""
    response = await world.client.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {city.tokens[who]}"},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def run_worker() -> None:
    worker = Worker(
        functions=WorkerSettings.functions,
        queue_name=jobs.queue_name(),
        redis_pool=await jobs.pool(),
        burst=True,
        max_burst_jobs=20,
        handle_signals=False,
        poll_delay=0.05,
        keep_result=60,
    )
    await worker.async_run()
    assert worker.jobs_failed == 0


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def seeded(world: World) -> AsyncIterator[World]:
    for city in (world.alpha, world.beta):
        pid = city.tenant.province_id
        with use_scope(Scope.province(pid)):
            await seed_official_calendar(province_id=pid, since_year=YEAR - 1)
    yield world
    await jobs.close_pools()


async def dispatched_at(city: City, start: datetime) -> tuple[Ticket, deadlines.Deadlines]:
    """A work order dispatched at ``start`` with the deadlines the city's calendar gives."""
    with use_scope(city.scope()):
        times = deadlines.for_dispatch(await tenant_calendar(city.tenant), SlaPolicy(), start)
    made = await make_ticket(
        city,
        status=Status.DISPATCHED,
        departments=[(city.district, AssignmentStatus.PENDING_SIGN)],
        reply_deadline=times.reply,
        due_soon_at=times.due_soon,
    )
    with use_scope(city.scope()):
        await Assignment.filter(id=made.assignments[0].id).update(
            created_at=start, sign_deadline=times.sign
        )
        await Ticket.filter(id=made.ticket.id).update(sign_deadline=times.sign, dispatched_at=start)
    return made.ticket, times


async def read(world: World, city: City, ticket: Ticket) -> dict[str, Any]:
    body = await world.gql(city, "dispatcher", TICKET, {"id": gid("Ticket", ticket.id)})
    assert not body.get("errors"), body
    data: dict[str, Any] = body["data"]["ticket"]
    return data


async def test_publishing_a_year_recomputes_provisional_deadlines_once(seeded: World) -> None:
    alpha, beta = seeded.alpha, seeded.beta
    start = datetime(YEAR - 1, 12, 24, 10, tzinfo=SHANGHAI)
    late, before = await dispatched_at(alpha, start)
    assert before.reply.year == YEAR  # counted over plain weekends: provisional
    early, early_times = await dispatched_at(alpha, datetime(YEAR - 1, 12, 1, 10, tzinfo=SHANGHAI))
    assert early_times.reply.year == YEAR - 1
    other, other_times = await dispatched_at(beta, start)

    shown = await read(seeded, alpha, late)
    assert shown["deadlineProvisional"] is True
    assert shown["assignments"] == [
        {"replyDeadline": before.reply.isoformat(), "deadlineProvisional": True}
    ]
    assert (await read(seeded, alpha, early))["deadlineProvisional"] is False

    variables = {"p": gid("Province", alpha.tenant.province_id), "y": YEAR, "h": NEW_YEAR}
    done = await province_call(seeded, alpha, "province", IMPORT, {**variables, "w": []})
    assert done["data"]["importCalendarYear"] == {
        "year": YEAR,
        "holidayDates": 3,
        "makeUpWorkdays": 0,
        "recomputeJobs": 2,  # one per city of Shandong: alpha and gamma
        "errors": [],
    }
    await run_worker()

    with use_scope(alpha.scope()):
        calendar = await tenant_calendar(alpha.tenant)
    assert all(not calendar.is_working_day(date(YEAR, 1, d)) for d in (1, 2, 3))
    expected = deadlines.for_dispatch(calendar, SlaPolicy(), start)
    assert expected.reply > before.reply, "the new holidays push the deadline out"
    after = await read(seeded, alpha, late)
    assert after["replyDeadline"] == expected.reply.isoformat()
    assert after["signDeadline"] == expected.sign.isoformat()
    assert after["deadlineProvisional"] is False
    assert after["assignments"] == [
        {"replyDeadline": expected.reply.isoformat(), "deadlineProvisional": False}
    ]
    [event] = [e for e in after["timeline"] if e["action"] == "deadlines_recomputed"]
    assert event["reason"] == f"calendar {YEAR} published"
    assert event["data"]["year"] == YEAR
    # the work order due before the new year, and the other province's city, are untouched
    untouched = await read(seeded, alpha, early)
    assert untouched["replyDeadline"] == early_times.reply.isoformat()
    assert [e["action"] for e in untouched["timeline"]] == ["create"]
    beta_view = await read(seeded, beta, other)
    assert beta_view["replyDeadline"] == other_times.reply.isoformat()
    assert beta_view["deadlineProvisional"] is True

    # a second run (a retried job, or the same year imported again) changes nothing
    await jobs.enqueue(RECOMPUTE_JOB, tenant_id=alpha.tenant.id, year=YEAR, job_id="again")
    again = await province_call(seeded, alpha, "province", IMPORT, {**variables, "w": []})
    assert again["data"]["importCalendarYear"]["errors"] == []
    await run_worker()
    assert await read(seeded, alpha, late) == after


async def test_every_datetime_is_answered_in_the_city_zone(seeded: World) -> None:
    alpha = seeded.alpha
    ticket, times = await dispatched_at(alpha, datetime(YEAR - 1, 12, 1, 10, tzinfo=SHANGHAI))
    shown = await read(seeded, alpha, ticket)
    stored = [shown["replyDeadline"], shown["updatedAt"], shown["stages"]["receivedAt"]]
    stored += [e["at"] for e in shown["timeline"]]
    assert all(value.endswith("+08:00") for value in stored), stored
    assert datetime.fromisoformat(shown["replyDeadline"]) == times.reply
    # an instant given in UTC comes back in the city's zone
    query = """{ calendar { addWorkingHours(start: "2026-03-09T01:00:00+00:00", hours: 1)
      timezone restDayStart } }"""
    body = await seeded.gql(alpha, "dispatcher", query)
    assert body["data"]["calendar"] == {
        "addWorkingHours": "2026-03-09T10:00:00+08:00",
        "timezone": "Asia/Shanghai",
        "restDayStart": "OFFICIAL",
    }
    # a province-scope answer uses the province's zone
    tenant = """query($code: String!) { tenant(code: $code) { updatedAt } }"""
    body = await province_call(seeded, alpha, "province", tenant, {"code": alpha.tenant.code})
    assert body["data"]["tenant"]["updatedAt"].endswith("+08:00"), body


async def test_import_is_validated_and_writes_nothing_when_refused(seeded: World) -> None:
    alpha = seeded.alpha
    year = YEAR + 1
    province = gid("Province", alpha.tenant.province_id)
    saturday = next(d for d in range(1, 8) if date(year, 3, d).weekday() == 5)
    monday = next(d for d in range(1, 8) if date(year, 3, d).weekday() == 0)
    good_range = {"start": f"{year}-05-01", "end": f"{year}-05-05", "name": "劳动节"}
    cases: list[tuple[list[dict[str, str]], list[dict[str, str]], str]] = [
        ([], [], "holidays"),
        (
            [{"start": f"{year - 1}-12-31", "end": f"{year}-01-01", "name": "元旦"}],
            [],
            "holidays[0].start",
        ),
        (
            [{"start": f"{year}-05-05", "end": f"{year}-05-01", "name": "劳动节"}],
            [],
            "holidays[0].end",
        ),
        (
            [{"start": f"{year}-01-01", "end": f"{year}-03-01", "name": "too long"}],
            [],
            "holidays[0].end",
        ),
        (
            [good_range, {"start": f"{year}-05-04", "end": f"{year}-05-06", "name": "x"}],
            [],
            "holidays",
        ),
        ([{**good_range, "name": " "}], [], "holidays[0].name"),
        ([good_range], [{"day": f"{year}-03-{monday:02d}", "name": "调休"}], "workdays[0].day"),
        ([good_range], [{"day": f"{year + 1}-01-02", "name": "调休"}], "workdays[0].day"),
        (
            [good_range],
            [{"day": f"{year}-03-{saturday:02d}", "name": "a"}] * 2,
            "workdays[1].day",
        ),
    ]
    for holidays, workdays, field in cases:
        body = await province_call(
            seeded,
            alpha,
            "province",
            IMPORT,
            {"p": province, "y": year, "h": holidays, "w": workdays},
        )
        payload = body["data"]["importCalendarYear"]
        assert payload["year"] is None
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [("INVALID", field)], (
            holidays,
            workdays,
            payload,
        )
    with use_scope(Scope.province(alpha.tenant.province_id)):
        assert not await CalendarYear.filter(year=year).exists()
        assert not await CalendarEntry.filter(
            day__gte=date(year, 1, 1), day__lte=date(year, 12, 31)
        ).exists()


async def test_import_is_isolated_between_provinces(seeded: World) -> None:
    """Another province's id answers NOT_FOUND exactly like a missing one; a city-scoped
    call and a city role cannot publish; nothing is written."""
    alpha, beta = seeded.alpha, seeded.beta
    year = YEAR + 2
    one_day = [{"start": f"{year}-01-01", "end": f"{year}-01-01", "name": "元旦"}]
    variables = {"y": year, "h": one_day, "w": []}
    foreign = gid("Province", beta.tenant.province_id)
    missing = gid("Province", 987654321)
    answers = [
        await province_call(seeded, alpha, "province", IMPORT, {**variables, "p": p})
        for p in (foreign, missing)
    ]
    errors = [a["data"]["importCalendarYear"]["errors"] for a in answers]
    assert errors[0] == errors[1]
    assert [e["code"] for e in errors[0]] == ["NOT_FOUND"]
    own = gid("Province", alpha.tenant.province_id)
    in_city = await seeded.gql(alpha, "province", IMPORT, {**variables, "p": own})
    assert [e["code"] for e in in_city["data"]["importCalendarYear"]["errors"]] == ["NOT_FOUND"]
    admin = await seeded.gql(alpha, "admin", IMPORT, {**variables, "p": own})
    assert [e["code"] for e in admin["data"]["importCalendarYear"]["errors"]] == ["NOT_FOUND"]
    with use_scope(Scope.platform()):
        assert not await CalendarYear.filter(year=year).exists()
    with use_scope(Scope.province(beta.tenant.province_id)):
        assert not await CalendarEntry.filter(day=date(year, 1, 1)).exists()


async def test_rest_day_start_is_a_city_setting(seeded: World) -> None:
    alpha, beta = seeded.alpha, seeded.beta
    query = """{ calendar { restDayStart
      addWorkingDays(start: "2025-11-02T10:00:00+08:00", days: 7) } }"""
    official = {"restDayStart": "OFFICIAL", "addWorkingDays": "2025-11-11T17:00:00+08:00"}
    assert (await seeded.gql(alpha, "dispatcher", query))["data"]["calendar"] == official
    update = """mutation($id: ID!, $r: RestDayStart) {
      updateTenant(input: { tenantId: $id, restDayStart: $r }) {
        tenant { restDayStart } errors { code field } } }"""
    moved = {"id": gid("Tenant", alpha.tenant.id), "r": "NEXT_WORKING_DAY"}
    # another city's admin cannot change it: the same answer as a missing city
    foreign = await seeded.gql(beta, "admin", update, moved)
    absent = await seeded.gql(beta, "admin", update, {**moved, "id": gid("Tenant", 987654321)})
    assert foreign["data"]["updateTenant"] == absent["data"]["updateTenant"]
    assert [e["code"] for e in foreign["data"]["updateTenant"]["errors"]] == ["NOT_FOUND"]
    assert (await seeded.gql(alpha, "dispatcher", query))["data"]["calendar"] == official

    done = await seeded.gql(alpha, "admin", update, moved)
    assert done["data"]["updateTenant"] == {
        "tenant": {"restDayStart": "NEXT_WORKING_DAY"},
        "errors": [],
    }
    assert (await seeded.gql(alpha, "dispatcher", query))["data"]["calendar"] == {
        "restDayStart": "NEXT_WORKING_DAY",
        "addWorkingDays": "2025-11-12T17:00:00+08:00",
    }
    assert (await seeded.gql(beta, "dispatcher", query))["data"]["calendar"] == official
    back = await seeded.gql(alpha, "admin", update, {**moved, "r": "OFFICIAL"})
    assert back["data"]["updateTenant"]["errors"] == []
    with use_scope(Scope.platform()):
        assert {
            t.rest_day_start.value
            for t in await type(alpha.tenant).filter(id__in=[alpha.tenant.id, beta.tenant.id])
        } == {"official"}
