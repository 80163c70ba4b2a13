"""``overdueNow``'s partial index (statistics migration 0012) holds exactly the work the
live count reads: its predicate names the statuses of ``ACTIVE_ASSIGNMENT`` — a release
changing them needs a new index, or the count silently reads every assignment again —
and the live count's statements, as the runtime role under row-level security, are
planned on that index."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from tortoise.transactions import in_transaction

from hotline.platform.settings import Settings
from hotline.platform.tenancy import Scope, use_scope
from hotline.tenants.statistics import dashboard
from hotline.tenants.statistics.metrics import ACTIVE_ASSIGNMENT
from hotline.tenants.statistics.models import DailyStat


async def test_the_owing_index_predicate_is_the_counts_condition(db: Settings) -> None:
    with use_scope(Scope.platform()):
        [row] = await DailyStat._meta.db.execute_query_dict(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'stats_assignments_owing'"
        )
    definition = row["indexdef"]
    predicate = definition.split(" WHERE ", 1)[1]
    assert set(re.findall(r"'(\w+)'", predicate)) == set(ACTIVE_ASSIGNMENT)
    for condition in ("is_lead", "parent_id IS NULL", "paused_at IS NULL"):
        assert condition in predicate
    assert "(tenant_id, reply_deadline) INCLUDE (province_id, department_id)" in definition


async def _plan(scope: Scope, sql: str, *args: Any) -> str:
    """``sql``'s plan as the runtime role under ``scope``, sequential scans off in its
    transaction: the test database's assignments table is empty, so a plan left to its
    statistics could be anything; with them off the choice is between the indexes."""
    with use_scope(scope):
        async with in_transaction("default") as conn:
            await conn.execute_query("SET LOCAL enable_seqscan = off")
            _, rows = await conn.execute_query(f"EXPLAIN {sql}", list(args))
    return "\n".join(r["QUERY PLAN"] for r in rows)


async def test_the_live_counts_read_the_owing_index(db: Settings) -> None:
    """The statements ``overdue_now`` sends — a subtree's (city scope) and the whole
    cities' (province scope, the roll-up) — read the owing work from the index alone."""
    now = datetime.now(UTC)
    city = await _plan(Scope.city(1, 1), dashboard._OVERDUE_NOW, 1, now, ["/1/%"])
    owing = "Index Only Scan using stats_assignments_owing on assignments"
    assert owing in city, city
    cities = await _plan(Scope.province(1), dashboard._OVERDUE_NOW_CITIES, [1, 2], now)
    assert owing in cities, cities
