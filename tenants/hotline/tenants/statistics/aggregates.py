"""Keeping the daily aggregates current: marked by the domain events, recomputed by the
worker, repaired by the full-recompute command (docs/statistics.md, "Aggregates").

* :func:`on_ticket_events` (``hotline.event_handlers``, inside the change's transaction)
  marks dirty every city-local day the changed ticket counts in now or counted in at
  its previous change (a moved deadline or a re-dispatch also refreshes the day it
  left), and remembers the new set. Cheap: two small reads and two upserts.
* :func:`refresh_dirty_days` (the worker, per city) recomputes each dirty day that has
  ended in the city's time zone; :func:`recompute_day` deletes the day's rows and
  inserts them again from :func:`~hotline.tenants.statistics.compute.compute_rows`, so
  running it twice changes nothing.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.transactions import in_transaction

from hotline.platform import clock
from hotline.platform.calendar import WorkCalendar
from hotline.platform.tenancy import current_tenant_id
from hotline.tenants.kernel.events import Bus, TicketChanged, TicketEvent
from hotline.tenants.provinces.calendar import tenant_calendar
from hotline.tenants.provinces.models import Tenant
from hotline.tenants.statistics.compute import TICKET_FACTS, compute_rows
from hotline.tenants.statistics.metrics import COUNTS, SECONDS, SUMMED, Totals, total
from hotline.tenants.statistics.models import DailyStat

# Events that change no figure (warnings of the sweep, comments, urging, supplements).
_SILENT = frozenset(
    {
        TicketEvent.DUE_SOON,
        TicketEvent.SIGN_OVERDUE,
        TicketEvent.URGED,
        TicketEvent.SUPERVISION_COMMENT,
        TicketEvent.SUPPLEMENTED,
    }
)


def local_day(moment: datetime, timezone: str) -> date:
    return moment.astimezone(ZoneInfo(timezone)).date()


def day_bounds(first: date, last: date, timezone: str) -> tuple[datetime, datetime]:
    """[start of ``first``, start of the day after ``last``) in the city's zone."""
    zone = ZoneInfo(timezone)
    start = datetime.combine(first, time(0), tzinfo=zone)
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone)
    return start, end


# Everything the handler does for one city's batch of changed tickets, in one statement:
# their days now (the facts in the city's zone), the days they counted in before (the
# stored set), the days the changes happened on ($4) — all marked dirty — and each
# ticket's new set stored (an empty set as []).
_MARK = """
WITH zone AS (SELECT timezone AS tz FROM tenants WHERE id = $1),
facts AS (<facts>),
now_days AS (
  SELECT DISTINCT ticket_id, (x AT TIME ZONE (SELECT tz FROM zone))::date AS day
  FROM facts WHERE x IS NOT NULL
),
before AS (
  SELECT jsonb_array_elements_text(days)::date AS day FROM stats_ticket_days
  WHERE tenant_id = $1 AND ticket_id = ANY($2::bigint[])
),
marked AS (
  INSERT INTO stats_dirty_days (tenant_id, province_id, day, marked_at, created_at)
  SELECT $1, $3, d, $5, $5 FROM (
    SELECT day FROM now_days UNION SELECT day FROM before
    UNION SELECT (unnest($4::timestamptz[]) AT TIME ZONE (SELECT tz FROM zone))::date
  ) AS u(d)
  ON CONFLICT (tenant_id, day) DO UPDATE SET marked_at = EXCLUDED.marked_at
)
INSERT INTO stats_ticket_days (tenant_id, province_id, ticket_id, days, created_at)
SELECT $1, $3, i, COALESCE((
    SELECT jsonb_agg(to_char(n.day, 'YYYY-MM-DD') ORDER BY n.day)
    FROM now_days n WHERE n.ticket_id = i), '[]'::jsonb), $5
FROM unnest($2::bigint[]) AS i
ON CONFLICT (tenant_id, ticket_id) DO UPDATE SET days = EXCLUDED.days
""".replace("<facts>", TICKET_FACTS)

