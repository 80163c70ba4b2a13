"""Plans at scale (issue 11.7): the statistics and search queries over millions of tickets.

Tickets are generated in SQL (``generate_series``, the statistics benchmark's month of
tickets and their lead assignments, with the text of real complaints: a few common
phrases, district addresses, a rarer word every 5,000 tickets and a rare one every
250,000; no ORM), in chunks until N rows (default 5,000,000) or until
``BENCH_PLANS_SECONDS`` (default 1200) of loading have passed — the size reached is
printed. The tickets' secondary indexes are dropped for the load and built again after
it, and foreign-key triggers are off meanwhile, as a restore does (each build's time
printed; the owner must be a superuser, as the benchmark's databases are). Then the
statements our code sends for keyword searches (rare, rarer, common, one character), a
number lookup, the newest tickets, a department inbox page, a month's city dashboard,
one day's recomputation and a creation in a busy category (its duplicate candidates)
are captured (as the app role, in the city's scope, RLS included) and their ``EXPLAIN``
printed (``BENCH_PLANS_LINES`` lines of each, default 24), with each step's time
(best of three) and a line saying whether any reads the tickets or assignments table
sequentially. The keyword
search's candidate function runs as its own role: its query's ``EXPLAIN ANALYZE`` is
printed as that role sees it.

``python -m benchmarks.plans [tickets]``
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import date, datetime
from typing import Any

import asyncpg
from tortoise import Tortoise

from benchmarks import statistics as stats_bench
from benchmarks.environment import bench_environment
from hotline.platform.clock import travel
from hotline.platform.db.config import credentials, init_orm
from hotline.platform.db.migrate import ensure_app_role, run_migrations
from hotline.platform.redis import close_redis
from hotline.platform.tenancy import Scope, use_scope
from hotline.tenants.channels import duplicates
from hotline.tenants.kernel.access import Actor
from hotline.tenants.kernel.roles import Role
from hotline.tenants.provinces.models import Tenant
from hotline.tenants.statistics.aggregates import city_clock, recompute_range
from hotline.tenants.statistics.dashboard import city_statistics
from hotline.tenants.tickets import intake, lists, pages, search
from hotline.tenants.tickets.models import Channel, Kind, Ticket

TICKETS = 5_000_000
CHUNK = 500_000
LINES = int(os.environ.get("BENCH_PLANS_LINES", "24"))  # of each plan, printed

# The statistics benchmark's tickets, with text to search: 10 phrases, 16 districts
# × 997 house numbers, "燃气表" in one ticket of 5,000 and "鑫源小区" in one of 250,000.
_PHRASES = [
    "小区门口路灯不亮已经三天了晚上出行不便",
    "楼上装修噪音扰民晚上十点还在施工",
    "道路积水严重影响车辆和行人出行",
    "垃圾清运不及时散发异味招来蚊蝇",
    "供暖温度不达标家里只有十五度",
    "小区物业不作为电梯经常故障",
    "商户占道经营油烟扰民",
    "公交站牌信息错误希望更正",
    "自来水浑浊发黄无法饮用",
    "共享单车乱停乱放堵塞人行道",
]
_DISTRICTS = [
    "历下区", "市中区", "槐荫区", "天桥区", "历城区", "长清区", "章丘区", "济阳区",
    "莱芜区", "钢城区", "平阴县", "商河县", "泉城路", "经十路", "解放路", "花园路",
]  # fmt: skip
_TEXT = (
    "(ARRAY['" + "','".join(_PHRASES) + "'])[1 + i % 10]"
    " || CASE WHEN i % 5000 = 3 THEN '燃气表漏气' ELSE '' END"
    " || CASE WHEN i % 250000 = 17 THEN '鑫源小区' ELSE '' END, false, false,"
    " (ARRAY['" + "','".join(_DISTRICTS) + "'])[1 + (i / 10) % 16] || (i % 997) || '号'"
)
_PLAIN_TEXT = "'bench', false, false, ''"
assert _PLAIN_TEXT in stats_bench._TICKETS
# and numbered on across chunks, spread over the month by the total
_SERIES = "FROM generate_series(1, $6) AS i"
_SPREAD = "((i - 1)::float8 / $6)"
assert _SERIES in stats_bench._TICKETS
assert _SPREAD in stats_bench._TICKETS
_TICKETS = (
    stats_bench._TICKETS.replace(_PLAIN_TEXT, _TEXT)
    .replace(_SERIES, "FROM generate_series($8::int + 1, $8::int + $6) AS i")
    .replace(_SPREAD, "((i - 1)::float8 / $9)")
)


async def _load(owner_url: str, tenant: Tenant, n: int, budget: float) -> int:
    """Chunks of tickets (then assignments) until n or budget, the tickets' and the
    assignments' secondary indexes dropped meanwhile and built again after."""
    conn = await asyncpg.connect(**credentials(owner_url))
    loaded = 0
    started = time.perf_counter()
    try:
        secondary = await stats_bench.drop_secondary_indexes(conn)
        # generated rows refer to existing cities, categories and departments: no
        # foreign-key triggers per row (pg_restore --disable-triggers does the same)
        await conn.execute("SET session_replication_role = replica")
        categories = [r["id"] for r in await conn.fetch("SELECT id FROM categories")]
        departments = [r["id"] for r in await conn.fetch("SELECT id FROM departments")]
        start = datetime(2026, 3, 1, tzinfo=stats_bench.SH)
        while loaded < n and time.perf_counter() - started < budget:
            size = min(CHUNK, n - loaded)
            await conn.execute(
                _TICKETS,
                tenant.id,
                tenant.province_id,
                categories,
                departments[1:] or departments,
                start,
                size,
                tenant.number_prefix,
                loaded,
                n,
            )
            loaded += size
        await conn.execute(stats_bench._ASSIGNMENTS, [tenant.id])
        await conn.execute("RESET session_replication_role")
        print(f"plans: {loaded:,} tickets loaded in {time.perf_counter() - started:.0f} s (SQL)")
        await stats_bench.build_secondary_indexes(conn, secondary)
        await conn.execute("ANALYZE tickets; ANALYZE assignments")
        sizes = await conn.fetchrow(
            "SELECT pg_size_pretty(pg_table_size('tickets')) AS tickets, "
            "pg_size_pretty(pg_relation_size('tickets_terms')) AS terms"
        )
        print(f"plans: tickets {sizes['tickets']}, keyword index (tickets_terms) {sizes['terms']}")
    finally:
        await conn.close()
    return loaded


