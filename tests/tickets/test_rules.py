"""The pure parts: transition tables, deadline math on the real 2026 calendar,
coordinate conversion against published reference points, numbering, hashing."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from hotline.platform.calendar import (
    CalendarEntry,
    CalendarOverride,
    DayKind,
    WorkCalendar,
    effective_calendar,
    official_entries,
)
from hotline.tenants.kernel.errors import ErrorCode, Invalid
from hotline.tenants.sla.rules import SlaPolicy
from hotline.tenants.tickets import deadlines, flow, geo, numbering, timeline
from hotline.tenants.tickets.flow import Action, AssignmentAction, IllegalTransition
from hotline.tenants.tickets.models import AssignmentStatus, Status

SH = ZoneInfo("Asia/Shanghai")
PROVINCE = WorkCalendar.from_entries(official_entries(2026))
POLICY = SlaPolicy()


def at(day: int, month: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SH)


# --- the state machine ---------------------------------------------------------------


def test_the_main_line() -> None:
    status = Status.RECEIVED
    for action, expected in [
        (Action.DISPATCH, Status.DISPATCHED),
        (Action.SIGN_FOR, Status.ACCEPTED),
        (Action.REPLY, Status.REPLIED),
        (Action.REVIEW_REJECT, Status.ACCEPTED),
        (Action.REPLY, Status.REPLIED),
        (Action.REVIEW_APPROVE, Status.REVISIT),
        (Action.REVISIT_UNSATISFIED, Status.REOPENED),
        (Action.DISPATCH, Status.DISPATCHED),
        (Action.RETURN, Status.RETURNED),
        (Action.ANSWER, Status.ANSWERED),
        (Action.CLOSE_ANSWERED, Status.CLOSED),
    ]:
        status = flow.check(status, action)
        assert status is expected


def test_final_states_have_no_way_out() -> None:
    for (source, _), _target in flow.TICKET.items():
        assert source not in flow.FINAL
    for status in flow.FINAL:
        with pytest.raises(IllegalTransition) as caught:
            flow.check(status, Action.CANCEL)
        assert caught.value.code is ErrorCode.CONFLICT


def test_illegal_transitions_are_typed() -> None:
    with pytest.raises(IllegalTransition, match="cannot reply: the ticket is received"):
        flow.check(Status.RECEIVED, Action.REPLY)
    with pytest.raises(IllegalTransition):
        flow.check(Status.DISPATCHED, Action.REJECT)  # refusal only while the center holds it
    with pytest.raises(IllegalTransition):
        flow.check_assignment(AssignmentStatus.SIGNED, AssignmentAction.RETURN)
    assert (
        flow.check_assignment(AssignmentStatus.SIGNED, AssignmentAction.REQUEST_RETURN)
        is AssignmentStatus.RETURN_REQUESTED
    )


def test_every_status_is_reachable_from_received() -> None:
    seen, frontier = {Status.RECEIVED}, [Status.RECEIVED]
    while frontier:
        current = frontier.pop()
        for (source, _), target in flow.TICKET.items():
            if source is current and target not in seen:
                seen.add(target)
                frontier.append(target)
    assert seen == set(Status)


# --- deadlines -------------------------------------------------------------------------


def test_reply_across_the_spring_festival_with_make_up_days() -> None:
    # Holidays Sun 15 – Mon 23 Feb; make-up workdays Sat 14 and Sat 28 Feb.
    times = deadlines.for_dispatch(PROVINCE, POLICY, at(12, 2, 10))
    assert times.reply == at(28, 2, 17)
    # 2 working hours from Fri 13 Feb 16:00: one on Friday, one on the make-up Saturday.
    times = deadlines.for_dispatch(PROVINCE, POLICY, at(13, 2, 16))
    assert times.sign == at(14, 2, 10)
    assert at(13, 2, 16) < times.due_soon < times.reply


def test_a_citys_own_holiday_moves_the_deadline() -> None:
    city = effective_calendar(
        PROVINCE,
        CalendarOverride(entries=(CalendarEntry(date(2026, 2, 24), DayKind.HOLIDAY, "local"),)),
    )
    assert deadlines.for_dispatch(city, POLICY, at(12, 2, 10)).reply == at(2, 3, 17)
    # A city that works a province holiday gets an earlier deadline.
    working = effective_calendar(
        PROVINCE,
        CalendarOverride(entries=(CalendarEntry(date(2026, 2, 23), DayKind.WORKDAY, "open"),)),
    )
    assert deadlines.for_dispatch(working, POLICY, at(12, 2, 10)).reply == at(27, 2, 17)


def test_emergencies_count_wall_clock_minutes() -> None:
    start = at(15, 2, 3)  # a holiday, at night
    times = deadlines.for_dispatch(PROVINCE, POLICY, start, emergency=True)
    assert times.sign == start + timedelta(minutes=30)


def test_due_soon_is_the_ratio_of_the_working_span() -> None:
    start = at(2, 3, 9)  # Monday
    times = deadlines.for_dispatch(PROVINCE, POLICY, start)
    worked = PROVINCE.working_time_between(start, times.due_soon)
    span = PROVINCE.working_time_between(start, times.reply)
    assert worked == span * POLICY.due_soon_ratio


def test_extension_cap_of_thirty_working_days() -> None:
    start = at(2, 3, 9)
    reply = deadlines.for_dispatch(PROVINCE, POLICY, start).reply
    new_reply, _ = deadlines.extended(
        PROVINCE, POLICY, dispatched_at=start, current_reply=reply, working_days=23
    )
    assert new_reply == PROVINCE.add_working_days(start, 30)
    with pytest.raises(Invalid, match="30 working days"):
        deadlines.extended(
            PROVINCE, POLICY, dispatched_at=start, current_reply=reply, working_days=24
        )
    with pytest.raises(Invalid):
        deadlines.extended(
            PROVINCE, POLICY, dispatched_at=start, current_reply=reply, working_days=0
        )


def test_sub_dispatch_is_never_due_later_than_its_parent() -> None:
    start = at(2, 3, 9)
    parent = deadlines.for_dispatch(PROVINCE, POLICY, start).reply
    child = deadlines.for_sub_dispatch(
        PROVINCE, POLICY, start, parent_reply=parent, wanted_reply=None
    )
    assert child.reply == parent
    assert child.sign <= child.reply
    with pytest.raises(Invalid):
        deadlines.for_sub_dispatch(
            PROVINCE, POLICY, start, parent_reply=parent, wanted_reply=parent + timedelta(seconds=1)
        )


# --- coordinates --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wgs", "gcj"),
    [
        # Published test vectors (eviltransform): Shanghai, Shenzhen, Beijing.
        ((121.5272106, 31.1774276), (121.531541859215, 31.17530398364597)),
        ((113.912316, 22.543847), (113.9171764808363, 22.540796131694766)),
        ((116.377817, 39.911954), (116.38404722455657, 39.91334545536069)),
    ],
)
def test_gcj02_reference_points(wgs: tuple[float, float], gcj: tuple[float, float]) -> None:
    assert geo.wgs84_to_gcj02(*wgs) == pytest.approx(gcj, abs=1e-9)
    back = geo.to_wgs84(*gcj, geo.Datum.GCJ02)
    assert geo.haversine_m(*back, *wgs) < 0.01  # below a centimetre


def test_bd09_reference_point() -> None:
    # Baidu's own conversion of GCJ-02 (116.404, 39.915).
    assert geo.gcj02_to_bd09(116.404, 39.915) == pytest.approx(
        (116.41036949371029, 39.92133699351021), abs=1e-9
    )
    assert geo.bd09_to_gcj02(116.404, 39.915) == pytest.approx(
        (116.39762729119315, 39.90865673957631), abs=1e-9
    )
    wgs = (117.0, 36.65)
    bd = geo.gcj02_to_bd09(*geo.wgs84_to_gcj02(*wgs))
    assert geo.haversine_m(*geo.to_wgs84(*bd, geo.Datum.BD09), *wgs) < 0.5


def test_no_offset_outside_china_and_distances() -> None:
    assert geo.to_wgs84(2.35, 48.85, geo.Datum.GCJ02) == (2.35, 48.85)
    beijing_shanghai = geo.haversine_m(116.4074, 39.9042, 121.4737, 31.2304)
    assert 1_060_000 < beijing_shanghai < 1_075_000
    assert geo.haversine_m(117.0, 36.6, 117.0, 36.6) == 0


# --- numbers and the hash chain -------------------------------------------------------


def test_number_format_uses_the_citys_date() -> None:
    late = datetime(2026, 11, 22, 17, 30, tzinfo=ZoneInfo("UTC"))  # 01:30 on the 23rd in China
    day = numbering.local_day(late, "Asia/Shanghai")
    assert numbering.format_number("JN", day, 123) == "JN20261123000123"
    with pytest.raises(ValueError, match="999,999"):
        numbering.format_number("JN", day, 1_000_000)


def test_event_hash_covers_every_field() -> None:
    event = {
        "ticket_id": 1,
        "seq": 1,
        "action": "create",
        "actor_id": 2,
        "actor_role": "agent",
        "department_id": None,
        "assignment_id": None,
        "from_status": "",
        "to_status": "received",
        "reason": "",
        "data": {"b": 1, "a": "二"},
        "created_at": at(2, 3, 9),
    }
    digest = timeline.event_hash("", event)
    assert digest == timeline.event_hash("", dict(reversed(list(event.items()))))
    for key in timeline.HASHED_FIELDS:
        changed = {**event, key: "x"}
        assert timeline.event_hash("", changed) != digest
    assert timeline.event_hash("0" * 64, event) != digest