# The same for a batch of tickets only just created (the hot path: every creation): a
# new ticket counts on its day of receipt alone — the moment of its ``created`` event —
# and counted nowhere before, so nothing is read but the city's zone.
_MARK_NEW = """
WITH zone AS (SELECT timezone AS tz FROM tenants WHERE id = $1),
new AS (
  SELECT i AS ticket_id, (at AT TIME ZONE (SELECT tz FROM zone))::date AS day
  FROM unnest($2::bigint[], $4::timestamptz[]) AS u(i, at)
),
marked AS (
  INSERT INTO stats_dirty_days (tenant_id, province_id, day, marked_at, created_at)
  SELECT DISTINCT $1::bigint, $3::bigint, day, $5::timestamptz, $5::timestamptz FROM new
  ON CONFLICT (tenant_id, day) DO UPDATE SET marked_at = EXCLUDED.marked_at
)
INSERT INTO stats_ticket_days (tenant_id, province_id, ticket_id, days, created_at)
SELECT $1, $3, ticket_id, jsonb_build_array(to_char(day, 'YYYY-MM-DD')), $5 FROM new
ON CONFLICT (tenant_id, ticket_id) DO UPDATE SET days = EXCLUDED.days
"""


@dataclass
class _CityBatch:
    province_id: int
    moments: set[datetime]
    # each changed ticket: the moment it was created, if its only events here are that
    tickets: dict[int, datetime | None]


async def on_ticket_events(events: Sequence[TicketChanged]) -> None:
    """In-transaction handler: mark the days these changes touched (one statement per
    city, however many tickets the batch changed)."""
    cities: dict[int, _CityBatch] = {}
    for event in events:
        if event.kind in _SILENT:
            continue
        city = cities.setdefault(event.tenant_id, _CityBatch(event.province_id, set(), {}))
        city.moments.add(event.occurred_at)
        created = event.occurred_at if event.kind is TicketEvent.CREATED else None
        if event.ticket_id in city.tickets:
            created = None  # its creation and more, or only later changes
        city.tickets[event.ticket_id] = created
    for tenant_id, city in cities.items():
        ids = sorted(city.tickets)
        born = [city.tickets[i] for i in ids]
        if all(at is not None for at in born):
            args = [tenant_id, ids, city.province_id, born, clock.now()]
            await DailyStat._meta.db.execute_query(_MARK_NEW, args)
        else:
            args = [tenant_id, ids, city.province_id, sorted(city.moments), clock.now()]
            await DailyStat._meta.db.execute_query(_MARK, args)


def register(bus: Bus) -> None:
    """Entry point of ``hotline.event_handlers``."""
    bus.subscribe(on_ticket_events)


@dataclass
class CityClock:
    """What computing a city's rows needs; the working calendar is read once, when a
    day is computed (a dashboard of stored days never needs it)."""

    tenant: Tenant
    _calendar: WorkCalendar | None = None

    @property
    def tenant_id(self) -> int:
        return int(self.tenant.id)

    @property
    def province_id(self) -> int:
        return int(self.tenant.province_id)

    @property
    def timezone(self) -> str:
        return str(self.tenant.timezone)

    def today(self) -> date:
        return local_day(clock.now(), self.timezone)

    async def calendar(self) -> WorkCalendar:
        if self._calendar is None:
            self._calendar = await tenant_calendar(self.tenant)
        return self._calendar


async def city_clock(tenant: Tenant) -> CityClock:
    return CityClock(tenant)


async def compute_days(
    city: CityClock, first: date, last: date
) -> dict[tuple[date, int | None, int | None, str], Totals]:
    start, end = day_bounds(first, last, city.timezone)
    return await compute_rows(
        tenant_id=city.tenant_id,
        timezone=city.timezone,
        calendar=await city.calendar(),
        start=start,
        end=end,
        now=clock.now(),
    )


_FIGURES = (*SUMMED, "received_by", "sign_hist", "reply_hist")
_JSON_COLUMNS = frozenset({"received_by", "sign_hist", "reply_hist"})


def _insert(table: str, dims: tuple[str, ...]) -> str:
    columns = ("tenant_id", "province_id", "created_at", "day", *dims, *_FIGURES)
    values = ", ".join(
        f"${i}" + ("::jsonb" if c in _JSON_COLUMNS else "") for i, c in enumerate(columns, 1)
    )
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({values})"  # noqa: S608


_INSERT_DAILY = _insert("stats_daily", ("department_id", "category_id", "channel"))
_INSERT_DEPARTMENTS = _insert("stats_daily_departments", ("department_id",))


