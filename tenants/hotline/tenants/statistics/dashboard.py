"""The dashboards: a city's figures over a period and a department subtree, the
department ranking, and the province's roll-up with its city ranking
(docs/statistics.md, "Queries").

A period's rows are the stored daily aggregates of its ended days, except days still
marked dirty, which are computed live like today — so an answer is always as current
as the work orders, and the worker only makes it cheap.

A city dashboard of a **closed period** is answered from Redis when it was asked before
(``dashboard_cache``).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

import structlog

from hotline.platform import clock
from hotline.platform.db.replica import read_connection, read_transaction
from hotline.platform.tenancy import Scope, use_scope
from hotline.tenants.departments.models import Department
from hotline.tenants.kernel.access import Action, Actor, require
from hotline.tenants.kernel.errors import Invalid, NotFound
from hotline.tenants.kernel.roles import Role
from hotline.tenants.provinces.calendar import city_calendars
from hotline.tenants.provinces.models import Tenant
from hotline.tenants.provinces.settings import CitySettings, city_settings
from hotline.tenants.statistics import dashboard_cache
from hotline.tenants.statistics.aggregates import (
    CityClock,
    city_clock,
    day_bounds,
    month_end,
    month_of,
)
from hotline.tenants.statistics.calls import CallReport, call_report
from hotline.tenants.statistics.compute import Window, compute_windows
from hotline.tenants.statistics.metrics import (
    ACTIVE_ASSIGNMENT,
    COUNTS,
    SECONDS,
    SUMMED,
    Figures,
    Unranked,
    figures,
    total,
    unranked,
)
from hotline.tenants.statistics.metrics import score as composite

MAX_DAYS = 366
log = structlog.get_logger(__name__)
# Roles that see the whole city's figures; a department manager sees its subtrees.
_WHOLE_CITY = frozenset({Role.TENANT_ADMIN, Role.CITY_LEADER, Role.SUPERVISOR})


@dataclass(frozen=True)
class Ranked:
    """A department or a city with its figures, composite score and place (1 = best).
    One without a score comes after every scored one, with the reason in ``unranked``."""

    id: int
    name: str
    figures: Figures
    score: float | None
    rank: int
    unranked: Unranked | None = None


@dataclass(frozen=True)
class CityReport:
    tenant_id: int
    first: date
    last: date
    department_id: int | None
    figures: Figures
    departments: list[Ranked]
    weights: dict[str, float]
    calls: CallReport | None = None  # the call center's figures; None for a subtree


@dataclass(frozen=True)
class ProvinceReport:
    province_id: int
    first: date
    last: date
    figures: Figures
    cities: list[Ranked]
    weights: dict[str, float]
    calls: CallReport | None = None


def _period(first: date, last: date) -> None:
    if last < first:
        raise Invalid("the period ends before it starts", field="to")
    if (last - first).days + 1 > MAX_DAYS:
        raise Invalid("a period has at most {max} days", field="to", max=MAX_DAYS)


@dataclass(frozen=True)
class _Span:
    """What a period reads of one city: stored rows of ``[first, ended]`` but the
    dirty days — the whole calendar months among them (``months``) from their monthly
    rows, the other days from the daily ones —, live rows of ``live`` (the dirty days
    and, when asked, today)."""

    city: CityClock
    ended: date
    live: list[date]
    months: list[date] = field(default_factory=list)


# Of the candidate months ($1 cities, $2 months: whole, ended, none dirty), those whose
# monthly rows sum exactly the daily rows stored now: every monthly row of the month
# carries the days' own version (how many daily rows, the sum of the transaction ids
# that wrote them), and there is one per department the days name. A day written
# without its month (the previous release's worker during a roll-out), or a month
# missing a department's row (a hand edit, a partial restore), makes the month fall
# back to its days.
_CURRENT_MONTHS = """
SELECT c.tenant_id, c.month
FROM unnest($1::bigint[], $2::date[]) AS c(tenant_id, month)
CROSS JOIN LATERAL (
  SELECT count(*) AS departments, min(m.days) AS days_low, max(m.days) AS days_high,
    min(m.written) AS written_low, max(m.written) AS written_high
  FROM stats_monthly_departments m
  WHERE m.tenant_id = c.tenant_id AND m.month = c.month) m
