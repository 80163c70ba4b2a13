"""The duplicate detector's category candidates are read from the index of open tickets
(channels migration 0006): its predicate names exactly ``flow.OPEN`` — a release changing
the open statuses needs a new index, or every creation filters a busy category's closed
tickets again — and the opening statement, as the runtime role under row-level security,
is planned on it."""

from __future__ import annotations

import re

from tortoise.transactions import in_transaction

from hotline.platform.settings import Settings
from hotline.platform.tenancy import Scope, use_scope
from hotline.tenants.tickets import intake
from hotline.tenants.tickets.flow import OPEN
from hotline.tenants.tickets.models import Ticket

INDEX = "channels_tickets_category_open"


async def _indexes() -> dict[str, str]:
    with use_scope(Scope.platform()):
        rows = await Ticket._meta.db.execute_query_dict(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'tickets'"
        )
    return {r["indexname"]: r["indexdef"] for r in rows}


async def test_the_index_holds_the_open_tickets_in_the_reads_order(db: Settings) -> None:
    definition = (await _indexes())[INDEX]
    predicate = definition.split(" WHERE ", 1)[1]
    assert set(re.findall(r"'(\w+)'", predicate)) == {s.value for s in OPEN}
    assert "(tenant_id, category_id, received_at DESC, id DESC)" in definition


async def test_no_second_index_of_the_callers_tickets(db: Settings) -> None:
    callers = [d for d in (await _indexes()).values() if "(tenant_id, citizen_phone_hash" in d]
    assert len(callers) == 1, callers


async def _generic_plan(sql: str) -> str:
    """``sql``'s generic plan — the one a prepared statement may settle on, planned without
    its parameters' values — as the runtime role under row-level security, sequential
    scans off: the test table is empty, so a plan left to its statistics could be
    anything; with them off the choice is between the indexes."""
    with use_scope(Scope.city(1, 1)):
        async with in_transaction("default") as conn:
            await conn.execute_query("SET LOCAL enable_seqscan = off")
            await conn.execute_query("SET LOCAL plan_cache_mode = force_generic_plan")
            await conn.execute_query(f"PREPARE opening AS {sql}")
            try:
                _, rows = await conn.execute_query(
                    "EXPLAIN EXECUTE opening(1, 1, current_date, 1, NULL, 'caller', "
                    "now() - interval '7 days', now(), 5, 50)"
                )
            finally:
                await conn.execute_query("DEALLOCATE opening")
    return "\n".join(r["QUERY PLAN"] for r in rows)


async def test_the_opening_reads_the_category_from_the_open_index(db: Settings) -> None:
    """Even planned without its parameters: the open statuses are in the text, so the
    planner can prove the category's arm reads only rows the index holds (passed as a
    parameter, as before, the generic plan could not use it)."""
    for alone in (True, False):
        plan = await _generic_plan(intake.opening_sql(repeats=True, alone=alone))
        assert f"using {INDEX} on tickets" in plan, plan
