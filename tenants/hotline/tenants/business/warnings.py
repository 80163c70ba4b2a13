"""The warning before a service manager's first-response deadline (docs/business.md,
"Requests"): run by the per-city deadline sweep each minute. A request still waiting for
its manager (ticket ``received``, no response) whose warning time has come is marked
``warned_at`` and its manager gets one in-app message through the outbox — both in one
transaction, and the outbox's send key is the request's, so the warning goes out **once**
whatever the sweep's re-runs, crashes or concurrent schedulers.

A request nobody manages (its enterprise had no manager at submission, or the manager no
longer serves) warns the city's supervisors instead (``unassigned``), one message each
with a send key of the request and the person."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.transactions import in_transaction

from hotline.platform import clock, outbox
from hotline.platform.tenancy import current_scope
from hotline.tenants.business.unassigned import serving, supervisors
from hotline.tenants.provinces.models import Tenant

EVENT = "business.response_due_soon"
UNMANAGED_EVENT = "business.unmanaged_response_due_soon"
BATCH = 500
# Requests made before warnings existed have no warn_at: 24 hours before their deadline.
_PICK = (
    "UPDATE business_requests r SET warned_at = $1 FROM tickets t"
    " WHERE r.id IN ("
    "  SELECT q.id FROM business_requests q JOIN tickets u"
    "   ON u.tenant_id = q.tenant_id AND u.id = q.ticket_id"
    "  WHERE q.tenant_id = $2 AND q.warned_at IS NULL AND q.responded_at IS NULL"
    "   AND u.status = 'received'"
    "   AND coalesce(q.warn_at, q.response_deadline - interval '24 hours') <= $1"
    # a warning before the deadline, never after it (the overdue are supervision's)
    "   AND q.response_deadline > $1"
    "  ORDER BY q.id LIMIT $3 FOR UPDATE OF q SKIP LOCKED)"
    " AND t.tenant_id = r.tenant_id AND t.id = r.ticket_id"
    " RETURNING r.id, r.manager_id, r.response_deadline, t.number, t.title"
)


def _message(
    tenant: Tenant, row: dict[str, Any], user_id: int, zone: ZoneInfo, *, unmanaged: bool
) -> outbox.NewMessage:
    due = f"{row['response_deadline'].astimezone(zone):%Y-%m-%d %H:%M}"
    title = row["title"][:100]
    if unmanaged:
        subject = f"无人负责的企业诉求即将到期：{row['number']}"
        body = (
            f"「{title}」的企业没有服务专员，须在{due}前首次响应"
            "（直接答复或派单），或为该企业指定服务专员。"
        )
        key = f"business-due:{tenant.id}:{row['id']}:{user_id}"
    else:
        subject = f"企业诉求即将到期：{row['number']}"
        body = f"「{title}」须在{due}前首次响应（直接答复或派单）。"
        key = f"business-due:{tenant.id}:{row['id']}"
    return outbox.NewMessage(
        kind="inapp",
        tenant_id=tenant.id,
        province_id=tenant.province_id,
        payload={
            "user_id": user_id,
            "event": UNMANAGED_EVENT if unmanaged else EVENT,
            "subject": subject[:200],
            "body": body,
            "business_request": row["id"],
        },
        send_key=key,
    )


async def warn_managers(*, now: datetime | None = None, batch: int = BATCH) -> int:
    """Warn the current city's managers of their requests due soon (the supervisors of the
    requests nobody manages): how many requests now."""
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
            managers = await serving(r["manager_id"] for r in rows)
            unmanaged = [r for r in rows if r["manager_id"] not in managers]
            fallback = await supervisors() if unmanaged else []
            messages = [
                _message(tenant, r, r["manager_id"], zone, unmanaged=False)
                for r in rows
                if r["manager_id"] in managers
            ]
            messages += [
                _message(tenant, r, user_id, zone, unmanaged=True)
                for r in unmanaged
                for user_id in fallback
            ]
            await outbox.add_many(messages, connection=conn)
        warned += len(rows)
        if len(rows) < batch:
            return warned
