"""Daily rows computed from the work orders' stage timestamps (docs/statistics.md).

:func:`compute_rows` reads, for one city and one window of city-local days, every
fact of the metrics and groups it by city-local day × department × category × channel.
The worker stores its answer per closed day; the dashboard computes today (and any day
still waiting for the worker) with the same function, so stored and live rows agree by
construction. Stage timestamps tell almost everything; only returns and reopenings,
which leave no stage timestamp, are read from the timeline.
"""

from __future__ import annotations

from collections import defaultdict
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


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


# The ticket's current lead department: its top-level lead assignment of the last round.
_LEAD = (
    "LEFT JOIN LATERAL (SELECT a.department_id FROM assignments a "
    "WHERE a.tenant_id = t.tenant_id AND a.ticket_id = t.id AND a.is_lead "
    "AND a.parent_id IS NULL ORDER BY a.round DESC, a.id DESC LIMIT 1) lead ON true"
)


def _day(column: str) -> str:
    return f"({column} AT TIME ZONE $4)::date"


def _window(column: str) -> str:
    return f"{column} >= $2 AND {column} < $3"


_RECEIVED = f"""
SELECT {_day("t.received_at")} AS day, lead.department_id, t.category_id, t.channel,
       t.kind, t.priority, t.area_id, count(*) AS received,
       count(*) FILTER (WHERE t.status NOT IN {_in(LEFT_STATUSES)}) AS cohort_valid,
       count(*) FILTER (WHERE t.status IN {_in(HANDLED_STATUSES)}) AS cohort_handled,
       count(*) FILTER (WHERE t.status = 'closed') AS cohort_completed
FROM tickets t {_LEAD}
WHERE t.tenant_id = $1 AND {_window("t.received_at")}
GROUP BY 1, 2, 3, 4, 5, 6, 7"""

_ANSWERED = f"""
SELECT {_day("t.answered_at")} AS day, lead.department_id, t.category_id, t.channel,
       count(*) AS direct_answered
FROM tickets t {_LEAD}
WHERE t.tenant_id = $1 AND t.direct_answer AND {_window("t.answered_at")}
GROUP BY 1, 2, 3, 4"""

_ENDED = f"""
SELECT {_day("t.closed_at")} AS day, lead.department_id, t.category_id, t.channel,
       count(*) FILTER (WHERE t.status = 'closed') AS closed,
       count(*) FILTER (WHERE t.status = 'merged') AS merged,
       count(*) FILTER (WHERE t.status = 'cancelled') AS cancelled
FROM tickets t {_LEAD}
WHERE t.tenant_id = $1 AND {_window("t.closed_at")}
GROUP BY 1, 2, 3, 4"""

_GRADED = f"""
SELECT {_day("coalesce(t.revisited_at, t.closed_at)")} AS day, lead.department_id,
       t.category_id, t.channel,
       count(*) FILTER (WHERE t.satisfaction = 'satisfied') AS satisfied,
       count(*) FILTER (WHERE t.satisfaction = 'basically_satisfied') AS basically_satisfied,
       count(*) FILTER (WHERE t.satisfaction = 'unsatisfied') AS unsatisfied,
       count(*) FILTER (WHERE t.satisfaction = 'unreachable') AS unreachable
FROM tickets t {_LEAD}
WHERE t.tenant_id = $1 AND t.satisfaction IS NOT NULL
  AND {_window("coalesce(t.revisited_at, t.closed_at)")}
GROUP BY 1, 2, 3, 4"""

_REVISITS = f"""
SELECT {_day("r.created_at")} AS day, lead.department_id, t.category_id, t.channel,
       count(*) AS revisit_calls, count(*) FILTER (WHERE r.reached) AS revisit_reached
FROM revisits r JOIN tickets t ON t.tenant_id = r.tenant_id AND t.id = r.ticket_id {_LEAD}
WHERE r.tenant_id = $1 AND r.source = 'center' AND {_window("r.created_at")}
GROUP BY 1, 2, 3, 4"""