# The function's queries (migration tickets/0003), as its role sees them: the candidates
# on the GIN index, then — for a common word — the walk of the received-time index.
_FOUND = """SELECT t.id FROM tickets t
WHERE hotline_ticket_terms(t.content, t.address) @@ hotline_ticket_query($1)
  AND t.tenant_id = $2 LIMIT $3"""
_WALK = """SELECT t.id FROM tickets t
WHERE t.tenant_id = $2 AND (t.content ILIKE '%' || $1 || '%' OR t.address ILIKE '%' || $1 || '%')
ORDER BY t.received_at DESC, t.id DESC LIMIT $3"""


async def _candidate_plans(owner_url: str, tenant_id: int, keyword: str) -> list[str]:
    conn = await asyncpg.connect(**credentials(owner_url))
    try:
        await conn.execute("SET ROLE hotline_ticket_search")
        # as the function's own settings do
        await conn.execute("SET enable_sort = off; SET enable_seqscan = off; SET work_mem = '32MB'")
        explain = "EXPLAIN (ANALYZE, COSTS OFF) "
        rows = await conn.fetch(explain + _FOUND, keyword, tenant_id, search.COUNTED + 1)
        lines = [r[0] for r in rows]
        found = await conn.fetchval(
            "SELECT count(*) FROM (" + _FOUND + ") AS hit",  # noqa: S608 (constants)
            keyword,
            tenant_id,
            search.COUNTED + 1,
        )
        if found > search.COUNTED:
            rows = await conn.fetch(explain + _WALK, keyword, tenant_id, 51 * search.WINDOW_PAGES)
            lines += [r[0] for r in rows]
    finally:
        await conn.close()
    return lines


async def _explain(sql: str, params: list[Any]) -> list[str]:
    db = Ticket._meta.db
    rows = await db.execute_query_dict("EXPLAIN " + sql, params)
    return [r["QUERY PLAN"] for r in rows]


