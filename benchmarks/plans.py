"""Plans at scale (issue 11.7): the statistics and search queries over millions of tickets.

Tickets are generated in SQL (``generate_series``, the statistics benchmark's month of
tickets and their lead assignments; no ORM), in chunks until N rows (default 5,000,000)
or until ``BENCH_PLANS_SECONDS`` (default 300) of loading have passed — the size reached
is printed. Then the statements our code sends for a keyword search, a number lookup,
the newest tickets, a department inbox page, a month's city dashboard and one day's
recomputation are captured (as the app role, in the city's scope, RLS included) and
their ``EXPLAIN`` printed, with a line saying whether any reads the tickets or
assignments table sequentially.

``python -m benchmarks.plans [tickets]``
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any

import asyncpg
from tortoise import Tortoise

from benchmarks import statistics as stats_bench
from benchmarks.environment import bench_environment
from hotline.platform.db.config import credentials, init_orm
from hotline.platform.db.migrate import ensure_app_role, run_migrations
from hotline.platform.redis import close_redis
from hotline.platform.tenancy import Scope, use_scope
from hotline.tenants.statistics.aggregates import city_clock, recompute_range
from hotline.tenants.statistics.dashboard import city_statistics
from hotline.tenants.tickets import lists, pages
from hotline.tenants.tickets.models import Ticket

TICKETS = 5_000_000
CHUNK = 250_000


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


async def _captured(step: Callable[[], Awaitable[Any]]) -> list[tuple[str, list[Any]]]:
    capture = _Capture()
    log = logging.getLogger("tortoise.db_client")
    log.addHandler(capture)
    log.setLevel(logging.DEBUG)
    try:
        await step()
    finally:
        log.removeHandler(capture)
    return capture.sent


async def _load(owner_url: str, tenant_id: int, province_id: int, n: int, budget: float) -> int:
    """Chunks of the statistics benchmark's tickets (then assignments) until n or budget."""
    conn = await asyncpg.connect(**credentials(owner_url))
    loaded = 0
    started = time.perf_counter()
    try:
        categories = [r["id"] for r in await conn.fetch("SELECT id FROM categories")]
        departments = [r["id"] for r in await conn.fetch("SELECT id FROM departments")]
        start = datetime(2026, 3, 1, tzinfo=stats_bench.SH)
        while loaded < n and time.perf_counter() - started < budget:
            size = min(CHUNK, n - loaded)
            await conn.execute(
                stats_bench._TICKETS,
                tenant_id,
                province_id,
                categories,
                departments[1:] or departments,
                start,
                size,
            )
            loaded += size
        await conn.execute(stats_bench._ASSIGNMENTS, tenant_id)
        await conn.execute("ANALYZE tickets; ANALYZE assignments")
    finally:
        await conn.close()
    print(f"plans: {loaded:,} tickets loaded in {time.perf_counter() - started:.0f} s (SQL)")
    return loaded


async def _explain(sql: str, params: list[Any]) -> list[str]:
    db = Ticket._meta.db
    rows = await db.execute_query_dict("EXPLAIN " + sql, params)
    return [r["QUERY PLAN"] for r in rows]


async def _run(n: int, budget: float) -> None:
    from hotline.platform.settings import get_settings

    settings = get_settings()
    await run_migrations(settings)
    await ensure_app_role(settings)
    await init_orm(settings)
    try:
        tenant, actor, _, departments = await stats_bench._world()
        loaded = await _load(settings.database_url, tenant.id, tenant.province_id, n, budget)
        day = date(2026, 3, 15)
        with use_scope(Scope.city(tenant.id, tenant.province_id)):
            clock = await city_clock(tenant)

            async def search(keyword: str) -> None:
                await lists.search_tickets(
                    actor=actor, filter=lists.TicketFilter(keyword=keyword), limit=51
                )

            steps: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
                ("keyword search (words of the content)", lambda: search("路灯")),
                ("number lookup", lambda: search("JN12345")),
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
            ]
            print(f"\nplans at {loaded:,} tickets (EXPLAIN, app role, RLS on)")
            for label, step in steps:
                sent = await _captured(step)
                sequential = False
                print(f"\n--- {label}: {len(sent)} statement(s)")
                for sql, params in sent:
                    plan = await _explain(sql, params)
                    sequential |= any(
                        "Seq Scan on tickets" in line or "Seq Scan on assignments" in line
                        for line in plan
                    )
                    print("    " + " ".join(sql.split())[:140])
                    for line in plan[:14]:
                        print("      " + line[:150])
                print(
                    f"    sequential read of tickets/assignments: {'YES' if sequential else 'no'}"
                )
    finally:
        await close_redis()
        await Tortoise.close_connections()


def main(tickets: int = TICKETS, *, smoke: bool = False) -> int:
    budget = float(os.environ.get("BENCH_PLANS_SECONDS", "300"))
    with bench_environment(need_s3=False):
        asyncio.run(_run(20_000 if smoke else tickets, budget))
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else TICKETS))