_LEADS = (
    "FROM assignments a JOIN tickets t ON t.tenant_id = a.tenant_id AND t.id = a.ticket_id "
    "WHERE a.tenant_id = $1 AND a.is_lead AND a.parent_id IS NULL"
)

_DISPATCHED = f"""
SELECT {_day("a.created_at")} AS day, a.department_id, t.category_id, t.channel,
       count(*) AS dispatched
{_LEADS} AND {_window("a.created_at")}
GROUP BY 1, 2, 3, 4"""

_SIGNED = f"""
SELECT {_day("a.signed_at")} AS day, a.department_id, t.category_id, t.channel,
       a.created_at AS start, a.signed_at AS stop,
       a.signed_at <= coalesce(a.sign_deadline, a.signed_at) AS on_time
{_LEADS} AND {_window("a.signed_at")}"""

_REPLIED = f"""
SELECT {_day("a.replied_at")} AS day, a.department_id, t.category_id, t.channel,
       a.created_at AS start, a.replied_at AS stop, a.replied_at <= a.reply_deadline AS on_time
{_LEADS} AND {_window("a.replied_at")}"""

_OVERDUE = f"""
SELECT {_day("a.reply_deadline")} AS day, a.department_id, t.category_id, t.channel,
       count(*) AS overdue
{_LEADS} AND {_window("a.reply_deadline")} AND a.reply_deadline < $5
  AND (a.replied_at > a.reply_deadline
       OR (a.replied_at IS NULL AND a.status IN {_in(ACTIVE_ASSIGNMENT)} AND a.paused_at IS NULL))
GROUP BY 1, 2, 3, 4"""

_EXTENDED = f"""
SELECT {_day("e.decided_at")} AS day, a.department_id, t.category_id, t.channel,
       count(*) AS extended
FROM extension_requests e
JOIN assignments a ON a.tenant_id = e.tenant_id AND a.id = e.assignment_id
JOIN tickets t ON t.tenant_id = a.tenant_id AND t.id = a.ticket_id
WHERE e.tenant_id = $1 AND e.status = 'approved' AND {_window("e.decided_at")}
GROUP BY 1, 2, 3, 4"""

_TIMELINE = f"""
SELECT {_day("e.created_at")} AS day, e.department_id, t.category_id, t.channel,
       count(*) FILTER (WHERE e.action = 'return') AS returned,
       count(*) FILTER (WHERE e.to_status = 'reopened') AS reopened
FROM timeline_events e JOIN tickets t ON t.tenant_id = e.tenant_id AND t.id = e.ticket_id
WHERE e.tenant_id = $1 AND {_window("e.created_at")}
  AND (e.action = 'return' OR e.to_status = 'reopened')
GROUP BY 1, 2, 3, 4"""

_GROUPED = (_ANSWERED, _ENDED, _GRADED, _REVISITS, _DISPATCHED, _OVERDUE, _EXTENDED, _TIMELINE)


def _key(row: dict[str, Any]) -> Key:
    return (row["day"], row["department_id"], row["category_id"], str(row["channel"]))


async def compute_rows(
    *,
    tenant_id: int,
    timezone: str,
    calendar: WorkCalendar,
    start: datetime,
    end: datetime,
    now: datetime,
) -> dict[Key, Totals]:
    """Every daily row of the city for moments in ``[start, end)`` (city-local day
    boundaries), as the work orders stand now. Runs in the caller's scope."""
    db = read_connection()
    params: list[Any] = [tenant_id, start, end, timezone]
    rows: dict[Key, Totals] = defaultdict(Totals)
    for row in await db.execute_query_dict(_RECEIVED, params):
        totals = rows[_key(row)]
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
            rows[_key(row)].add(row)
    for sql, stage in ((_SIGNED, "sign"), (_REPLIED, "reply")):
        for row in await db.execute_query_dict(sql, params):
            totals = rows[_key(row)]
            seconds = int(calendar.working_time_between(row["start"], row["stop"]).total_seconds())
            if stage == "sign":
                totals.signed += 1
                totals.signed_on_time += bool(row["on_time"])
            else:
                totals.replied += 1
                totals.replied_on_time += bool(row["on_time"])
            totals.add_time(stage, seconds)
    return dict(rows)


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
