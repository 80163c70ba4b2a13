"""Daily rows computed from the work orders' stage timestamps (docs/statistics.md).

:func:`compute_windows` reads, for any number of windows of city-local days — one
city's, or every city of a province at once — every fact of the metrics and groups it
by city × city-local day × department × category × channel, **in the same statements
whatever the number of windows or cities** (the windows are joined as arrays). The
worker stores its answer per closed day (:func:`compute_rows`, one city's window); the
dashboards compute today (and any day still waiting for the worker) with the same
statements, so stored and live rows agree by construction. Stage timestamps tell
almost everything; only returns and reopenings, which leave no stage timestamp, are
read from the timeline.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from hotline.platform.calendar import WorkCalendar
from hotline.platform.db.replica import read_connection
from hotline.tenants.statistics.metrics import (
    ACTIVE_ASSIGNMENT,
    HANDLED_STATUSES,
    LEFT_STATUSES,
    Totals,
)

Key = tuple[date, int | None, int | None, str]  # day, department, category, channel


@dataclass(frozen=True)
class Window:
    """Moments ``[start, end)`` of one city (its city-local day boundaries)."""

    tenant_id: int
    timezone: str
    start: datetime
    end: datetime


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


# The windows, one row each: $1 cities, $2 starts, $3 ends, $4 time zones ($5 the
# earliest start, $6 the latest end, $7 now). Every fact is joined to the window of its
# city holding its moment (int8 = and timestamptz < / >= are leakproof: under row-level
# security they are still index conditions).
_WINDOWS = (
    "unnest($1::bigint[], $2::timestamptz[], $3::timestamptz[], $4::text[])"
    " AS w(tenant_id, lo, hi, tz)"
)

# The ticket's current lead department: its top-level lead assignment of the last round.
_LEAD = (
    "LEFT JOIN LATERAL (SELECT a.department_id FROM assignments a "
    "WHERE a.tenant_id = t.tenant_id AND a.ticket_id = t.id AND a.is_lead "
    "AND a.parent_id IS NULL ORDER BY a.round DESC, a.id DESC LIMIT 1) lead ON true"
)


def _day(column: str) -> str:
    return f"({column} AT TIME ZONE w.tz)::date"


def _window(alias: str, column: str) -> str:
    """``column`` in its city's window — and, a restriction the planner can estimate
    and prune partitions with (a join condition on the windows' columns it can do
    neither with), in the cities ($1) and between the earliest start and the latest end
    ($5, $6): for one window, exactly the conditions of a plain query."""
    return (
        f"{alias}.tenant_id = ANY($1::bigint[]) AND {column} >= w.lo AND {column} < w.hi "
        f"AND {column} >= $5 AND {column} < $6"
    )


def _tickets(column: str) -> str:
    """The tickets of each window whose ``column`` falls in it."""
    return f"FROM {_WINDOWS} JOIN tickets t ON t.tenant_id = w.tenant_id AND {_window('t', column)}"


_RECEIVED = f"""
SELECT w.tenant_id, {_day("t.received_at")} AS day, lead.department_id, t.category_id,
       t.channel, t.kind, t.priority, t.area_id, count(*) AS received,
       count(*) FILTER (WHERE t.status NOT IN {_in(LEFT_STATUSES)}) AS cohort_valid,
       count(*) FILTER (WHERE t.status IN {_in(HANDLED_STATUSES)}) AS cohort_handled,
       count(*) FILTER (WHERE t.status = 'closed') AS cohort_completed
{_tickets("t.received_at")} {_LEAD}
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8"""

_ANSWERED = f"""
SELECT w.tenant_id, {_day("t.answered_at")} AS day, lead.department_id, t.category_id,
       t.channel, count(*) AS direct_answered
{_tickets("t.answered_at")} {_LEAD}
WHERE t.direct_answer
GROUP BY 1, 2, 3, 4, 5"""

_ENDED = f"""
SELECT w.tenant_id, {_day("t.closed_at")} AS day, lead.department_id, t.category_id,
       t.channel,
       count(*) FILTER (WHERE t.status = 'closed') AS closed,
       count(*) FILTER (WHERE t.status = 'merged') AS merged,
       count(*) FILTER (WHERE t.status = 'cancelled') AS cancelled
{_tickets("t.closed_at")} {_LEAD}
GROUP BY 1, 2, 3, 4, 5"""

# Graded on the day of the revisit, else of the closing: "revisited in the window" and
# "not revisited and closed in it", two arms each found on its own index —
# stats_tickets_revisited (0009) and stats_tickets_closed (0001) — not one condition on
# their coalesce (under row-level security a condition on a COALESCE is not leakproof,
# so it is never an index condition: every ticket of the city was read).
_GRADED_ARM = f"""
SELECT w.tenant_id, w.tz, t.{{at}} AS at, t.id, t.category_id, t.channel, t.satisfaction
FROM {_WINDOWS} JOIN tickets t ON t.tenant_id = w.tenant_id AND {{window}}
WHERE t.satisfaction IS NOT NULL"""
_GRADED = f"""
SELECT t.tenant_id, (t.at AT TIME ZONE t.tz)::date AS day, lead.department_id,
       t.category_id, t.channel,
       count(*) FILTER (WHERE t.satisfaction = 'satisfied') AS satisfied,
       count(*) FILTER (WHERE t.satisfaction = 'basically_satisfied') AS basically_satisfied,
       count(*) FILTER (WHERE t.satisfaction = 'unsatisfied') AS unsatisfied,
       count(*) FILTER (WHERE t.satisfaction = 'unreachable') AS unreachable