async def _create(actor: Actor, category_id: int, area_id: int) -> None:
    """A phone call on the last day of the generated month, in a category with a tenth
    of its tickets (a tenth of those open): the candidates' reads must stay on their
    indexes, LIMITed, however busy the category."""
    with travel(datetime(2026, 3, 31, 12, tzinfo=stats_bench.SH)):
        await intake.create_ticket(
            actor=replace(actor, roles=frozenset({Role.AGENT})),
            channel=Channel.PHONE,
            kind=Kind.COMPLAINT,
            content=_PHRASES[0],
            address="泉城路 12 号",
            category_id=category_id,
            area_id=area_id,
            citizen_phone="13800001111",
            repeats=duplicates.REPEATS,
        )


async def _run(n: int, budget: float) -> None:
    from hotline.platform.settings import get_settings

    settings = get_settings()
    await run_migrations(settings)
    await ensure_app_role(settings)
    await init_orm(settings)
    try:
        _, (city,) = await stats_bench._world(1)
        tenant, actor, departments = city.tenant, city.actor, city.departments
        loaded = await _load(settings.database_url, tenant, n, budget)
        day = date(2026, 3, 15)
        with use_scope(Scope.city(tenant.id, tenant.province_id)):
            clock = await city_clock(tenant)

            async def find(keyword: str) -> None:
                await lists.search_tickets(
                    actor=actor, filter=lists.TicketFilter(keyword=keyword), limit=51
                )

            steps: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
                ("keyword search, rare (鑫源, 1 in 250,000)", lambda: find("鑫源")),
                (
                    "keyword search, under the cap (燃气表, 1 in 5,000)",
                    lambda: find("燃气表"),
                ),
                ("keyword search, common (路灯, 1 in 10)", lambda: find("路灯")),
                ("keyword search, one character (鑫)", lambda: find("鑫")),
                ("keyword search, one common character (灯)", lambda: find("灯")),
                ("number lookup", lambda: find("JN12345")),
                (
                    "newest tickets (received desc)",
                    lambda: lists.search_tickets(actor=actor, filter=lists.TicketFilter()),
                ),
                (
                    "department inbox page (to sign)",
                    lambda: pages.department_inbox(
                        actor=actor, department_id=departments[1], box=lists.InboxBox.TO_SIGN
                    ),
                ),
                (
                    "city dashboard, one month (stored days)",
                    lambda: city_statistics(
                        actor=actor, first=date(2026, 3, 1), last=date(2026, 3, 31)
                    ),
                ),
                ("recompute one day", lambda: recompute_range(clock, day, day)),
                (
                    "ticket creation in a busy category (the opening reads the"
                    " duplicate candidates)",
                    lambda: _create(actor, city.categories[0], departments[1]),
                ),
            ]
            print(f"\nplans at {loaded:,} tickets (EXPLAIN, app role, RLS on)")
            for label, step in steps:
                began = time.perf_counter()
                sent = await stats_bench.captured(step)
                best = time.perf_counter() - began  # cold; two more runs when short
                for _ in range(2 if best < 2 else 0):
                    began = time.perf_counter()
                    await step()
                    best = min(best, time.perf_counter() - began)
                sequential = False
                print(
                    f"\n--- {label}: {len(sent)} statement(s), "
                    f"{best * 1000:.1f} ms (best of 3 when under 2 s)"
                )
                for sql, params in sent:
                    plan = await _explain(sql, params)
                    if "hotline_ticket_search(" in sql:
                        plan.append("[its queries, as role hotline_ticket_search: EXPLAIN ANALYZE]")
                        plan += await _candidate_plans(settings.database_url, tenant.id, params[0])
                    sequential |= any(
                        "Seq Scan on tickets" in line or "Seq Scan on assignments" in line
                        for line in plan
                    )
                    print("    " + " ".join(sql.split())[:140])
                    for line in plan[:LINES]:
                        print("      " + line[:150])
                print(
                    f"    sequential read of tickets/assignments: {'YES' if sequential else 'no'}"
                )
    finally:
        await close_redis()
        await Tortoise.close_connections()


def main(tickets: int = TICKETS, *, smoke: bool = False) -> int:
    budget = float(os.environ.get("BENCH_PLANS_SECONDS", "1200"))
    with bench_environment(need_s3=False):
        asyncio.run(_run(20_000 if smoke else tickets, budget))
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else TICKETS))
