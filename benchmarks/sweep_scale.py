"""The deadline sweep's scaling shape (issue 11.7): its time at 1,000,000 open work orders
against 100,000, with the same work due.

Each size is a city of its own in one database, its open tickets and lead assignments
generated in SQL (``generate_series``): a fixed number overdue (2,000) and the rest
spread over a horizon growing with the backlog (30 days per 100,000), so the sweep
finds the same number of due-soon and overdue rows at both sizes and only the backlog
differs — the sweep should cost what is due, not what is open. Printed per size: load
time, the first sweep (no watermark), a steady sweep one minute later and one an hour
later, with the ratio of the large size's time to the small one's (aim ≤ 2×).

``python -m benchmarks.sweep_scale [small] [large]``
"""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import UTC, datetime, timedelta

import asyncpg
from tortoise import Tortoise

from benchmarks.environment import bench_environment
from hotline.platform.db.config import credentials, init_orm
from hotline.platform.db.migrate import ensure_app_role, run_migrations
from hotline.platform.redis import close_redis
from hotline.platform.settings import get_settings
from hotline.platform.tenancy import Scope, use_scope
from hotline.tenants.accounts.models import Membership, User
from hotline.tenants.departments.models import Department, DepartmentKind
from hotline.tenants.kernel.roles import Role
from hotline.tenants.provinces.models import Province, Tenant
from hotline.tenants.tickets.sweep import sweep_deadlines

SIZES = (100_000, 1_000_000)
OVERDUE = 2_000
DEPARTMENTS = 20
PER_100K = timedelta(days=30)
BASE = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)  # Tue 10:00 in Shanghai

# $1 tenant, $2 province, $3 departments, $4 n, $5 overdue, $6 base, $7 horizon (seconds)
_TICKETS = """
INSERT INTO tickets (tenant_id, province_id, created_at, updated_at, number, query_code_hash,
  channel, kind, priority, status, title, content, anonymous, confidential, address,
  received_at, direct_answer, public_reply, revisit_attempts, reopen_count, urge_count,
  reject_reason, timeline_seq, timeline_hash, version, reply_deadline, due_soon_at, area_id)
SELECT $1::bigint, $2::bigint, $6::timestamptz, $6::timestamptz, 'S' || i, 'x', 'phone',
  'complaint', 'normal', 'accepted', '', '测试工单内容', false, false, '',
  $6::timestamptz - interval '3 days', false, '', 0, 0, 0, '', 0, '', 0, d,
  d - interval '1 day', ($3::bigint[])[1 + i % array_length($3::bigint[], 1)]
FROM (SELECT i, CASE WHEN i < $5::int THEN $6::timestamptz - (60 + i) * interval '1 second'
                     ELSE $6::timestamptz + (60 + ((i::bigint * 7919) % $4::int)::float8
                          / $4::int * $7::float8) * interval '1 second' END AS d
      FROM generate_series(0, $4::int - 1) AS i) s
"""
_ASSIGNMENTS = """
INSERT INTO assignments (tenant_id, province_id, ticket_id, department_id, is_lead, status,
  round, reply_deadline, due_soon_at, extended_days, reply, return_reason, version,
  created_at, updated_at)
SELECT tenant_id, province_id, id, area_id, true, 'signed', 1, reply_deadline, due_soon_at,
  0, '', '', 0, created_at, created_at
FROM tickets WHERE tenant_id = $1
"""


async def _city(slug: str) -> Tenant:
    with use_scope(Scope.platform()):
        province = await Province.get_or_none(slug="shandong") or await Province.create(
            code="370000", slug="shandong", name="山东省"
        )
        tenant = await Tenant.create(
            province=province, code=slug[-6:], slug=slug, name=slug, number_prefix="JN"
        )
    with use_scope(Scope.city(tenant.id, province.id)):
        for i in range(DEPARTMENTS):
            d = await Department.create(kind=DepartmentKind.BUREAU, name=f"局{i}", path="/")
            with use_scope(Scope.platform()):
                user = await User.create(
                    username=f"{slug}-mgr{i}", display_name=f"负责人{i}", email=f"{slug}{i}@x.cn"
                )
            await Membership.create(user_id=user.id, role=Role.DEPT_MANAGER, department_id=d.id)
    return tenant


async def _load(tenant: Tenant, n: int, overdue: int) -> float:
    conn = await asyncpg.connect(**credentials(get_settings().database_url))
    started = time.perf_counter()
    try:
        departments = [
            r["id"]
            for r in await conn.fetch("SELECT id FROM departments WHERE tenant_id = $1", tenant.id)
        ]
        horizon = PER_100K.total_seconds() * n / 100_000
        await conn.execute(
            _TICKETS, tenant.id, tenant.province_id, departments, n, overdue, BASE, horizon
        )
        await conn.execute(_ASSIGNMENTS, tenant.id)
        await conn.execute("ANALYZE tickets; ANALYZE assignments")
    finally:
        await conn.close()
    return time.perf_counter() - started


async def _run(sizes: tuple[int, ...], overdue: int) -> None:
    settings = get_settings()
    await run_migrations(settings)
    await ensure_app_role(settings)
    await init_orm(settings)
    results: dict[int, list[float]] = {}
    try:
        print(
            f"{'open orders':>12} {'load s':>7} {'first s':>8} {'+1 min s':>9} {'+1 h s':>7} "
            f"{'overdue':>8} {'due soon':>9}"
        )
        for n in sizes:
            tenant = await _city(f"c{n:07d}")
            loaded = await _load(tenant, n, overdue)
            times: list[float] = []
            first = None
            for now in (BASE, BASE + timedelta(minutes=1), BASE + timedelta(hours=1)):
                t = time.perf_counter()
                with use_scope(Scope.city(tenant.id, tenant.province_id)):
                    report = await sweep_deadlines(now=now)
                times.append(time.perf_counter() - t)
                first = first or report
            results[n] = times
            assert first is not None
            print(
                f"{n:12,} {loaded:7.1f} {times[0]:8.2f} {times[1]:9.3f} {times[2]:7.2f} "
                f"{first.overdue:8} {first.due_soon:9}"
            )
        small, large = sizes[0], sizes[-1]
        ratios = " / ".join(
            f"{b / a:.2f}×" for a, b in zip(results[small], results[large], strict=True)
        )
        print(f"time at {large:,} ÷ time at {small:,} (first / +1 min / +1 h): {ratios}")
        print("(aim: ≤ 2× — the sweep reads index ranges of what is due, not the backlog)")
    finally:
        await close_redis()
        await Tortoise.close_connections()


def main(small: int = SIZES[0], large: int = SIZES[1], *, smoke: bool = False) -> int:
    with bench_environment(need_s3=False):
        asyncio.run(_run((2_000, 8_000), 50) if smoke else _run((small, large), OVERDUE))
    return 0


if __name__ == "__main__":
    sys.exit(main(*(int(a) for a in sys.argv[1:3])))