FROM ({_GRADED_ARM.format(at="revisited_at", window=_window("t", "t.revisited_at"))}
      UNION ALL
      {
    _GRADED_ARM.format(
        at="closed_at", window="t.revisited_at IS NULL AND " + _window("t", "t.closed_at")
    )
}) t {_LEAD}
GROUP BY 1, 2, 3, 4, 5"""

_REVISITS = f"""
SELECT w.tenant_id, {_day("r.created_at")} AS day, lead.department_id, t.category_id,
       t.channel, count(*) AS revisit_calls, count(*) FILTER (WHERE r.reached) AS revisit_reached
FROM {_WINDOWS}
JOIN revisits r ON r.tenant_id = w.tenant_id AND {_window("r", "r.created_at")}
JOIN tickets t ON t.tenant_id = r.tenant_id AND t.id = r.ticket_id {_LEAD}
WHERE r.source = 'center'
GROUP BY 1, 2, 3, 4, 5"""


def _leads(column: str) -> str:
    """The top-level lead assignments of each window whose ``column`` falls in it."""
    return (
        f"FROM {_WINDOWS} JOIN assignments a ON a.tenant_id = w.tenant_id "
        f"AND {_window('a', column)} "
        "JOIN tickets t ON t.tenant_id = a.tenant_id AND t.id = a.ticket_id "
        "WHERE a.is_lead AND a.parent_id IS NULL"
    )


_DISPATCHED = f"""
SELECT w.tenant_id, {_day("a.created_at")} AS day, a.department_id, t.category_id, t.channel,
       count(*) AS dispatched
{_leads("a.created_at")}
GROUP BY 1, 2, 3, 4, 5"""

_SIGNED = f"""
SELECT w.tenant_id, {_day("a.signed_at")} AS day, a.department_id, t.category_id, t.channel,
       a.created_at AS start, a.signed_at AS stop,
       a.signed_at <= coalesce(a.sign_deadline, a.signed_at) AS on_time
{_leads("a.signed_at")}"""

_REPLIED = f"""
SELECT w.tenant_id, {_day("a.replied_at")} AS day, a.department_id, t.category_id, t.channel,
       a.created_at AS start, a.replied_at AS stop, a.replied_at <= a.reply_deadline AS on_time
{_leads("a.replied_at")}"""

_OVERDUE = f"""
SELECT w.tenant_id, {_day("a.reply_deadline")} AS day, a.department_id, t.category_id,
       t.channel, count(*) AS overdue
{_leads("a.reply_deadline")} AND a.reply_deadline < $7
  AND (a.replied_at > a.reply_deadline
       OR (a.replied_at IS NULL AND a.status IN {_in(ACTIVE_ASSIGNMENT)} AND a.paused_at IS NULL))
GROUP BY 1, 2, 3, 4, 5"""

_EXTENDED = f"""
SELECT w.tenant_id, {_day("e.decided_at")} AS day, a.department_id, t.category_id, t.channel,
       count(*) AS extended
FROM {_WINDOWS}
JOIN extension_requests e ON e.tenant_id = w.tenant_id AND {_window("e", "e.decided_at")}
JOIN assignments a ON a.tenant_id = e.tenant_id AND a.id = e.assignment_id
JOIN tickets t ON t.tenant_id = a.tenant_id AND t.id = a.ticket_id
WHERE e.status = 'approved'
GROUP BY 1, 2, 3, 4, 5"""

_TIMELINE = f"""
SELECT w.tenant_id, {_day("e.created_at")} AS day, e.department_id, t.category_id, t.channel,
       count(*) FILTER (WHERE e.action = 'return') AS returned,
       count(*) FILTER (WHERE e.to_status = 'reopened') AS reopened
