"""``overdueNow``'s partial index (statistics migration 0012) holds exactly the work the
live count reads: its predicate names the statuses of ``ACTIVE_ASSIGNMENT`` — a release
changing them needs a new index, or the count silently reads every assignment again."""

from __future__ import annotations

import re

from hotline.platform.settings import Settings
from hotline.platform.tenancy import Scope, use_scope
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
