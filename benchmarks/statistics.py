"""Statistics: a city dashboard for one month (every metric, department ranking) read
from the daily aggregates, against one plain SQL aggregate over the same month's
tickets, and the province roll-up over every city against the same plain aggregate over
the province's month — each measured in the same run on the same database.

N tickets (default 5,000,000; ``--smoke`` 5,000) are written straight into the tables
(``INSERT … SELECT generate_series``, not the ORM) for March 2026, spread evenly over
C cities of one province (default 14; each: 20 departments, 10 categories, 4
channels), with their lead assignments — the tickets' and assignments' secondary indexes
dropped first and built after the load, foreign-key triggers off meanwhile, as a restore
does, then vacuumed and analysed (the state autovacuum keeps a served table in); every
city's month of aggregates is then built by the repair command's function
(``recompute_range``, the real recompute path; its rate is reported), and one city-day
is recomputed as the worker does it, timed, with the scan lines of its statements'
plans. The baseline connects as the database owner with explicit
``tenant_id`` filters (no RLS hook): the most favourable raw setup.

The city dashboard (the first city) is measured twice: the **first read** (the closed
month's cache entry deleted before each run: the month's monthly rows — one per
department, written by the recompute with the days — read and summed once their version
is checked against the days') and the **repeated read** (the entry kept: what every
reader after the first gets until a day of the month is recomputed), each as a ratio
against the plain aggregate of the same run. Both include ``overdueNow``, counted live.
The province roll-up (never cached; every city's monthly rows) is measured against the
plain aggregate over all the province's tickets of the month.

``python -m benchmarks.statistics [tickets] [repeats] [cities]``
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from tortoise import Tortoise

from benchmarks.environment import bench_environment
from hotline.platform.db.config import credentials, init_orm
from hotline.platform.db.migrate import ensure_app_role, run_migrations
from hotline.platform.redis import close_redis, redis_client, tenant_key
from hotline.platform.settings import Settings, get_settings
from hotline.platform.tenancy import Scope, use_scope
from hotline.tenants.categories.models import Category
from hotline.tenants.departments.models import Department, DepartmentKind
from hotline.tenants.kernel.access import Actor
from hotline.tenants.kernel.roles import Role
from hotline.tenants.provinces.calendar import seed_official_calendar
from hotline.tenants.provinces.models import Province, Tenant
from hotline.tenants.statistics.aggregates import city_clock, recompute_range
from hotline.tenants.statistics.dashboard import city_statistics, province_statistics

TICKETS = 5_000_000
SMOKE_TICKETS = 5_000
REPEATS = 10
CITIES = 14
FIRST, LAST = date(2026, 3, 1), date(2026, 3, 31)
SH = ZoneInfo("Asia/Shanghai")

# Every ticket of the month, its lead assignment, its outcome: one INSERT … SELECT each.
_TICKETS = """
INSERT INTO tickets (tenant_id, province_id, created_at, updated_at, number, query_code_hash,
  channel, kind, priority, status, title, content, anonymous, confidential, address,
  category_id, area_id, received_at, answered_at, closed_at, revisited_at, direct_answer,
  public_reply, satisfaction, revisit_attempts, reopen_count, urge_count, reject_reason,
  timeline_seq, timeline_hash, version)