# A city's months of [$2, $3] summed per department from their stored days ($1 the city,
# $4 its province, $5 now), each row with the version of the days it sums (how many, the
# sum of the transaction ids that wrote them): docs/statistics.md, "Monthly rows". One
# statement; the maps summed per key in SQL. Migration 0011 fills the months stored
# before it with a frozen copy of this statement.
_MAPS = ("received_by", "sign_hist", "reply_hist")
_ROLL_MONTHS = f"""
WITH d AS (
  SELECT s.*, s.xmin::text::bigint AS xid, date_trunc('month', s.day)::date AS month
  FROM stats_daily_departments s WHERE s.tenant_id = $1 AND s.day >= $2 AND s.day <= $3),
v AS (SELECT month, count(*)::int AS days, sum(xid)::bigint AS written FROM d GROUP BY 1),
e AS (SELECT d.month, d.department_id, x.map, x.key, sum(x.n)::int AS n
      FROM d CROSS JOIN LATERAL ({
    " UNION ALL ".join(f"SELECT '{m}', key, value::int FROM jsonb_each_text(d.{m})" for m in _MAPS)
}) AS x(map, key, n) GROUP BY 1, 2, 3, 4),
j AS (SELECT month, department_id, {
    ", ".join(
        f"coalesce(jsonb_object_agg(key, n) FILTER (WHERE map = '{m}'), '{{}}'::jsonb) AS {m}"
        for m in _MAPS
    )
} FROM e GROUP BY 1, 2),
g AS (SELECT month, department_id, {
    ", ".join(
        [*(f"sum({c})::int AS {c}" for c in COUNTS), *(f"sum({c})::bigint AS {c}" for c in SECONDS)]
    )
} FROM d GROUP BY 1, 2)
INSERT INTO stats_monthly_departments (tenant_id, province_id, created_at, month, department_id,
  days, written, {", ".join((*SUMMED, *_MAPS))})
SELECT $1, $4, $5, g.month, g.department_id, v.days, v.written, {
    ", ".join((*(f"g.{c}" for c in SUMMED), *(f"coalesce(j.{m}, '{{}}'::jsonb)" for m in _MAPS)))
}
FROM g JOIN v ON v.month = g.month
LEFT JOIN j ON j.month = g.month AND j.department_id IS NOT DISTINCT FROM g.department_id"""  # noqa: S608
# One recompute of a city at a time (worker, repair command): a month's rows are summed
# from every day of the month, so two transactions writing two days of it must not each
# sum without the other's days.
_CITY_LOCK = (
    "SELECT pg_advisory_xact_lock(hashtextextended('hotline stats city ' || $1::bigint, 0))"
)


def month_of(day: date) -> date:
    return day.replace(day=1)


def month_end(day: date) -> date:
    """The last day of ``day``'s month."""
    following = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)


def _figures(totals: Totals) -> list[Any]:
    return _row_figures(totals.as_row())


def _row_figures(row: dict[str, Any]) -> list[Any]:
    """The figure columns of a row of :meth:`Totals.as_row`."""
    return [
        *(row[c] for c in SUMMED),
        json.dumps(row["received_by"]),
        json.dumps(row["sign_hist"]),
        json.dumps(row["reply_hist"]),
    ]


def _order(key: tuple[Any, ...]) -> tuple[tuple[bool, Any], ...]:
    """A sort key for row keys holding NULLs (NULL last)."""
    return tuple((k is None, 0 if k is None else k) for k in key)


async def recompute_day(city: CityClock, day: date) -> int:
    """Replace the city's stored rows of ``day`` (both tables) by a fresh computation in
    one transaction; the caller has set the city's scope. Returns the rows written."""
    return await _recompute(city, day, day)


# Days recomputed together by the repair: one computation and one write per chunk, not
# per day (a 120-day repair was 240 computations and ~20,000 single-row statements).
_CHUNK_DAYS = 31