FROM {_WINDOWS}
JOIN timeline_events e ON e.tenant_id = w.tenant_id AND {_window("e", "e.created_at")}
JOIN tickets t ON t.tenant_id = e.tenant_id AND t.id = e.ticket_id
WHERE (e.action = 'return' OR e.to_status = 'reopened')
GROUP BY 1, 2, 3, 4, 5"""

_GROUPED = (_ANSWERED, _ENDED, _GRADED, _REVISITS, _DISPATCHED, _OVERDUE, _EXTENDED, _TIMELINE)


def _key(row: dict[str, Any]) -> Key:
    return (row["day"], row["department_id"], row["category_id"], str(row["channel"]))


async def compute_windows(
    windows: Sequence[Window], calendars: Mapping[int, WorkCalendar], *, now: datetime
) -> dict[int, dict[Key, Totals]]:
    """Every daily row of each window's city for moments in its window, as the work
    orders stand now, per city (a city with no fact is absent): 11 statements however
    many windows and cities. ``calendars`` holds each city's working calendar; windows
    of one city must not overlap. Runs in the caller's scope (a city's, or the
    province's for several cities)."""
    if not windows:
        return {}
    db = read_connection()
    params: list[Any] = [
        [w.tenant_id for w in windows],
        [w.start for w in windows],
        [w.end for w in windows],
        [w.timezone for w in windows],
        min(w.start for w in windows),
        max(w.end for w in windows),
    ]
    out: dict[int, dict[Key, Totals]] = defaultdict(lambda: defaultdict(Totals))
    for row in await db.execute_query_dict(_RECEIVED, params):
        totals = out[row["tenant_id"]][_key(row)]
        totals.add(row)
        n = int(row["received"])
        by = totals.received_by
        for label in (f"kind:{row['kind']}", f"priority:{row['priority']}"):
            by[label] = by.get(label, 0) + n
        if row["area_id"] is not None:
            by[f"area:{row['area_id']}"] = by.get(f"area:{row['area_id']}", 0) + n
    for sql in _GROUPED:
        query_params = [*params, now] if sql is _OVERDUE else params
        for row in await db.execute_query_dict(sql, query_params):
            out[row["tenant_id"]][_key(row)].add(row)
    for sql, stage in ((_SIGNED, "sign"), (_REPLIED, "reply")):
        for row in await db.execute_query_dict(sql, params):
            totals = out[row["tenant_id"]][_key(row)]
            calendar = calendars[row["tenant_id"]]
            seconds = int(calendar.working_time_between(row["start"], row["stop"]).total_seconds())
            if stage == "sign":
                totals.signed += 1
                totals.signed_on_time += bool(row["on_time"])
            else:
                totals.replied += 1
                totals.replied_on_time += bool(row["on_time"])
            totals.add_time(stage, seconds)
    return {tenant_id: dict(rows) for tenant_id, rows in out.items()}


async def compute_rows(
    *,
    tenant_id: int,
    timezone: str,
    calendar: WorkCalendar,
    start: datetime,
    end: datetime,
    now: datetime,
) -> dict[Key, Totals]:
    """Every daily row of one city for moments in ``[start, end)`` (city-local day
    boundaries), as the work orders stand now. Runs in the caller's scope."""
    rows = await compute_windows(
        [Window(tenant_id, timezone, start, end)], {tenant_id: calendar}, now=now
    )
    return rows.get(tenant_id, {})


# The city-local days whose rows count each ticket now (any of its facts), for many
# tickets ($2) at once: the facts of one ticket, then their days in the city's zone.
TICKET_FACTS = """
SELECT id AS ticket_id, unnest(ARRAY[received_at, answered_at, closed_at, revisited_at]) AS x
  FROM tickets WHERE tenant_id = $1 AND id = ANY($2::bigint[])
UNION ALL
SELECT ticket_id, unnest(ARRAY[created_at, signed_at, replied_at, reply_deadline])
  FROM assignments WHERE tenant_id = $1 AND ticket_id = ANY($2::bigint[])
  AND is_lead AND parent_id IS NULL
UNION ALL
SELECT ticket_id, decided_at FROM extension_requests
  WHERE tenant_id = $1 AND ticket_id = ANY($2::bigint[])
UNION ALL
SELECT ticket_id, created_at FROM revisits WHERE tenant_id = $1 AND ticket_id = ANY($2::bigint[])
UNION ALL
SELECT ticket_id, created_at FROM timeline_events
  WHERE tenant_id = $1 AND ticket_id = ANY($2::bigint[])
  AND (action = 'return' OR to_status = 'reopened')"""