CROSS JOIN LATERAL (
  SELECT count(*)::int AS days, coalesce(sum(s.xmin::text::bigint), 0)::bigint AS written,
    count(DISTINCT coalesce(s.department_id, 0)) AS departments
  FROM stats_daily_departments s
  WHERE s.tenant_id = c.tenant_id AND s.day >= c.month
    AND s.day <= (c.month + interval '1 month' - interval '1 day')::date) d
WHERE m.days_low = d.days AND m.days_high = d.days AND m.written_low = d.written
  AND m.written_high = d.written AND m.departments = d.departments"""


def _candidate_months(first: date, ended: date, dirty: Sequence[date]) -> list[date]:
    """The calendar months wholly inside ``[first, ended]`` with no dirty day."""
    out = []
    month = month_of(first) if first.day == 1 else month_end(first) + timedelta(days=1)
    while month_end(month) <= ended:
        if not any(month <= d <= month_end(month) for d in dirty):
            out.append(month)
        month = month_end(month) + timedelta(days=1)
    return out


async def _spans(cities: Sequence[CityClock], first: date, last: date) -> list[_Span]:
    """Each city's span of ``[first, last]``, from one statement however many cities
    (the dirty days) and one more when whole months are stored (which of them are
    current): a city's today and ended days are its own time zone's."""
    bounds = []
    for city in cities:
        today = city.today()
        until = min(last, today)
        bounds.append((city, today, until, min(until, today - timedelta(days=1))))
    dirty: dict[int, list[date]] = defaultdict(list)
    latest = max((ended for *_, ended in bounds), default=first - timedelta(days=1))
    db = read_connection()
    if first <= latest:
        for r in await db.execute_query_dict(
            "SELECT tenant_id, day FROM stats_dirty_days "
            "WHERE tenant_id = ANY($1::bigint[]) AND day >= $2 AND day <= $3 ORDER BY day",
            [[city.tenant_id for city in cities], first, latest],
        ):
            dirty[r["tenant_id"]].append(r["day"])
    candidates = [
        (city.tenant_id, month)
        for city, _, _, ended in bounds
        for month in _candidate_months(first, ended, dirty[city.tenant_id])
    ]
    current: dict[int, list[date]] = defaultdict(list)
    if candidates:
        for r in await db.execute_query_dict(
            _CURRENT_MONTHS, [[t for t, _ in candidates], [m for _, m in candidates]]
        ):
            current[r["tenant_id"]].append(r["month"])
    spans = []
    for city, today, until, ended in bounds:
        own = [d for d in dirty[city.tenant_id] if d <= ended]
        live = [*own, *([today] if first <= until == today else [])]
        spans.append(_Span(city, ended, live, sorted(current[city.tenant_id])))
    return spans


def _day_ranges(span: _Span, first: date) -> list[tuple[date, date]]:
    """The stored days of ``span`` read from the daily rows: ``[first, ended]`` but its
    months read from the monthly rows."""
    ranges = []
    lo = first
    for month in span.months:
        if lo < month:
            ranges.append((lo, month - timedelta(days=1)))
        lo = month_end(month) + timedelta(days=1)
    if lo <= span.ended:
        ranges.append((lo, span.ended))
    return ranges


_SUMS = ", ".join(
    [*(f"sum({c})::int AS {c}" for c in COUNTS), *(f"sum({c})::bigint AS {c}" for c in SECONDS)]
)
_MAPS = ("received_by", "sign_hist", "reply_hist")
# The stored days of each city but its whole months — day ranges ($1 cities, $2 first
# days, $3 last days) but the dirty days ($4 cities, $5 days) — from the per-department
# daily table: one row per department and day whatever the volume, summed per department
# (a city's dashboard) or per city (the province's) — the same statements for 1 or 14
# cities.
_DAYS_FROM = """
FROM unnest($1::bigint[], $2::date[], $3::date[]) AS c(tenant_id, lo, hi)
JOIN stats_daily_departments s ON s.tenant_id = c.tenant_id AND s.day >= c.lo AND s.day <= c.hi"""
_DAYS_WHERE = """
WHERE NOT EXISTS (SELECT FROM unnest($4::bigint[], $5::date[]) AS d(tenant_id, day)
                  WHERE d.tenant_id = s.tenant_id AND d.day = s.day)"""


def _days_counts(by: str) -> str:
    return f"SELECT s.{by} AS grp, {_SUMS} {_DAYS_FROM} {_DAYS_WHERE} GROUP BY 1"


# The three maps (the breakdown and the two working-time histograms) summed per group
# and key in one statement: a few rows per group, whatever the volume.
def _days_maps(by: str) -> str:
    return " UNION ALL ".join(
        f"SELECT s.{by} AS grp, '{column}' AS map, e.key, sum(e.value::int)::int AS n "
        f"{_DAYS_FROM} CROSS JOIN LATERAL jsonb_each_text(s.{column}) e {_DAYS_WHERE} "
        "GROUP BY 1, 3"
        for column in _MAPS
    )


_DAYS_BY = {by: (_days_counts(by), _days_maps(by)) for by in ("department_id", "tenant_id")}
# The whole months ($1 cities, $2 months): their monthly rows as they are, one per
# department — already sums, so summed further in Python with the rest (a city-month is
# 21 rows; a plain read of the table's key, no grouping or map exploding in SQL).
_MONTHS = f"""
SELECT {", ".join(f"s.{c}" for c in ("tenant_id", "department_id", *SUMMED, *_MAPS))}
FROM unnest($1::bigint[], $2::date[]) AS c(tenant_id, month)
JOIN stats_monthly_departments s ON s.tenant_id = c.tenant_id AND s.month = c.month"""


async def _stored(spans: Sequence[_Span], first: date, by: str) -> list[dict[str, Any]]:
    """The stored rows of the spans: their whole current months' monthly rows (one per
    department and month) and their other stored days summed per ``by``
    (``department_id`` or ``tenant_id``) — at most three statements however many cities,
    none when nothing is stored. Every row carries ``department_id`` or ``tenant_id``
    as ``by`` asks."""
    stored = [s for s in spans if first <= s.ended]
    ranges = [(s.city.tenant_id, r) for s in stored for r in _day_ranges(s, first)]
    months = [(s.city.tenant_id, m) for s in stored for m in s.months]
    db = read_connection()
    out: list[dict[str, Any]] = []
    if months:
        for r in await db.execute_query_dict(
            _MONTHS, [[t for t, _ in months], [m for _, m in months]]
        ):
            row = dict(r)
            for column in _MAPS:
                value = row[column]
                row[column] = json.loads(value) if isinstance(value, str) else value
            out.append(row)
    if not ranges:
        return out
    dirty = [(s.city.tenant_id, d) for s in stored for d in s.live if d <= s.ended]
    params: list[Any] = [
        [t for t, _ in ranges],
        [lo for _, (lo, _) in ranges],
        [hi for _, (_, hi) in ranges],
        [t for t, _ in dirty],
        [d for _, d in dirty],
    ]
    counts, maps = _DAYS_BY[by]
    rows: dict[Any, dict[str, Any]] = {}
    for r in await db.execute_query_dict(counts, params):
        row = dict(r)
        key = row.pop("grp")
        rows[key] = {**row, by: key, "received_by": {}, "sign_hist": {}, "reply_hist": {}}
    for r in await db.execute_query_dict(maps, params):
        rows[r["grp"]][r["map"]][r["key"]] = r["n"]
    out.extend(rows.values())
    return out


async def _live(spans: Sequence[_Span]) -> dict[int, list[dict[str, Any]]]:
    """The live days of the spans (dirty days and today), computed like the worker's
    rows: a window per day, every city's in the same statements (compute_windows), and
    the calendars of the cities that have one in two statements (city_calendars)."""
    windows: list[Window] = []
    for span in spans:
        for day in span.live:
            start, end = day_bounds(day, day, span.city.timezone)
            windows.append(Window(span.city.tenant_id, span.city.timezone, start, end))
    if not windows:
        return {}
    cities = [s.city.tenant for s in spans if s.live]
    calendars = await city_calendars(cities[0].province_id, cities)
    computed = await compute_windows(windows, calendars, now=clock.now())
    out: dict[int, list[dict[str, Any]]] = {}
    for tenant_id, keyed in computed.items():
        rows = out.setdefault(tenant_id, [])
        for (_, department_id, category_id, channel), totals in keyed.items():
            row = totals.as_row()
            row.update(department_id=department_id, category_id=category_id, channel=channel)
            rows.append(row)
    return out


async def period_rows(city: CityClock, first: date, last: date) -> list[dict[str, Any]]:
    """The city's rows of ``[first, last]``: its whole current months' monthly rows, its
    other ended, clean days summed per department, live rows for dirty days and today
    (sum them per department for the figures). Runs in the caller's scope (city or
    province)."""
    [span] = await _spans([city], first, last)
    rows = await _stored([span], first, "department_id")
    rows.extend((await _live([span])).get(city.tenant_id, []))
    return rows


async def province_rows(
    cities: Sequence[CityClock], first: date, last: date
) -> dict[int, list[dict[str, Any]]]:
    """Every city's rows of ``[first, last]`` (its current months' monthly rows, its
    other stored days summed per city, live rows as computed), under the province scope:
    a constant number of statements — the dirty days, the current months, one for the
    monthly rows and two for the other stored days, and for live days two for the
    calendars and the computation's — whatever the number of cities, never a statement
    per city."""
    spans = await _spans(cities, first, last)
    stored: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in await _stored(spans, first, "tenant_id"):
        stored[row["tenant_id"]].append(row)
    live = await _live(spans)
    return {c.tenant_id: [*stored[c.tenant_id], *live.get(c.tenant_id, [])] for c in cities}


_OVERDUE_NOW = f"""
SELECT count(*) AS n FROM assignments a
JOIN departments d ON d.tenant_id = a.tenant_id AND d.id = a.department_id
WHERE a.tenant_id = $1 AND a.is_lead AND a.parent_id IS NULL AND a.paused_at IS NULL
  AND a.status IN ({", ".join(f"'{s}'" for s in ACTIVE_ASSIGNMENT)}) AND a.reply_deadline < $2
  AND ($3::text[] IS NULL OR d.path LIKE ANY ($3::text[]))"""


_OVERDUE_NOW_CITIES = f"""
SELECT a.tenant_id, count(*) AS n FROM assignments a
WHERE a.tenant_id = ANY($1::bigint[]) AND a.is_lead AND a.parent_id IS NULL
  AND a.paused_at IS NULL AND a.reply_deadline < $2
  AND a.status IN ({", ".join(f"'{s}'" for s in ACTIVE_ASSIGNMENT)})
