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

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
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
from hotline.tenants.provinces.models import Tenant
from hotline.tenants.provinces.settings import CitySettings, city_settings
from hotline.tenants.statistics import dashboard_cache
from hotline.tenants.statistics.aggregates import CityClock, city_clock, compute_days
from hotline.tenants.statistics.calls import CallReport, call_report
from hotline.tenants.statistics.metrics import (
    ACTIVE_ASSIGNMENT,
    COUNTS,
    SECONDS,
    Figures,
    figures,
    total,
)
from hotline.tenants.statistics.metrics import score as composite

MAX_DAYS = 366
log = structlog.get_logger(__name__)
# Roles that see the whole city's figures; a department manager sees its subtrees.
_WHOLE_CITY = frozenset({Role.TENANT_ADMIN, Role.CITY_LEADER, Role.SUPERVISOR})


@dataclass(frozen=True)
class Ranked:
    """A department or a city with its figures, composite score and place (1 = best)."""

    id: int
    name: str
    figures: Figures
    score: float | None
    rank: int


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


async def period_rows(city: CityClock, first: date, last: date) -> list[dict[str, Any]]:
    """The city's daily rows of ``[first, last]``: stored for ended, clean days; live
    for dirty days and today. Runs in the caller's scope (city or province)."""
    today = city.today()
    last = min(last, today)
    if last < first:
        return []
    ended = min(last, today - timedelta(days=1))
    dirty_rows = await read_connection().execute_query_dict(
        "SELECT day FROM stats_dirty_days WHERE tenant_id = $1 AND day >= $2 AND day <= $3",
        [city.tenant_id, first, ended],
    )
    dirty = sorted(r["day"] for r in dirty_rows)
    rows: list[dict[str, Any]] = []
    if first <= ended:
        rows.extend(await _stored(city.tenant_id, first, ended, dirty))
    live = [*dirty, *([today] if last == today else [])]
    for day in live:
        for (_, department_id, category_id, channel), totals in (
            await compute_days(city, day, day)
        ).items():
            row = totals.as_row()
            row.update(department_id=department_id, category_id=category_id, channel=channel)
            rows.append(row)
    return rows


_SUMS = ", ".join(
    [*(f"sum({c})::int AS {c}" for c in COUNTS), *(f"sum({c})::bigint AS {c}" for c in SECONDS)]
)
_WHERE = "tenant_id = $1 AND day >= $2 AND day <= $3 AND NOT (day = ANY ($4::date[]))"
_STORED_COUNTS = (
    f"SELECT department_id, {_SUMS} FROM stats_daily_departments WHERE {_WHERE} GROUP BY 1"
)
# The three maps (the breakdown and the two working-time histograms) summed per
# department and key in one statement: a few rows per department, whatever the volume.
_STORED_MAPS = " UNION ALL ".join(
    f"SELECT department_id, '{column}' AS map, e.key, sum(e.value::int)::int AS n "
    f"FROM stats_daily_departments CROSS JOIN LATERAL jsonb_each_text({column}) e "
    f"WHERE {_WHERE} GROUP BY 1, 3"
    for column in ("received_by", "sign_hist", "reply_hist")
)


async def _stored(
    tenant_id: int, first: date, last: date, dirty: list[date]
) -> list[dict[str, Any]]:
    """The stored days of ``[first, last]`` but ``dirty``, summed per department from the
    per-department table (one row per department and day, whatever the volume)."""
    db = read_connection()
    params: list[Any] = [tenant_id, first, last, dirty]
    rows = {
        r["department_id"]: dict(r) for r in await db.execute_query_dict(_STORED_COUNTS, params)
    }
    for r in rows.values():
        r.update(received_by={}, sign_hist={}, reply_hist={})
    for r in await db.execute_query_dict(_STORED_MAPS, params):
        rows[r["department_id"]][r["map"]][r["key"]] = r["n"]
    return list(rows.values())


_OVERDUE_NOW = f"""
SELECT count(*) AS n FROM assignments a
JOIN departments d ON d.tenant_id = a.tenant_id AND d.id = a.department_id
WHERE a.tenant_id = $1 AND a.is_lead AND a.parent_id IS NULL AND a.paused_at IS NULL
  AND a.status IN ({", ".join(f"'{s}'" for s in ACTIVE_ASSIGNMENT)}) AND a.reply_deadline < $2
  AND ($3::text[] IS NULL OR d.path LIKE ANY ($3::text[]))"""


_OVERDUE_NOW_CITY = f"""
SELECT count(*) AS n FROM assignments a
WHERE a.tenant_id = $1 AND a.is_lead AND a.parent_id IS NULL AND a.paused_at IS NULL
  AND a.status IN ({", ".join(f"'{s}'" for s in ACTIVE_ASSIGNMENT)}) AND a.reply_deadline < $2"""


async def overdue_now(tenant_id: int, paths: Sequence[str] | None) -> int:
    """Open top-level lead assignments past their reply deadline now (not suspended)."""
    db = read_connection()
    if paths is None:  # the whole city: no department to match
        rows = await db.execute_query_dict(_OVERDUE_NOW_CITY, [tenant_id, clock.now()])
    else:
        patterns = [f"{p}%" for p in paths]
        rows = await db.execute_query_dict(_OVERDUE_NOW, [tenant_id, clock.now(), patterns])
    return int(rows[0]["n"])


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
    return [Ranked(i, n, f, s, place) for place, (i, n, f, s) in enumerate(scored, start=1)]


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
            everything: list[dict[str, Any]] = []
            cities: list[tuple[int, str, Figures]] = []
            overdue_total = 0
            for tenant in tenants:
                rows = await period_rows(await city_clock(tenant), first, last)
                overdue = await overdue_now(tenant.id, None)
                overdue_total += overdue
                everything.extend(rows)
                cities.append((tenant.id, tenant.name, figures(total(rows), overdue_now=overdue)))
            calls = await call_report(first=first, last=last, province_id=chosen)
    return ProvinceReport(
        province_id=chosen,
        first=first,
        last=last,
        figures=figures(total(everything), overdue_now=overdue_total),
        cities=_ranked(cities, weights),
        weights=dict(weights),
        calls=calls,
    )