SELECT $1, $2, r, r, $7 || i, md5($7 || i),
  (ARRAY['phone','web','wechat','app'])[1 + i % 4],
  (ARRAY['complaint','consultation','help','suggestion','report','praise'])[1 + i % 6],
  CASE WHEN i % 50 = 0 THEN 'urgent' ELSE 'normal' END,
  CASE WHEN i % 20 = 0 THEN 'closed' WHEN i % 10 < 7 THEN 'closed' WHEN i % 10 = 7
       THEN 'revisit' WHEN i % 10 = 8 THEN 'dispatched' ELSE 'cancelled' END,
  '', 'bench', false, false, '', ($3::bigint[])[1 + (i / 7) % 10], ($4::bigint[])[1 + (i / 3) % 20],
  r, CASE WHEN i % 20 = 0 THEN r + interval '5 minutes' END,
  CASE WHEN i % 20 = 0 THEN r + interval '5 minutes' WHEN i % 10 < 7
       THEN r + interval '2 days' WHEN i % 10 = 9 THEN r + interval '1 hour' END,
  CASE WHEN i % 20 <> 0 AND i % 10 < 7 THEN r + interval '2 days' END,
  i % 20 = 0, '',
  CASE WHEN i % 20 <> 0 AND i % 10 < 7
       THEN (ARRAY['satisfied', 'basically_satisfied', 'satisfied', 'unsatisfied',
                   'unreachable'])[1 + i % 5]
  END, 0, 0, 0, '', 0, '', 0
FROM (SELECT i, $5::timestamptz + ((i - 1)::float8 / $6) * interval '31 days' AS r
      FROM generate_series(1, $6) AS i) s"""

_ASSIGNMENTS = """
INSERT INTO assignments (tenant_id, province_id, created_at, updated_at, ticket_id,
  department_id, is_lead, status, round, sign_deadline, reply_deadline, extended_days,
  signed_at, replied_at, reply, return_reason, version)
SELECT t.tenant_id, t.province_id, t.received_at + interval '20 minutes', now(), t.id,
  t.area_id, true,
  CASE WHEN t.status = 'dispatched' THEN 'pending_sign' WHEN t.status = 'cancelled'
       THEN 'cancelled' ELSE 'closed' END, 1,
  t.received_at + interval '4 hours', t.received_at + interval '5 days', 0,
  CASE WHEN t.status IN ('closed', 'revisit')
       THEN t.received_at + interval '20 minutes' + (t.id % 300) * interval '1 minute' END,
  CASE WHEN t.status IN ('closed', 'revisit')
       THEN t.received_at + interval '20 minutes' + (t.id % 9) * interval '14 hours' END,
  '', '', 0
FROM tickets t WHERE t.tenant_id = ANY($1::bigint[]) AND NOT t.direct_answer"""

# The baseline: one aggregate a hand-written report would run over the month's tickets.
_PLAIN = """
SELECT channel, count(*) AS received,
  count(*) FILTER (WHERE direct_answer) AS direct,
  count(*) FILTER (WHERE status = 'closed') AS closed,
  count(*) FILTER (WHERE satisfaction IN ('satisfied', 'basically_satisfied')) AS good,
  count(*) FILTER (WHERE satisfaction IN ('satisfied', 'basically_satisfied', 'unsatisfied'))
    AS graded
FROM tickets WHERE tenant_id = $1 AND received_at >= $2 AND received_at < $3
GROUP BY channel"""

# The same over the province: per city and channel.
_PLAIN_PROVINCE = """
SELECT tenant_id, channel, count(*) AS received,
  count(*) FILTER (WHERE direct_answer) AS direct,
  count(*) FILTER (WHERE status = 'closed') AS closed,
  count(*) FILTER (WHERE satisfaction IN ('satisfied', 'basically_satisfied')) AS good,
  count(*) FILTER (WHERE satisfaction IN ('satisfied', 'basically_satisfied', 'unsatisfied'))
    AS graded