GROUP BY 1"""


async def overdue_now(tenant_id: int, paths: Sequence[str] | None) -> int:
    """Open top-level lead assignments past their reply deadline now (not suspended)."""
    if paths is None:  # the whole city: no department to match
        return (await overdue_by_city([tenant_id])).get(tenant_id, 0)
    patterns = [f"{p}%" for p in paths]
    rows = await read_connection().execute_query_dict(
        _OVERDUE_NOW, [tenant_id, clock.now(), patterns]
    )
    return int(rows[0]["n"])


async def overdue_by_city(tenant_ids: Sequence[int]) -> dict[int, int]:
    """:func:`overdue_now` of whole cities, one statement for all (a city with none is
    absent)."""
    rows = await read_connection().execute_query_dict(
        _OVERDUE_NOW_CITIES, [list(tenant_ids), clock.now()]
    )
    return {int(r["tenant_id"]): int(r["n"]) for r in rows}


async def _stored_figures(
    city: CityClock,
    first: date,
    last: date,
    selected: list[int] | None,
) -> tuple[Figures, dict[int, Figures]]:
    """The selection's figures (``overdue_now`` not set) and each department's, from the
    period's rows — or from the cache when the period is closed and clean."""
    key = await dashboard_cache.closed_key(city, first, last, selected)
    hit = await dashboard_cache.cached(key)
    if hit is not None:
        return hit
    rows = [
        r
        for r in await period_rows(city, first, last)
        if selected is None or r["department_id"] in selected
    ]
    by_department: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if row["department_id"] is not None:
            by_department[row["department_id"]].append(row)
    whole = figures(total(rows))
    departments = {i: figures(total(r)) for i, r in by_department.items()}
    await dashboard_cache.keep(key, whole, departments)
    return whole, departments


