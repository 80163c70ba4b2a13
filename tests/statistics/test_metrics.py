"""Every metric on a hand-built week (Mon 2 – Fri 6 March 2026, Asia/Shanghai; working
hours 09:00–12:00, 13:00–17:00): the rows are written straight into the tables with the
stage timestamps chosen here, and each expected figure is worked out by hand in the
comments next to it (docs/statistics.md gives the formulas)."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from hotline.platform.redis import redis_client, tenant_key
from hotline.platform.tenancy import use_scope
from hotline.tenants.departments.models import Department
from hotline.tenants.kernel.errors import NotFound, PermissionDenied
from hotline.tenants.provinces.models import Tenant
from hotline.tenants.statistics.aggregates import city_clock, compute_days, recompute_range
from hotline.tenants.statistics.dashboard import city_statistics
from hotline.tenants.statistics.metrics import total
from hotline.tenants.statistics.models import DailyStat, DirtyDay
from hotline.tenants.tickets import timeline
from hotline.tenants.tickets.models import (
    Assignment,
    ExtensionRequest,
    Revisit,
    Ticket,
)
from tests.statistics.conftest import StatsCity, StatsWorld

SH = ZoneInfo("Asia/Shanghai")
FIRST, LAST = date(2026, 3, 2), date(2026, 3, 6)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=SH)


@dataclass
class Made:
    tickets: dict[str, Ticket]


async def _ticket(city: StatsCity, name: str, **values: Any) -> Ticket:
    c = city.city
    values.setdefault("channel", "phone")
    values.setdefault("kind", "complaint")
    values.setdefault("category_id", c.construction.id)
    values.setdefault("area_id", c.street.id)
    return await Ticket.create(
        number=f"{c.tenant.number_prefix}{name}{secrets.token_hex(3)}",
        query_code_hash=secrets.token_hex(8),
        content=name,
        **values,
    )


async def _lead(ticket: Ticket, department: Department, **values: Any) -> Assignment:
    return await Assignment.create(ticket=ticket, department=department, is_lead=True, **values)


async def _event(
    ticket: Ticket, action: str, when: datetime, department: Department, to: str
) -> None:
    await timeline.append(
        ticket,
        action=action,
        at=when,
        actor_id=None,
        actor_role="supervisor",
        from_status="",
        to_status=to,
        department_id=department.id,
    )
    await ticket.save(update_fields=["timeline_seq", "timeline_hash"])


async def _week(city: StatsCity) -> None:
    """Eleven tickets in the week, one just before it (T12)."""
    c = city.city
    district, street, bureau = c.district, c.street, c.bureau
    # T1: signed in 1 h (9:30→10:30), replied in 7.5 working hours (2 Mar 9:30–17:00 is
    # 6.5 h, 3 Mar 9:00–10:00 is 1 h), both on time; closed satisfied on 4 Mar.
    t1 = await _ticket(city, "T1", received_at=at(2, 9), status="closed", closed_at=at(4, 10),
                       satisfaction="satisfied", revisited_at=at(4, 10))  # fmt: skip
    await _lead(t1, district, created_at=at(2, 9, 30), sign_deadline=at(2, 11, 30),
                signed_at=at(2, 10, 30), reply_deadline=at(6, 17), replied_at=at(3, 10),
                status="closed")  # fmt: skip
    await Revisit.create(ticket=t1, attempt=1, reached=True, grade="satisfied",
                         created_at=at(4, 10))  # fmt: skip
    # T2: answered directly at the center (no department), closed at once.
    await _ticket(city, "T2", channel="web", kind="consultation", category_id=c.urban.id,
                  received_at=at(2, 14), direct_answer=True, answered_at=at(2, 14, 10),
                  status="closed", closed_at=at(2, 14, 10))  # fmt: skip
    # T3: urgent; signed late after 3.5 working hours, replied late after 14 (3 and 4 Mar,
    # 7 h each): overdue on 4 Mar; now under revisit; one unreached revisit call.
    t3 = await _ticket(city, "T3", priority="urgent", received_at=at(3, 9), status="revisit",
                       reviewed_at=at(5, 10))  # fmt: skip
    await _lead(t3, bureau, created_at=at(3, 9), sign_deadline=at(3, 10),
                signed_at=at(3, 13, 30), reply_deadline=at(4, 12), replied_at=at(5, 9),
                status="closed")  # fmt: skip
    await Revisit.create(ticket=t3, attempt=1, reached=False, created_at=at(5, 15))
    # T4: never signed, reply deadline 5 Mar 17:00 passed: overdue then, and overdue now.
    t4 = await _ticket(city, "T4", received_at=at(3, 10), status="dispatched",
                       dispatched_at=at(3, 10))  # fmt: skip
    await _lead(t4, district, created_at=at(3, 10), sign_deadline=at(3, 12),
                reply_deadline=at(5, 17), status="pending_sign")  # fmt: skip
    # T5 cancelled, T6 merged: outside the cohort.
    await _ticket(city, "T5", channel="web", kind="consultation", received_at=at(4, 9),
                  status="cancelled", closed_at=at(4, 11))  # fmt: skip
    await _ticket(city, "T6", received_at=at(4, 9, 30), status="merged", closed_at=at(4, 12),
                  merged_into_id=t1.id)  # fmt: skip
    # T7: the bureau returned it (round 1, its deadline then ends with the round), the
    # district got it (round 2): signed in 1 h, extended on 3 Mar, replied on time after
    # 15 working hours (2 h + 7 h + 6 h); graded unsatisfied on 5 Mar, so reopened.
    t7 = await _ticket(city, "T7", received_at=at(2, 10), status="reopened",
                       satisfaction="unsatisfied", revisited_at=at(5, 10),
                       reopen_count=1)  # fmt: skip
    await _lead(t7, bureau, created_at=at(2, 10), sign_deadline=at(2, 12),
                reply_deadline=at(5, 17), status="returned")  # fmt: skip
    await _event(t7, "return", at(2, 11), bureau, "returned")
    a7 = await _lead(t7, district, round=2, created_at=at(2, 15), sign_deadline=at(2, 17),
                     signed_at=at(2, 16), reply_deadline=at(9, 17), replied_at=at(4, 16),
                     extended_days=3, status="closed")  # fmt: skip
    await ExtensionRequest.create(assignment=a7, ticket_id=t7.id, working_days=3, reason="现场勘查",
                                  status="approved", decided_at=at(3, 11))  # fmt: skip
    await _event(t7, "revisit", at(5, 10), district, "reopened")
    await Revisit.create(ticket=t7, attempt=1, reached=True, grade="unsatisfied",
                         created_at=at(5, 10))  # fmt: skip
    # T8: signed in 0.5 h, replied in 2 h; three unreached calls: closed unreachable.
    t8 = await _ticket(city, "T8", received_at=at(5, 9), status="closed", closed_at=at(6, 10),
                       satisfaction="unreachable", revisited_at=at(6, 10))  # fmt: skip
    await _lead(t8, district, created_at=at(5, 9), sign_deadline=at(5, 11),
                signed_at=at(5, 9, 30), reply_deadline=at(10, 17), replied_at=at(5, 11),
                status="closed")  # fmt: skip
    for i, minute in enumerate((0, 30)):
        await Revisit.create(ticket=t8, attempt=i + 1, reached=False, created_at=at(6, 9, minute))
    await Revisit.create(ticket=t8, attempt=3, reached=False, created_at=at(6, 10))
    # T9: the street; signed in 10 min, replied in 40 min; basically satisfied.
    t9 = await _ticket(city, "T9", channel="wechat", kind="help", received_at=at(6, 9),
                       status="closed", closed_at=at(6, 11), satisfaction="basically_satisfied",
                       revisited_at=at(6, 11))  # fmt: skip
    await _lead(t9, street, created_at=at(6, 9), sign_deadline=at(6, 11),
                signed_at=at(6, 9, 10), reply_deadline=at(11, 17), replied_at=at(6, 9, 40),
                status="closed")  # fmt: skip
    await Revisit.create(ticket=t9, attempt=1, reached=True, grade="basically_satisfied",
                         created_at=at(6, 11))  # fmt: skip
    # City-local day edges: 6 Mar 23:30 and 2 Mar 07:30 (1 Mar 23:30 UTC) are in the
    # week, 1 Mar 23:30 is not.
    for name, when in (("T10", at(6, 23, 30)), ("T11", at(2, 7, 30)), ("T12", at(1, 23, 30))):
        await _ticket(city, name, channel="sms", kind="suggestion", received_at=when)


async def _beta_noise(city: StatsCity) -> None:
    """Another city's week: it must never show in alpha's figures."""
    c = city.city
    for i in range(3):
        t = await _ticket(city, f"B{i}", received_at=at(3, 9), status="closed",
                          closed_at=at(3, 12), satisfaction="unsatisfied",
                          revisited_at=at(3, 12))  # fmt: skip
        await _lead(t, c.district, created_at=at(3, 9), signed_at=at(3, 11),
                    sign_deadline=at(3, 10), reply_deadline=at(3, 11), replied_at=at(3, 12),
                    status="closed")  # fmt: skip


@pytest.fixture(scope="module")
async def week(stats_world: StatsWorld) -> StatsWorld:
    for city, build in ((stats_world.alpha, _week), (stats_world.beta, _beta_noise)):
        with use_scope(city.city.scope()):
            await build(city)
            tenant = await Tenant.get(id=city.city.id)
            assert await recompute_range(await city_clock(tenant), FIRST, LAST) == 5
    return stats_world


async def test_every_metric_of_the_week(week: StatsWorld) -> None:
    report = await city_statistics(actor=week.alpha.city.supervisor, first=FIRST, last=LAST)
    f, t = report.figures, report.figures.totals
    assert t.received == 11  # T1–T11 (T12 is 1 March, city time)
    assert {k: v for k, v in t.received_by.items() if k.startswith("kind:")} == {
        "kind:complaint": 6,  # T1 T3 T4 T6 T7 T8
        "kind:consultation": 2,  # T2 T5
        "kind:help": 1,  # T9
        "kind:suggestion": 2,  # T10 T11
    }
    assert {k: v for k, v in t.received_by.items() if k.startswith("channel:")} == {
        "channel:phone": 6,  # T1 T3 T4 T6 T7 T8
        "channel:web": 2,  # T2 T5
        "channel:wechat": 1,  # T9
        "channel:sms": 2,  # T10 T11
    }
    c = week.alpha.city
    assert t.received_by[f"category:{c.construction.id}"] == 10  # all but T2
    assert t.received_by[f"category:{c.urban.id}"] == 1  # T2
    assert t.received_by["priority:urgent"] == 1  # T3
    assert t.received_by["priority:normal"] == 10
    assert t.received_by[f"area:{week.alpha.city.street.id}"] == 11
    assert t.direct_answered == 1
    assert f.direct_answer_rate == 1 / 11
    assert t.dispatched == 7  # lead rounds: T1, T3, T4, T7 ×2, T8, T9
    assert (t.signed, t.signed_on_time) == (5, 4)  # T3 signed late
    assert f.signed_on_time_rate == 4 / 5
    assert (t.replied, t.replied_on_time) == (5, 4)  # T3 replied late
    assert t.overdue == 2  # T3 (late reply), T4 (never replied); T7's round 1 was returned
    assert f.overdue_now == 1  # T4
    assert (t.returned, t.extended, t.reopened) == (1, 1, 1)  # all T7
    assert (t.merged, t.cancelled, t.closed) == (1, 1, 4)  # T6; T5; T1 T2 T8 T9
    assert (t.revisit_calls, t.revisit_reached) == (7, 3)  # T1 T3 T7 T8×3 T9; T1 T7 T9
    assert f.revisit_reach_rate == 3 / 7
    assert (t.satisfied, t.basically_satisfied, t.unsatisfied, t.unreachable) == (1, 1, 1, 1)
    assert f.satisfaction_rate == 2 / 3  # T8 unreachable is outside the denominator
    assert t.cohort_valid == 9  # 11 received − T5 cancelled − T6 merged
    assert f.handling_rate == 5 / 9  # T1 T2 T8 T9 closed, T3 under revisit
    assert f.completion_rate == 4 / 9  # T1 T2 T8 T9
    # The day rows keep each stage's summed working seconds and their histogram
    # (bucket edges: one minute × 2^(j/8), rounded; histogram.py).
    with use_scope(week.alpha.city.scope()):
        tenant = await Tenant.get(id=week.alpha.city.id)
        days = await compute_days(await city_clock(tenant), FIRST, LAST)
    signs = total(t.as_row() for t in days.values())
    # sign-for: 1 h, 3.5 h, 1 h, 0.5 h, 10 min → sum 22200 s, mean 4440 s
    assert signs.sign_seconds_sum == 22200
    assert f.sign_hours_avg == 4440 / 3600
    # 600 s in [571, 622) = bucket 27, 1800 in [1761, 1920) = 40, 3600 ×2 in [3521, 3840)
    # = 48, 12600 in [11844, 12916) = 62
    assert signs.sign_hist == {"27": 1, "40": 1, "48": 2, "62": 1}
    # p90: rank ceil(0.9 · 5) = 5, the only time of bucket 62, interpolated to its
    # middle: 11844 + (12916 − 11844) · 0.5 = 12380 s (exact: 12600 s; within the bucket)
    assert f.sign_hours_p90 == 12380 / 3600
    # reply: 7.5 h, 14 h, 15 h, 2 h, 40 min → sum 141000 s, mean 28200 s
    assert signs.reply_seconds_sum == 141000
    assert f.reply_hours_avg == 28200 / 3600
    # 2400 → 43, 7200 → 56, 27000 → 71, 50400 in [47377, 51665) = 78, 54000 in
    # [51665, 56341) = 79; rank 5 is 79's only time: 51665 + 4676 · 0.5 = 54003 s
    # (exact 54000 s)
    assert signs.reply_hist == {"43": 1, "56": 1, "71": 1, "78": 1, "79": 1}
    assert f.reply_hours_p90 == 54003 / 3600


async def test_channels_and_days(week: StatsWorld) -> None:
    with use_scope(week.alpha.city.scope()):
        rows = await DailyStat.filter(day__gte=FIRST, day__lte=LAST).values(
            "day", "channel", "received"
        )
    by_channel: dict[str, int] = {}
    for row in rows:
        by_channel[row["channel"]] = by_channel.get(row["channel"], 0) + row["received"]
    assert by_channel == {"phone": 6, "web": 2, "wechat": 1, "sms": 2}
    monday = sum(r["received"] for r in rows if r["day"] == FIRST)
    assert monday == 4  # T1 T2 T7 and T11 (07:30 local)


async def test_department_subtree_and_ranking(week: StatsWorld) -> None:
    alpha = week.alpha
    district = await city_statistics(
        actor=alpha.city.supervisor, first=FIRST, last=LAST, department_id=alpha.city.district.id
    )
    t = district.figures.totals
    assert t.received == 5  # T1 T4 T7 T8 (district leads) + T9 (street, below it)
    assert t.dispatched == 5  # T1 T4 T7-round-2 T8 T9
    assert t.returned == 0  # the bureau returned T7
    assert (t.reopened, t.extended, t.overdue) == (1, 1, 1)
    assert district.figures.overdue_now == 1
    # The manager of the district sees the same without naming it, and nothing else.
    own = await city_statistics(actor=alpha.district_manager, first=FIRST, last=LAST)
    assert own.figures.totals == t
    with pytest.raises(NotFound):
        await city_statistics(
            actor=alpha.district_manager, first=FIRST, last=LAST, department_id=alpha.city.bureau.id
        )
    # Ranking, default weights signed 1, replied 2, satisfaction 3, completion 2:
    # street 100; district (1·1 + 2·1 + 3·½ + 2·½)/8 = 68.75; bureau 0 (late, open).
    whole = await city_statistics(actor=alpha.city.leader, first=FIRST, last=LAST)
    ranking = [(r.id, r.rank, r.score) for r in whole.departments]
    assert ranking == [
        (alpha.city.street.id, 1, 100.0),
        (alpha.city.district.id, 2, 68.75),
        (alpha.city.bureau.id, 3, 0.0),
    ]


async def test_other_cities_and_roles(week: StatsWorld) -> None:
    # beta's district id in alpha's question: the same NotFound as a missing one
    with pytest.raises(NotFound):
        await city_statistics(
            actor=week.alpha.city.supervisor,
            first=FIRST,
            last=LAST,
            department_id=week.beta.city.district.id,
        )
    beta = await city_statistics(actor=week.beta.city.supervisor, first=FIRST, last=LAST)
    assert beta.figures.totals.received == 3
    assert beta.figures.satisfaction_rate == 0.0
    with pytest.raises(PermissionDenied):
        await city_statistics(actor=week.alpha.city.agent, first=FIRST, last=LAST)


async def test_dirty_days_are_computed_live_and_equal_the_stored(week: StatsWorld) -> None:
    supervisor = week.alpha.city.supervisor
    stored = await city_statistics(actor=supervisor, first=FIRST, last=LAST)
    with use_scope(week.alpha.city.scope()):
        for day in (date(2026, 3, 3), date(2026, 3, 5)):
            await DirtyDay.create(day=day, marked_at=datetime.now(SH))
            await DailyStat.filter(day=day).delete()  # the stored rows are not read
    live = await city_statistics(actor=supervisor, first=FIRST, last=LAST)
    assert live.figures == stored.figures
    with use_scope(week.alpha.city.scope()):
        tenant = await Tenant.get(id=week.alpha.city.id)
        assert await recompute_range(await city_clock(tenant), FIRST, LAST) == 5
        assert await DirtyDay.all().count() == 0
        again = await DailyStat.all().count()
        await recompute_range(await city_clock(tenant), FIRST, LAST)
        assert await DailyStat.all().count() == again
    assert (
        await city_statistics(actor=supervisor, first=FIRST, last=LAST)
    ).figures == stored.figures


async def test_bad_periods(week: StatsWorld) -> None:
    from hotline.tenants.kernel.errors import Invalid

    with pytest.raises(Invalid):
        await city_statistics(actor=week.alpha.city.supervisor, first=LAST, last=FIRST)
    with pytest.raises(Invalid):
        await city_statistics(
            actor=week.alpha.city.supervisor, first=date(2024, 1, 1), last=date(2026, 1, 1)
        )


async def test_a_closed_period_is_read_from_the_cache_until_a_day_is_rewritten(
    week: StatsWorld,
) -> None:
    """The week is closed and clean: its figures are kept under the city's key, read
    back as they were (a planted value proves the read), and a rewritten day — a new
    version of the stored rows — is never answered from the old entry."""
    city = week.alpha.city
    supervisor = city.supervisor
    pattern = tenant_key(city.id, "stats", "city", f"{FIRST}:{LAST}", "*")
    async for old in redis_client().scan_iter(match=pattern):  # earlier tests' entries
        await redis_client().delete(old)
    first = await city_statistics(actor=supervisor, first=FIRST, last=LAST)
    (key,) = [k async for k in redis_client().scan_iter(match=pattern)]
    again = await city_statistics(actor=supervisor, first=FIRST, last=LAST)
    assert again == first
    # the hit path really is the cache: plant a figure there and read it back
    planted = json.loads(await redis_client().get(key))
    planted["whole"]["totals"]["received"] = 999
    await redis_client().set(key, json.dumps(planted))
    read = await city_statistics(actor=supervisor, first=FIRST, last=LAST)
    assert read.figures.totals.received == 999
    # the district manager's subtree is its own entry, never the whole city's
    own = await city_statistics(actor=week.alpha.district_manager, first=FIRST, last=LAST)
    assert own.figures.totals.received == 5
    # a recompute rewrites the days: another version, another key, the true figures
    with use_scope(city.scope()):
        tenant = await Tenant.get(id=city.id)
        await recompute_range(await city_clock(tenant), FIRST, LAST)
    fresh = await city_statistics(actor=supervisor, first=FIRST, last=LAST)
    assert fresh.figures == first.figures
    assert fresh.figures.totals.received == 11
    # and a period reaching today is never cached (its last day is still live)
    today = datetime.now(SH).date()
    before = {k async for k in redis_client().scan_iter(match=tenant_key(city.id, "stats", "*"))}
    await city_statistics(actor=supervisor, first=today, last=today)
    after = {k async for k in redis_client().scan_iter(match=tenant_key(city.id, "stats", "*"))}
    assert after == before
