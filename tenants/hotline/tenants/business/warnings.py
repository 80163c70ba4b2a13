"""The warning before a service manager's first-response deadline (docs/business.md,
"Requests"): run by the per-city deadline sweep each minute. A request still waiting for
its manager (ticket ``received``, no response) whose warning time has come is marked
``warned_at`` and its manager gets one in-app message through the outbox — both in one
transaction, and the outbox's send key is the request's, so the warning goes out **once**
whatever the sweep's re-runs, crashes or concurrent schedulers."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from tortoise.transactions import in_transaction

from hotline.platform import clock, outbox
from hotline.platform.tenancy import current_scope
from hotline.tenants.provinces.models import Tenant

EVENT = "business.response_due_soon"
BATCH = 500
# Requests made before warnings existed have no warn_at: 24 hours before their deadline.
_PICK = (
    "UPDATE business_requests r SET warned_at = $1 FROM tickets t"
    " WHERE r.id IN ("
    "  SELECT q.id FROM business_requests q JOIN tickets u"
    "   ON u.tenant_id = q.tenant_id AND u.id = q.ticket_id"
    "  WHERE q.tenant_id = $2 AND q.warned_at IS NULL AND q.responded_at IS NULL"
    "   AND q.manager_id IS NOT NULL AND u.status = 'received'"
    "   AND coalesce(q.warn_at, q.response_deadline - interval '24 hours') <= $1"
    # a warning before the deadline, never after it (the overdue are supervision's)
    "   AND q.response_deadline > $1"
    "  ORDER BY q.id LIMIT $3 FOR UPDATE OF q SKIP LOCKED)"
    " AND t.tenant_id = r.tenant_id AND t.id = r.ticket_id"
    " RETURNING r.id, r.manager_id, r.response_deadline, t.number, t.title"
)


async def warn_managers(*, now: datetime | None = None, batch: int = BATCH) -> int:
    """Warn the current city's managers of their requests due soon: how many now."""
    scope = current_scope()
    tenant = await Tenant.get_or_none(id=scope.tenant_id)
    if tenant is None or not (tenant.features or {}).get("business"):
        return 0
    zone = ZoneInfo(tenant.timezone)
    moment = now or clock.now()
    warned = 0
    while True:
        async with in_transaction("default") as conn:
            rows = await conn.execute_query_dict(_PICK, [moment, tenant.id, batch])
            await outbox.add_many(
                [
                    outbox.NewMessage(
                        kind="inapp",
                        tenant_id=tenant.id,
                        province_id=tenant.province_id,
                        payload={
                            "user_id": row["manager_id"],
                            "event": EVENT,
                            "subject": f"企业诉求即将到期：{row['number']}"[:200],
                            "body": (
                                f"「{row['title'][:100]}」须在"
                                f"{row['response_deadline'].astimezone(zone):%Y-%m-%d %H:%M}"
                                "前首次响应（直接答复或派单）。"
                            ),
                            "business_request": row["id"],
                        },
                        send_key=f"business-due:{tenant.id}:{row['id']}",
                    )
                    for row in rows
                ],
                connection=conn,
            )
        warned += len(rows)
        if len(rows) < batch:
            return warned