def _within(path: str | None, paths: Sequence[str] | None) -> bool:
    if paths is None:
        return True
    return path is not None and any(path.startswith(p) for p in paths)


def _ranked(
    entries: Iterable[tuple[int, str, Figures]], weights: Mapping[str, float]
) -> list[Ranked]:
    scored = [(i, n, f, composite(f, weights)) for i, n, f in entries]
    scored.sort(key=lambda e: (e[3] is None, -(e[3] or 0.0), e[1], e[0]))
    return [
        Ranked(i, n, f, s, place, None if s is not None else unranked(f, weights))
        for place, (i, n, f, s) in enumerate(scored, start=1)
    ]


async def _reading_paths(
    actor: Actor, department_id: int | None
) -> tuple[list[str] | None, dict[int, Department]]:
    departments = {d.id: d for d in await Department.all()}
    own: list[str] | None = None
    if not (actor.roles & _WHOLE_CITY or actor.is_province_admin):
        own = [departments[i].path for i in sorted(actor.department_ids) if i in departments]
    if department_id is None:
        return own, departments
    chosen = departments.get(department_id)
    if chosen is None or not _within(chosen.path, own):
        raise NotFound("department", field="departmentId")
    return [chosen.path], departments


async def city_statistics(
    *, actor: Actor, first: date, last: date, department_id: int | None = None
) -> CityReport:
    """The actor's city over ``[first, last]`` (city-local days), for the whole city or
    the subtree of ``department_id``; a department manager sees only its subtrees."""
    require(actor, Action.STATISTICS_READ)
    _period(first, last)
    if actor.tenant_id is None or actor.province_id is None:
        raise NotFound("city")
    with use_scope(Scope.city(actor.tenant_id, actor.province_id, actor.user_id)):
        # one connection for the whole read: the scope is set once, not per statement
        async with read_transaction():
            tenant = await Tenant.get(id=actor.tenant_id)
            paths, departments = await _reading_paths(actor, department_id)
            selected = (
                None
                if paths is None
                else sorted(i for i, d in departments.items() if _within(d.path, paths))
            )
            whole, by_department = await _stored_figures(
                await city_clock(tenant), first, last, selected
            )
            overdue = await overdue_now(tenant.id, paths)
            calls = (
                await call_report(first=first, last=last, tenant_id=tenant.id)
                if paths is None
                else None
            )
        weights = city_settings(tenant).ranking_weights
        ranking = _ranked(
            ((i, departments[i].name, f) for i, f in by_department.items() if i in departments),
            weights,
        )
    return CityReport(
        tenant_id=tenant.id,
        first=first,
        last=last,
        department_id=department_id,
        figures=replace(whole, overdue_now=overdue),
        departments=ranking,
        weights=dict(weights),
        calls=calls,
    )


