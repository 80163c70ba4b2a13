"""Deadline math of work orders (docs/calendar.md, "Deadline semantics"): pure, no database.

Sign-for limits count working hours (emergencies: wall-clock minutes, duty rooms
work 24/7); reply limits count working days; both in the city's calendar. A
deadline is fixed when set; :func:`recompute_deadlines` in the service re-times
open work after a calendar change, and :mod:`.provisional` the provisional deadlines
once a province publishes their year.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from hotline.platform.calendar import WorkCalendar
from hotline.tenants.kernel.errors import Invalid
from hotline.tenants.sla.rules import SlaPolicy


@dataclass(frozen=True)
class Deadlines:
    sign: datetime
    reply: datetime
    due_soon: datetime


def sign_deadline(
    calendar: WorkCalendar, policy: SlaPolicy, start: datetime, *, emergency: bool
) -> datetime:
    if emergency:
        return start + timedelta(minutes=policy.emergency_sign_for_minutes)
    return calendar.add_working_hours(start, policy.sign_for_working_hours)


def reply_deadline(calendar: WorkCalendar, start: datetime, working_days: int) -> datetime:
    return calendar.add_working_days(start, working_days)


def due_soon_at(
    calendar: WorkCalendar, policy: SlaPolicy, start: datetime, end: datetime
) -> datetime:
    """The moment ``due_soon_ratio`` of the working time from ``start`` to ``end`` has passed."""
    span = calendar.working_time_between(start, end)
    if span <= timedelta(0):
        return end
    return calendar.add_working_hours(start, span * policy.due_soon_ratio)


def for_dispatch(
    calendar: WorkCalendar,
    policy: SlaPolicy,
    start: datetime,
    *,
    emergency: bool = False,
    working_days: int | None = None,
) -> Deadlines:
    """Deadlines of a new assignment dispatched at ``start``."""
    days = policy.reply_working_days if working_days is None else working_days
    if not 1 <= days <= policy.max_total_working_days:
        raise Invalid(
            "the reply time must be 1 to {max} working days",
            max=policy.max_total_working_days,
            field="replyWorkingDays",
        )
    reply = reply_deadline(calendar, start, days)
    sign = min(sign_deadline(calendar, policy, start, emergency=emergency), reply)
    return Deadlines(sign=sign, reply=reply, due_soon=due_soon_at(calendar, policy, start, reply))


def for_sub_dispatch(
    calendar: WorkCalendar,
    policy: SlaPolicy,
    start: datetime,
    *,
    parent_reply: datetime,
    wanted_reply: datetime | None,
) -> Deadlines:
    """A sub-dispatch answers no later than its parent; by default at the parent's deadline."""
    reply = parent_reply if wanted_reply is None else wanted_reply
    if reply > parent_reply:
        raise Invalid(
            "a sub-dispatch's deadline cannot be later than its parent's", field="replyDeadline"
        )
    if reply <= start:
        raise Invalid("the deadline must be in the future", field="replyDeadline")
    sign = min(sign_deadline(calendar, policy, start, emergency=False), reply)
    return Deadlines(sign=sign, reply=reply, due_soon=due_soon_at(calendar, policy, start, reply))


def extended(
    calendar: WorkCalendar,
    policy: SlaPolicy,
    *,
    dispatched_at: datetime,
    current_reply: datetime,
    working_days: int,
) -> tuple[datetime, datetime]:
    """(reply, due soon) after an extension; the total from dispatch stays within the cap."""
    if working_days < 1:
        raise Invalid("an extension is at least one working day", field="workingDays")
    reply = reply_deadline(calendar, current_reply, working_days)
    cap = reply_deadline(calendar, dispatched_at, policy.max_total_working_days)
    if reply > cap:
        raise Invalid(
            "the reply time with extensions would exceed {max} working days from dispatch",
            max=policy.max_total_working_days,
            field="workingDays",
        )
    return reply, due_soon_at(calendar, policy, dispatched_at, reply)
