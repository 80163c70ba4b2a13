"""What the domain events carry of a ticket: :func:`snapshot` builds one
:class:`~hotline.tenants.kernel.events.TicketChanged`, :func:`departments_of` reads the
departments every snapshot of a change names (one read per city for all its tickets).
Used by :mod:`.work` at the end of a change and by :mod:`.sweep` for its warnings.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from hotline.platform.tenancy import current_scope
from hotline.tenants.kernel.events import TicketChanged, TicketEvent
from hotline.tenants.notifications import rules
from hotline.tenants.tickets.models import Assignment, AssignmentStatus, Ticket


def snapshot(
    ticket: Ticket,
    kind: TicketEvent,
    *,
    key: str,
    at: datetime,
    departments: tuple[int, ...] = (),
    **more: Any,
) -> TicketChanged:
    return TicketChanged(
        kind=kind,
        key=key,
        tenant_id=ticket.tenant_id,
        province_id=ticket.province_id,
        ticket_id=ticket.id,
        number=ticket.number,
        status=ticket.status.value,
        title=ticket.title,
        content=ticket.content,
        anonymous=ticket.anonymous,
        citizen_phone_enc=ticket.citizen_phone_enc,
        sign_deadline=ticket.sign_deadline,
        reply_deadline=ticket.reply_deadline,
        occurred_at=at,
        departments=departments,
        channel=str(ticket.channel),
        **more,
    )


# The assignments of a city's tickets with the notifier's settings of the city beside
# them (notifications.rules.SETTINGS_COLUMNS), in one read: the change's notifier, which
# runs next, does not read them again.
_HELD_AND_SETTINGS = """
SELECT <settings>, (
  SELECT COALESCE(json_agg(json_build_object('ticket_id', ticket_id,
      'department_id', department_id, 'is_lead', is_lead, 'parent_id', parent_id,
      'round', round, 'status', status)), '[]'::json)
  FROM assignments WHERE tenant_id = $1 AND ticket_id = ANY($2::bigint[])
) AS held
""".replace("<settings>", rules.SETTINGS_COLUMNS)


async def departments_of(
    tickets: list[Ticket], *, settings: bool = False
) -> dict[int, tuple[int | None, tuple[int, ...]]]:
    """Per ticket, the current lead department and every assigned department: one read
    per city for all the tickets (never-dispatched ones have none). ``settings``: the
    read also carries the city's notifier settings (when it is the scope's city), for
    the change's notifier."""
    by_city: dict[int, set[int]] = {}
    for t in tickets:
        if t.dispatched_at is not None:
            by_city.setdefault(t.tenant_id, set()).add(t.id)
    rows: list[dict[str, Any]] = []
    for tenant_id, ids in by_city.items():
        if settings and current_scope().tenant_id == tenant_id:
            found = (
                await Assignment._meta.db.execute_query_dict(
                    _HELD_AND_SETTINGS, [tenant_id, sorted(ids)]
                )
            )[0]
            rules.remember_settings(tenant_id, found)
            held = found["held"]
            rows += json.loads(held) if isinstance(held, str | bytes) else held
            continue
        # Explicit tenant filter: also used under the province scope of a transfer.
        rows += (
            await Assignment.across_tenants()
            .filter(tenant_id=tenant_id, ticket_id__in=sorted(ids))
            .values("ticket_id", "department_id", "is_lead", "parent_id", "round", "status")
        )
    grouped: dict[int, list[dict[str, Any]]] = {}
    for r in rows:
        grouped.setdefault(r["ticket_id"], []).append(r)
    out: dict[int, tuple[int | None, tuple[int, ...]]] = {}
    for ticket_id, mine in grouped.items():
        leads = sorted(
            (
                r
                for r in mine
                if r["is_lead"]
                and r["parent_id"] is None
                and r["status"] != AssignmentStatus.CANCELLED
            ),
            key=lambda r: r["round"],
        )
        lead = int(leads[-1]["department_id"]) if leads else None
        out[ticket_id] = (lead, tuple(sorted({int(r["department_id"]) for r in mine})))
    return out