FROM tickets WHERE tenant_id = ANY($1::bigint[]) AND received_at >= $2 AND received_at < $3
GROUP BY tenant_id, channel"""


# The tickets' and assignments' indexes other than their constraints' (primary key,
# unique (tenant_id, id), ...): dropped for a load and built again after it, as a restore
# does — maintaining them row by row (the keyword search's GIN expression index above
# all, tickets migration 0003) is most of a load's time.
_SECONDARY = """
SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS definition
FROM pg_index i LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid
WHERE i.indrelid = $1::regclass AND c.oid IS NULL ORDER BY 1"""


async def drop_secondary_indexes(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """Drop the tickets' and assignments' secondary indexes (the owner's connection);
    returns their definitions for :func:`build_secondary_indexes`."""
    secondary = [
        *await conn.fetch(_SECONDARY, "tickets"),
        *await conn.fetch(_SECONDARY, "assignments"),
    ]
    for index in secondary:
        await conn.execute(f"DROP INDEX {index['name']}")
    return secondary


async def build_secondary_indexes(
    conn: asyncpg.Connection, secondary: list[asyncpg.Record]
) -> None:
    await conn.execute("SET maintenance_work_mem = '512MB'")
    for index in secondary:
        began = time.perf_counter()
        await conn.execute(index["definition"])
        print(f"  index {index['name']} built in {time.perf_counter() - began:.1f} s", flush=True)
    await conn.execute("RESET maintenance_work_mem")


class _Capture(logging.Handler):
    """The SELECTs Tortoise logs (``<sql>: [params]``), with their parameters."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.sent: list[tuple[str, list[Any]]] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.args and len(record.args) == 2:
            sql, params = record.args
            if str(sql).lstrip().upper().startswith(("SELECT", "WITH")):
                self.sent.append(
                    (str(sql), list(params) if isinstance(params, (list, tuple)) else [])
                )


async def captured(step: Callable[[], Awaitable[Any]]) -> list[tuple[str, list[Any]]]:
    capture = _Capture()
    log = logging.getLogger("tortoise.db_client")
    log.addHandler(capture)
    log.setLevel(logging.DEBUG)
    try:
        await step()
    finally:
        log.removeHandler(capture)
    return capture.sent


async def explain_day(tenant: Tenant, day: date) -> float:
    """One day's recompute of ``tenant`` (the worker's unit), timed, and the plan of
    each statement it reads with (as the app role, in the city's scope, RLS on): the
    scan lines, so a sequential read of a big table shows."""
    with use_scope(Scope.city(tenant.id, tenant.province_id)):
        clock = await city_clock(tenant)
        began = time.perf_counter()
        sent = await captured(lambda: recompute_range(clock, day, day))
        took = time.perf_counter() - began
        print(f"  one day's recompute ({day}, {tenant.slug}): {took * 1000:.0f} ms")
        db = Tenant._meta.db
        for sql, params in sent:
            plan = [r["QUERY PLAN"] for r in await db.execute_query_dict("EXPLAIN " + sql, params)]
            print("    " + " ".join(sql.split())[:110])
            for line in plan:
                if "Scan" in line:
                    print("      " + line.strip()[:130])
    return took


@dataclass
class BenchCity:
    tenant: Tenant
    actor: Actor
    categories: list[int]
    departments: list[int]


async def _city(province: Province, n: int) -> BenchCity:
    with use_scope(Scope.platform()):
        tenant = await Tenant.create(
            province=province,
            code=f"37{n + 1:02d}00",
            slug=f"city{n}",
            name=f"City {n}",
            number_prefix=f"C{n:02d}",
        )
    with use_scope(Scope.city(tenant.id, province.id)):
        center = await Department.create(kind=DepartmentKind.CENTER, name="中心", path="/")
        center.path = f"/{center.id}/"
        await center.save(update_fields=["path"])
        departments = []
        for d in range(20):
            row = await Department.create(
                parent=center, kind=DepartmentKind.BUREAU, name=f"部门{d}", path="/", depth=1
            )
            row.path = f"{center.path}{row.id}/"
            await row.save(update_fields=["path"])
            departments.append(row.id)
        categories = []
        for c in range(10):
            cat = await Category.create(name=f"类别{c}", path="/")
            cat.path = f"/{cat.id}/"
            await cat.save(update_fields=["path"])
            categories.append(cat.id)
    actor = Actor(
        user_id=1,
        tenant_id=tenant.id,
        province_id=province.id,
        roles=frozenset({Role.CITY_LEADER}),
    )
    return BenchCity(tenant, actor, categories, departments)


async def _world(cities: int) -> tuple[Province, list[BenchCity]]:
    with use_scope(Scope.platform()):
        province = await Province.create(code="370000", slug="shandong", name="Shandong")
    with use_scope(Scope.province(province.id)):
        await seed_official_calendar(province_id=province.id, since_year=2026)
    return province, [await _city(province, n) for n in range(cities)]


async def _timed(repeats: int, read: Callable[[], Awaitable[object]]) -> float:
    began = time.perf_counter()
    for _ in range(repeats):
        await read()
    return (time.perf_counter() - began) / repeats


async def measure(settings: Settings, tickets: int, repeats: int, cities: int) -> dict[str, Any]:
    province, bench = await _world(cities)
    each = tickets // cities
    pool = await asyncpg.create_pool(**credentials(settings.database_url), min_size=1, max_size=2)
    start_of_month = datetime.combine(FIRST, datetime.min.time(), tzinfo=SH)
    end_of_month = datetime(2026, 4, 1, tzinfo=SH)
    try:
        async with pool.acquire() as conn:
            began = time.perf_counter()
            secondary = await drop_secondary_indexes(conn)
            # generated rows refer to existing cities, categories and departments: no
            # foreign-key triggers per row (pg_restore --disable-triggers does the same)
            await conn.execute("SET session_replication_role = replica")
            for c in bench:
                t = c.tenant
                await conn.execute(
                    _TICKETS,
                    t.id,
                    t.province_id,
                    c.categories,
                    c.departments,
                    start_of_month,
                    each,
                    t.number_prefix,
                )
                print(f"  loaded {t.slug} ({time.perf_counter() - began:.0f} s)", flush=True)
            await conn.execute(_ASSIGNMENTS, [c.tenant.id for c in bench])
            await conn.execute("RESET session_replication_role")
            print(f"  loaded the assignments ({time.perf_counter() - began:.0f} s)", flush=True)
            await build_secondary_indexes(conn, secondary)
            # the state autovacuum keeps a served table in (pg_restore leaves it to the
            # operator's `vacuumdb --analyze`): statistics and the visibility map, without
            # which an index-only scan (overdueNow's) reads the heap row by row
            await conn.execute("VACUUM (ANALYZE) tickets")
            await conn.execute("VACUUM (ANALYZE) assignments")
            loaded = time.perf_counter() - began
            size = await conn.fetchval(
                "SELECT pg_size_pretty(pg_total_relation_size('tickets') "
                "+ pg_total_relation_size('assignments'))"
            )
        began = time.perf_counter()
        for c in bench:
            with use_scope(Scope.city(c.tenant.id, province.id)):
                days = await recompute_range(await city_clock(c.tenant), FIRST, LAST)
            print(f"  recomputed {c.tenant.slug} ({time.perf_counter() - began:.0f} s)", flush=True)
        recompute = time.perf_counter() - began
        async with pool.acquire() as conn:
            await conn.execute(
                "ANALYZE stats_daily; ANALYZE stats_daily_departments; "
                "ANALYZE stats_monthly_departments"
            )
        day_s = await explain_day(bench[0].tenant, date(2026, 3, 15))
        async with pool.acquire() as conn:
            stored = await conn.fetchval("SELECT count(*) FROM stats_daily")
        city = bench[0]
        report = await city_statistics(actor=city.actor, first=FIRST, last=LAST)
        assert report.figures.totals.received == each, report.figures.totals.received
        cached = tenant_key(city.tenant.id, "stats", "*")

        async def first_read() -> None:
            async for key in redis_client().scan_iter(match=cached):
                await redis_client().delete(key)
            await city_statistics(actor=city.actor, first=FIRST, last=LAST)

        async def repeated_read() -> None:
            await city_statistics(actor=city.actor, first=FIRST, last=LAST)

        cold = await _timed(repeats, first_read)
        warm = await _timed(repeats, repeated_read)
        admin = Actor(user_id=1, province_admin_of=frozenset({province.id}))

        async def rollup() -> None:
            await province_statistics(actor=admin, first=FIRST, last=LAST)

        whole = await province_statistics(actor=admin, first=FIRST, last=LAST)
        assert whole.figures.totals.received == each * cities
        assert len(whole.cities) == cities
        province_s = await _timed(max(1, repeats // 2), rollup)
        ids = [c.tenant.id for c in bench]
        async with pool.acquire() as conn:
            rows = await conn.fetch(_PLAIN, city.tenant.id, start_of_month, end_of_month)
            assert sum(r["received"] for r in rows) == each

            async def plain_city() -> None:
                await conn.fetch(_PLAIN, city.tenant.id, start_of_month, end_of_month)

            async def plain_province() -> None:
                await conn.fetch(_PLAIN_PROVINCE, ids, start_of_month, end_of_month)

            plain = await _timed(repeats, plain_city)
            plain_all = await _timed(max(1, repeats // 2), plain_province)
    finally:
        await pool.close()
    return {
        "tickets": each * cities,
        "cities": cities,
        "per_city": each,
        "size": size,
        "load_s": loaded,
        "recompute_days": days * cities,
        "recompute_s": recompute,
        "day_s": day_s,
        "stored_rows": float(stored),
        "dashboard_ms": warm * 1000,
        "cold_ms": cold * 1000,
        "plain_ms": plain * 1000,
        "province_ms": province_s * 1000,
        "plain_province_ms": plain_all * 1000,
    }


def report(figures: dict[str, Any]) -> None:
    print("statistics: city dashboard (one month, every metric) vs one plain SQL aggregate")
    print(
        f"  {int(figures['tickets']):,} tickets in {int(figures['cities'])} cities "
        f"({int(figures['per_city']):,} a city-month; tickets + assignments "
        f"{figures['size']}) loaded in {figures['load_s']:.1f} s; "
        f"{int(figures['recompute_days'])} city-days recomputed in "
        f"{figures['recompute_s']:.1f} s "
        f"({figures['tickets'] / figures['recompute_s']:,.0f} tickets/s) -> "
        f"{int(figures['stored_rows']):,} daily rows; one city-day recomputed in "
        f"{figures['day_s'] * 1000:.0f} ms"
    )
    plain = figures["plain_ms"]
    print(
        f"  city: plain aggregate {plain:.1f} ms; dashboard first read "
        f"{figures['cold_ms']:.1f} ms (ratio {figures['cold_ms'] / plain:.2f}), repeated "
        f"read {figures['dashboard_ms']:.1f} ms (ratio {figures['dashboard_ms'] / plain:.2f})"
        " (below 1: the dashboard is cheaper)"
    )
    province = figures["plain_province_ms"]
    print(
        f"  province ({int(figures['cities'])} cities): plain aggregate {province:.1f} ms; "
        f"roll-up {figures['province_ms']:.1f} ms "
        f"(ratio {figures['province_ms'] / province:.2f})"
    )


async def _run(settings: Settings, tickets: int, repeats: int, cities: int) -> None:
    await run_migrations(settings)
    await ensure_app_role(settings)
    await init_orm(settings)
    try:
        report(await measure(settings, tickets, repeats, cities))
    finally:
        await close_redis()
        await Tortoise.close_connections()


def main(
    tickets: int = TICKETS, repeats: int = REPEATS, cities: int = CITIES, *, smoke: bool = False
) -> int:
    with bench_environment(need_s3=False):
        asyncio.run(_run(get_settings(), SMOKE_TICKETS if smoke else tickets, repeats, cities))
    return 0


if __name__ == "__main__":
    smoke = "--smoke" in sys.argv
    args = [int(a) for a in sys.argv[1:4] if a.isdigit()]
    sys.exit(main(*args, smoke=smoke))