def statistics_province(actor: Actor, requested: int | None = None) -> int:
    """The province whose statistics ``actor`` reads: ``requested`` if given, else the
    selected city's or province's, else the one province it administers (no city
    header needed). Several administered provinces and none named: Invalid."""
    province_id = requested if requested is not None else actor.province_id
    if province_id is None and len(actor.province_admin_of) == 1:
        [province_id] = actor.province_admin_of
    if province_id is None and len(actor.province_admin_of) > 1:
        raise Invalid("you administer several provinces: name one (provinceId)", field="provinceId")
    if province_id is None:
        require(actor, Action.STATISTICS_PROVINCE_READ)  # refused unless platform operator
        raise NotFound("province")
    require(actor, Action.STATISTICS_PROVINCE_READ, province_id=province_id)
    return province_id


async def province_statistics(
    *, actor: Actor, first: date, last: date, province_id: int | None = None
) -> ProvinceReport:
    """Every city of a province over ``[first, last]`` (:func:`statistics_province`),
    under the province scope (row-level security's province policy; never across
    provinces)."""
    chosen = statistics_province(actor, province_id)
    _period(first, last)
    weights = CitySettings().ranking_weights
    with use_scope(Scope.province(chosen, actor.user_id)):
        # one connection for the whole read, as for a city
        async with read_transaction():
            tenants = await Tenant.filter(province_id=chosen).order_by("id")
            clocks = [await city_clock(tenant) for tenant in tenants]  # no statement
            rows = await province_rows(clocks, first, last)
            overdue = await overdue_by_city([t.id for t in tenants])
            everything = [row for tenant in tenants for row in rows[tenant.id]]
            cities = [
                (t.id, t.name, figures(total(rows[t.id]), overdue_now=overdue.get(t.id, 0)))
                for t in tenants
            ]
            calls = await call_report(first=first, last=last, province_id=chosen)
    return ProvinceReport(
        province_id=chosen,
        first=first,
        last=last,
        figures=figures(total(everything), overdue_now=sum(overdue.values())),
        cities=_ranked(cities, weights),
        weights=dict(weights),
        calls=calls,
    )
