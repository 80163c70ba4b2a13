"""The daily aggregates kept by the events and the worker equal a full recomputation,
whatever happened (hypothesis: random histories of a few tickets through the real
services, days apart, with the worker run at random points in between).

Hypothesis drives the steps synchronously in a worker thread; each service call runs on
the test's event loop (it owns the connections), at the history's moment (``travel``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hotline.platform.clock import travel
from hotline.platform.tenancy import use_scope
from hotline.tenants.kernel.errors import DomainError
from hotline.tenants.provinces.models import Tenant
from hotline.tenants.statistics.aggregates import city_clock, compute_days, refresh_dirty_days
from hotline.tenants.statistics.metrics import total
from hotline.tenants.statistics.models import (
    DailyStat,
    DepartmentDay,
    DepartmentMonth,
    DirtyDay,
)
from hotline.tenants.tickets import center, dispatch, extensions, review
from hotline.tenants.tickets.models import Assignment, Satisfaction, Ticket
from tests.statistics.conftest import StatsWorld

T = TypeVar("T")
SH = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 4, 6, 8, 0, tzinfo=SH)  # a Monday

OPS = (
    "create",
    "dispatch_district",
    "dispatch_bureau",
    "sign",
    "reply",
    "approve",
    "grade_ok",
    "grade_bad",
    "unreached",
    "give_back",
    "extend",
    "cancel",
    "reclassify",
    "answer",
    "refresh",
)
steps = st.lists(
    st.tuples(
        st.sampled_from(OPS),
        st.integers(min_value=0, max_value=2),  # which ticket
        st.integers(min_value=0, max_value=40),  # hours passing before the step
    ),
    min_size=3,
    max_size=14,
)


async def test_aggregates_equal_a_full_recompute(stats_world: StatsWorld) -> None:
    city = stats_world.alpha.city
    loop = asyncio.get_running_loop()
    with use_scope(city.scope()):
        clock_ = await city_clock(await Tenant.get(id=city.id))
    handlers = {city.district.id: city.district_handler, city.bureau.id: city.bureau_handler}
    episode = [0]

    def run(when: datetime, make: Callable[[], Awaitable[T]]) -> T:
        async def at() -> T:
            with travel(when):
                return await make()

        return asyncio.run_coroutine_threadsafe(at(), loop).result(timeout=60)

    async def lead(ticket_id: int) -> Assignment | None:
        with use_scope(city.scope()):
            return (
                await Assignment.filter(ticket_id=ticket_id, is_lead=True, parent_id=None)
                .order_by("-round", "-id")
                .first()
            )

    async def refresh() -> int:
        with use_scope(city.scope()):
            return await refresh_dirty_days(clock_)

    async def step(op: str, tickets: list[int], which: int) -> None:
        if op == "create" or not tickets:
            tickets.append((await city.ticket()).id)
            return
        if op == "refresh":
            await refresh()
            return
        ticket_id = tickets[which % len(tickets)]
        a = await lead(ticket_id)
        handler = handlers.get(a.department_id) if a else None
        calls: dict[str, Callable[[], Awaitable[Any]]] = {
            "dispatch_district": lambda: dispatch.dispatch_ticket(
                actor=city.dispatcher, ticket_id=ticket_id, lead_department_id=city.district.id
            ),
            "dispatch_bureau": lambda: dispatch.dispatch_ticket(
                actor=city.dispatcher, ticket_id=ticket_id, lead_department_id=city.bureau.id
            ),
            "approve": lambda: review.review_reply(
                actor=city.dispatcher, ticket_id=ticket_id, approve=True
            ),
            "grade_ok": lambda: review.revisit_ticket(
                actor=city.agent, ticket_id=ticket_id, reached=True, grade=Satisfaction.SATISFIED
            ),
            "grade_bad": lambda: review.revisit_ticket(
                actor=city.agent,
                ticket_id=ticket_id,
                reached=True,
                grade=Satisfaction.UNSATISFIED,
            ),
            "unreached": lambda: review.revisit_ticket(
                actor=city.agent, ticket_id=ticket_id, reached=False
            ),
            "cancel": lambda: center.cancel_ticket(
                actor=city.dispatcher, ticket_id=ticket_id, reason="重复"
            ),
            "reclassify": lambda: center.reclassify_ticket(
                actor=city.dispatcher, ticket_id=ticket_id, category_id=city.urban.id
            ),
            "answer": lambda: review.answer_from_article(
                actor=city.agent, ticket_id=ticket_id, article_id=city.article_id
            ),
        }
        if a is not None and handler is not None:

            async def extend() -> None:
                request = await extensions.request_extension(
                    actor=handler, assignment_id=a.id, working_days=2, reason="勘查"
                )
                await extensions.decide_extension(
                    actor=city.supervisor, extension_id=request.id, approve=True
                )

            calls |= {
                "sign": lambda: dispatch.sign_for_assignment(actor=handler, assignment_id=a.id),
                "reply": lambda: dispatch.reply_assignment(
                    actor=handler, assignment_id=a.id, reply="已处理"
                ),
                "give_back": lambda: dispatch.return_assignment(
                    actor=handler, assignment_id=a.id, reason="不属本部门"
                ),
                "extend": extend,
            }
        if op in calls:
            with contextlib.suppress(DomainError):  # refused: nothing changed, nothing to count
                await calls[op]()

    async def compare(first: date, last: date) -> None:
        with use_scope(city.scope()):
            assert await DirtyDay.filter(day__lt=clock_.today()).count() == 0
            day = first
            while day <= last:
                stored = {
                    (r["department_id"], r["category_id"], r["channel"]): r
                    for r in await DailyStat.filter(day=day).values()
                }
                live = {
                    (k[1], k[2], k[3]): t.as_row()
                    for k, t in (await compute_days(clock_, day, day)).items()
                }
                assert set(stored) == set(live), day
                for key, row in live.items():
                    for column, value in row.items():
                        assert stored[key][column] == value, (day, key, column)
                # the per-department table is the same day summed per department
                parts: dict[int | None, list[dict[str, Any]]] = {}
                for (department, category, channel), row in live.items():
                    parts.setdefault(department, []).append(
                        {**row, "category_id": category, "channel": channel}
                    )
                summed = {
                    r["department_id"]: r for r in await DepartmentDay.filter(day=day).values()
                }
                assert set(summed) == set(parts), day
                for department, rows in parts.items():
                    for column, value in total(rows).as_row().items():
                        assert summed[department][column] == value, (day, department, column)
                day += timedelta(days=1)
            # each month's rows are its stored days summed per department (so a full
            # recomputation's, checked above), with the version of those days
            month = first.replace(day=1)
            while month <= last:
                end = (month + timedelta(days=32)).replace(day=1) - timedelta(days=1)
                days = await DepartmentDay.filter(day__gte=month, day__lte=end).values()
                parts = {}
                for r in days:
                    parts.setdefault(r["department_id"], []).append(r)
                rolled = {
                    r["department_id"]: r
                    for r in await DepartmentMonth.filter(month=month).values()
                }
                assert set(rolled) == set(parts), month
                for department, rows in parts.items():
                    assert rolled[department]["days"] == len(days), (month, department)
                    for column, value in total(rows).as_row().items():
                        assert rolled[department][column] == value, (month, department, column)
                month = end + timedelta(days=1)

    @settings(
        max_examples=12,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        derandomize=True,
    )
    @given(history=steps)
    def check(history: list[tuple[str, int, int]]) -> None:
        episode[0] += 1
        when = START + timedelta(days=21 * episode[0])
        tickets: list[int] = []
        for op, which, hours in history:
            when += timedelta(hours=hours)
            run(when, lambda op=op, which=which: step(op, tickets, which))  # type: ignore[misc]
        # weeks later every day of the history (and its deadlines) has ended
        end = when + timedelta(days=30)
        run(end, refresh)
        run(
            end,
            lambda: compare(
                (START + timedelta(days=21 * episode[0] - 1)).date(),
                when.date() + timedelta(days=20),
            ),
        )

    await asyncio.to_thread(check)
    with use_scope(city.scope()):
        assert await Ticket.all().count() > 0
