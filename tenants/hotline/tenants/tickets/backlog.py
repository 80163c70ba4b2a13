"""The current city's backlog for the deployment-state gauges (``hotline_work_orders_*``).

Read by the minute sweep job, never per scrape: one index-only count over
``tickets_queue`` (tenant_id, status, reply_deadline), so it costs what is open.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from hotline.platform.tenancy import current_tenant_id
from hotline.tenants.tickets.models import Status, Ticket

OPEN = tuple(
    s.value
    for s in (
        Status.RECEIVED,
        Status.DISPATCHED,
        Status.ACCEPTED,
        Status.RETURNED,
        Status.REPLIED,
        Status.REVISIT,
        Status.REOPENED,
    )
)
# Open and still waiting for the departments' reply: these can be past the deadline.
AWAITING_REPLY = tuple(
    s.value for s in (Status.DISPATCHED, Status.ACCEPTED, Status.RETURNED, Status.REOPENED)
)

_COUNT = """
SELECT count(*) AS open,
       count(*) FILTER (WHERE status = ANY($3::text[]) AND reply_deadline < $4) AS overdue
FROM tickets WHERE tenant_id = $1 AND status = ANY($2::text[])
"""


@dataclass(frozen=True)
class Backlog:
    open: int
    overdue: int


async def backlog(now: datetime) -> Backlog:
    rows = await Ticket._meta.db.execute_query_dict(
        _COUNT, [current_tenant_id(), list(OPEN), list(AWAITING_REPLY), now]
    )
    return Backlog(open=int(rows[0]["open"]), overdue=int(rows[0]["overdue"]))
