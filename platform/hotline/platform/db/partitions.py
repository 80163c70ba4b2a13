"""Monthly partitions of the append-only tables (docs/operations.md "Partitioning").

The tables are declared ``PARTITION BY RANGE (<a date or timestamptz column>)`` by their
migrations; the platform's migration 0003 creates the two SECURITY DEFINER functions every
one of them shares, so the runtime role (which owns no table) can keep them:
``hotline_make_month_partitions`` makes the coming months' partitions (and moves rows of
a month that had none out of the default partition), ``hotline_detach_month_partitions_of``
detaches months past retention — detached tables keep their rows, out of every query,
for the operator to archive or drop.
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from tortoise import connections

log = structlog.get_logger(__name__)

# table → its retention setting's name (months; 0 keeps every month)
MONTHLY = {
    "timeline_events": "timeline_retention_months",
    "audit_events": "audit_retention_months",
    "call_records": "call_records_retention_months",
    "outbox_delivered": "outbox_delivered_retention_months",
    "notices": "notices_retention_months",
}


@dataclass(frozen=True)
class Maintained:
    table: str
    made: int
    detached: int


async def maintain(*, months_ahead: int, retention: dict[str, int]) -> list[Maintained]:
    """Make ``months_ahead`` months of partitions beyond the current one for every
    monthly table, and detach those older than their retention (0: none)."""
    db = connections.get("default")
    done = []
    for table in MONTHLY:
        [made] = await db.execute_query_dict(
            "SELECT hotline_make_month_partitions($1, $2) AS n", [table, months_ahead]
        )
        detached = 0
        keep = retention.get(table, 0)
        if keep > 0:
            [row] = await db.execute_query_dict(
                "SELECT hotline_detach_month_partitions_of($1, $2) AS n", [table, keep]
            )
            detached = int(row["n"])
        done.append(Maintained(table, int(made["n"]), detached))
        if made["n"] or detached:
            log.info("partitions.maintained", table=table, made=made["n"], detached=detached)
    return done