async def _recompute(city: CityClock, first: date, last: date) -> int:
    """Replace the stored rows of ``[first, last]`` (both tables) in one transaction:
    one computation over the range, one DELETE per table, the rows sent in a pipeline."""
    rows = await compute_days(city, first, last)
    # each row's columns once, for both tables (as_row sorts and canonicalises its maps;
    # computed twice, it was 52,000 of the demo seed's 123,000 calls of it)
    as_rows = {key: totals.as_row() for key, totals in rows.items()}
    by_department: dict[tuple[date, int | None], list[dict[str, Any]]] = defaultdict(list)
    for (day, department_id, category_id, channel), row in as_rows.items():
        by_department[(day, department_id)].append(
            {**row, "category_id": category_id, "channel": channel}
        )
    head = [city.tenant_id, city.province_id, clock.now()]
    daily = [
        [*head, day, department_id, category_id, channel, *_row_figures(row)]
        for (day, department_id, category_id, channel), row in sorted(
            as_rows.items(), key=lambda kv: _order(kv[0])
        )
    ]
    departments = [
        [*head, day, department_id, *_figures(total(parts))]
        for (day, department_id), parts in sorted(
            by_department.items(), key=lambda kv: _order(kv[0])
        )
    ]
    months = (month_of(first), month_end(last))
    async with in_transaction("default") as conn:
        await conn.execute_query(_CITY_LOCK, [city.tenant_id])
        for table in ("stats_daily", "stats_daily_departments"):
            await conn.execute_query(
                f"DELETE FROM {table} WHERE tenant_id = $1 AND day BETWEEN $2 AND $3",  # noqa: S608
                [city.tenant_id, first, last],
            )
        if daily:
            await conn.execute_many(_INSERT_DAILY, daily)
        if departments:
            await conn.execute_many(_INSERT_DEPARTMENTS, departments)
        # the months holding these days, summed again from their stored days (this
        # transaction's included): a month's rows always equal its days' sum
        await conn.execute_query(
            "DELETE FROM stats_monthly_departments WHERE tenant_id = $1 "
            "AND month BETWEEN $2 AND $3",
            [city.tenant_id, *months],
        )
        await conn.execute_query(
            _ROLL_MONTHS, [city.tenant_id, *months, city.province_id, clock.now()]
        )
    return len(rows)


async def refresh_dirty_days(city: CityClock) -> int:
    """Recompute every dirty day of the city that has ended; a day marked again while
    it was being recomputed stays dirty for the next run. Returns the days done."""
    db = DailyStat._meta.db
    today = city.today()
    dirty = await db.execute_query_dict(
        "SELECT day, marked_at FROM stats_dirty_days WHERE tenant_id = $1 AND day < $2 "
        "ORDER BY day",
        [city.tenant_id, today],
    )
    # consecutive dirty days of one month in one recompute: each recompute sums its
    # months again, so a backlog of a month's days would sum that month once per day
    runs: list[list[dict[str, Any]]] = []
    for row in dirty:
        previous = runs[-1][-1]["day"] if runs else None
        if (
            previous is not None
            and row["day"] == previous + timedelta(days=1)
            and (month_of(row["day"]) == month_of(previous))
        ):
            runs[-1].append(row)
        else:
            runs.append([row])
    for run in runs:
        await _recompute(city, run[0]["day"], run[-1]["day"])
        for row in run:
            await db.execute_query(
                "DELETE FROM stats_dirty_days WHERE tenant_id = $1 AND day = $2 AND marked_at = $3",
                [city.tenant_id, row["day"], row["marked_at"]],
            )
    return len(dirty)


async def recompute_range(city: CityClock, first: date, last: date) -> int:
    """The repair: recompute every ended day of ``[first, last]`` (and clear their
    marks), a month-sized chunk at a time. Returns the days done."""
    last = min(last, city.today() - timedelta(days=1))
    done = 0
    while first <= last:
        end = min(last, first + timedelta(days=_CHUNK_DAYS - 1))
        await _recompute(city, first, end)
        await DailyStat._meta.db.execute_query(
            "DELETE FROM stats_dirty_days WHERE tenant_id = $1 AND day BETWEEN $2 AND $3",
            [city.tenant_id, first, end],
        )
        done += (end - first).days + 1
        first = end + timedelta(days=1)
    return done


async def refresh_current_city() -> int:
    """:func:`refresh_dirty_days` for the city of the current scope (the worker's job)."""
    tenant = await Tenant.get(id=current_tenant_id())
    return await refresh_dirty_days(await city_clock(tenant))
