"""The deadline sweep of one city, run by a worker job every minute.

Each kind of deadline is read in keyset batches over its indexed column, one status
at a time, and only in the window that passed since the last sweep (``sweep_marks``),
so a sweep costs what is new, not what is open: no scan grows with the backlog.
Everything it writes is keyed so that a repeated or concurrent sweep writes nothing
twice: notifications by their send keys, automatic supervision orders by a unique
partial index (one open per assignment), escalations by compare-and-set on the level.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.transactions import in_transaction

from hotline.platform import clock
from hotline.platform.calendar import WorkCalendar
from hotline.platform.tenancy import Scope, current_tenant_id, use_scope
from hotline.tenants.kernel.access import Action, Actor
from hotline.tenants.kernel.events import TicketEvent, publish, unit
from hotline.tenants.provinces.calendar import tenant_calendar
from hotline.tenants.provinces.models import Tenant
from hotline.tenants.provinces.settings import city_settings
from hotline.tenants.tickets.escalation import EscalationSchedule, schedule_of
from hotline.tenants.tickets.models import AssignmentStatus, Supervision, Ticket
from hotline.tenants.tickets.snapshots import snapshot
from hotline.tenants.tickets.supervision import next_escalation, record_escalated, record_opened
from hotline.tenants.tickets.sweep_marks import SweepMark
from hotline.tenants.tickets.work import Change

BATCH = 500
# Reply deadlines run while the department holds the work; sign deadlines until it signs.
REPLY_OPEN = (
    AssignmentStatus.PENDING_SIGN,
    AssignmentStatus.SIGNED,
    AssignmentStatus.RETURN_REQUESTED,
)
SIGN_OPEN = (AssignmentStatus.PENDING_SIGN,)
# The sweep acts as the system: no user, the timeline says "system".
SYSTEM = Actor(user_id=None)


@dataclass
class SweepReport:
    due_soon: int = 0
    overdue: int = 0
    supervisions_opened: int = 0
    escalated: int = 0
    sign_overdue: int = 0
    batches: int = 0


async def active_tenants() -> list[Tenant]:
    """Cities to sweep (the catalog is global; read in platform scope)."""
    with use_scope(Scope.platform()):
        return await Tenant.filter(is_active=True).order_by("id")


# One (tenant_id, status, <col>) index range, read in index order; the keyset goes on
# after the last (deadline, id) of the previous batch, starting at the watermark.
_SELECT = """
SELECT a.id, a.ticket_id, a.department_id, a.{col} AS at FROM assignments a
WHERE a.tenant_id = $1 AND a.status = $2 AND a.{col} <= $3
  AND a.{col} >= $4 AND (a.{col}, a.id) > ($4, $5) AND a.paused_at IS NULL
ORDER BY a.{col}, a.id LIMIT $6
"""
_SELECTS = {
    c: _SELECT.replace("{col}", c) for c in ("due_soon_at", "sign_deadline", "reply_deadline")
}
_NO_ID = 2**62  # starting the keyset at (watermark, this) skips rows at the watermark itself

# Tickets are locked before their records, in id order, as every change locks them: a
# sweep batch waits for a change in flight on one of its tickets (and then sees what it
# did), and a later change waits for the batch (and then sees its orders). Locking the
# supervision orders first deadlocked against a change that ended an assignment and
# closed its orders; inserting on the rows read before the lock opened orders on
# assignments a return had just ended, which then escalated until the ticket ended.
_LOCK_TICKETS = """
SELECT id FROM tickets WHERE tenant_id = $1 AND id = ANY($2::bigint[]) ORDER BY id FOR UPDATE
"""

# Only on assignments still overdue and working once their tickets are locked.
_OPEN_SUPERVISIONS = """
INSERT INTO supervisions (tenant_id, province_id, ticket_id, assignment_id, department_id,
                          level, status, reason, automatic, escalate_at, comments, created_at)
SELECT $1, $2, u.t, u.i, u.d, 1, 'open', $3, true, u.e, '[]'::jsonb, $8
FROM unnest($4::bigint[], $5::bigint[], $6::bigint[], $7::timestamptz[]) AS u(t, i, d, e)
JOIN assignments a ON a.tenant_id = $1 AND a.id = u.i
WHERE a.status = ANY($9::text[]) AND a.reply_deadline <= $8 AND a.paused_at IS NULL
ON CONFLICT (tenant_id, assignment_id) WHERE status = 'open' AND automatic DO NOTHING
RETURNING id
"""

# Read without a lock; the escalation below is a compare-and-set after the tickets' locks.
_DUE_ESCALATIONS = """
SELECT id, ticket_id, department_id, level, escalate_at
FROM supervisions
WHERE tenant_id = $1 AND status = 'open' AND escalate_at <= $2
ORDER BY escalate_at, id
LIMIT $3
"""

_ESCALATE = """
UPDATE supervisions s SET level = u.l + 1, escalate_at = u.e
FROM unnest($1::bigint[], $2::smallint[], $3::timestamptz[]) AS u(i, l, e)
WHERE s.id = u.i AND s.level = u.l AND s.status = 'open'
RETURNING s.id
"""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


async def _marks(kinds: Sequence[str]) -> dict[str, datetime]:
    rows = await SweepMark.filter(kind__in=list(kinds))
    return {r.kind: r.swept_until for r in rows}


async def _advance(tenant: Tenant, kind: str, until: datetime) -> None:
    async with in_transaction("default") as conn:
        await conn.execute_query(
            "INSERT INTO sweep_marks (tenant_id, province_id, kind, swept_until, created_at,"
            " updated_at) VALUES ($1, $2, $3, $4, now(), now())"
            " ON CONFLICT (tenant_id, kind) DO UPDATE"
            " SET swept_until = GREATEST(sweep_marks.swept_until, EXCLUDED.swept_until),"
            " updated_at = now()",
            [tenant.id, tenant.province_id, kind, until],
        )


async def rewind(*, deadlines: Sequence[datetime | None], now: datetime) -> None:
    """Work back in an open state with a deadline the sweep has already passed (a rejected
    reply, deadlines recomputed earlier): move the current city's marks back before it, so
    the next sweep looks again. Re-sweeping a window writes nothing twice (keyed writes)."""
    past = [d for d in deadlines if d is not None and d <= now]
    if past:
        before = min(past) - timedelta(microseconds=1)
        await SweepMark.filter(swept_until__gte=before).update(swept_until=before)


class _Sweep:
    def __init__(
        self, tenant: Tenant, calendar: WorkCalendar, schedule: EscalationSchedule, now: datetime
    ) -> None:
        self.tenant = tenant
        self.calendar = calendar
        self.schedule = schedule
        self.now = now
        self.report = SweepReport()

    async def window(
        self,
        kind: str,
        column: str,
        statuses: Sequence[AssignmentStatus],
        since: datetime | None,
        batch_size: int,
    ) -> None:
        sql = _SELECTS[column]
        for status in statuses:
            cursor: tuple[datetime, int] = (since, _NO_ID) if since else (_EPOCH, 0)
            while True:
                async with unit(), in_transaction("default") as conn:
                    rows = await conn.execute_query_dict(
                        sql,
                        [self.tenant.id, status.value, self.now, *cursor, batch_size],
                    )
                    if not rows:
                        break
                    self.report.batches += 1
                    await self.handle(
                        kind, rows, Change(SYSTEM, Action.TICKET_SUPERVISE, self.now, conn)
                    )
                cursor = (rows[-1]["at"], rows[-1]["id"])
                if len(rows) < batch_size:
                    break

    async def handle(self, kind: str, rows: list[dict[str, Any]], c: Change) -> None:
        if kind == "overdue":
            self.report.overdue += len(rows)
            await self.open_supervisions(rows, c)
            return
        warning = TicketEvent.DUE_SOON if kind == "due_soon" else TicketEvent.SIGN_OVERDUE
        prefix = "ds" if kind == "due_soon" else "so"
        if kind == "due_soon":
            self.report.due_soon += len(rows)
        else:
            self.report.sign_overdue += len(rows)
        tickets = {t.id: t for t in await Ticket.filter(id__in=[r["ticket_id"] for r in rows])}
        await publish(
            [
                snapshot(
                    tickets[r["ticket_id"]],
                    warning,
                    key=f"{prefix}{r['id']}.{r['at'].timestamp():.0f}",
                    at=self.now,
                    department_id=r["department_id"],
                    assignment_id=r["id"],
                )
                for r in rows
            ]
        )

    async def open_supervisions(self, rows: list[dict[str, Any]], c: Change) -> None:
        """An automatic order (level 1) on each overdue assignment that has none open;
        each recorded on its ticket's timeline like a manual one."""
        await _lock_tickets(c, self.tenant.id, [r["ticket_id"] for r in rows])
        opened = await c.conn.execute_query_dict(
            _OPEN_SUPERVISIONS,
            [
                self.tenant.id,
                self.tenant.province_id,
                "超期自动督办",
                [r["ticket_id"] for r in rows],
                [r["id"] for r in rows],
                [r["department_id"] for r in rows],
                [next_escalation(self.calendar, self.schedule, 1, r["at"]) for r in rows],
                self.now,
                [s.value for s in REPLY_OPEN],
            ],
        )
        self.report.supervisions_opened += len(opened)
        if not opened:
            return
        orders = await Supervision.filter(id__in=[o["id"] for o in opened]).order_by("id")
        tickets = await c.lock_many([o.ticket_id for o in orders])
        for order in orders:
            await record_opened(c, tickets[order.ticket_id], order)
        await c.finish(chain_only=True)  # one statement each: events, chain heads, outbox

    async def escalations(self, batch_size: int) -> None:
        while True:
            async with unit(), in_transaction("default") as conn:
                due = await conn.execute_query_dict(
                    _DUE_ESCALATIONS, [self.tenant.id, self.now, batch_size]
                )
                if not due:
                    return
                self.report.batches += 1
                c = Change(SYSTEM, Action.TICKET_SUPERVISE, self.now, conn)
                await _lock_tickets(c, self.tenant.id, [r["ticket_id"] for r in due])
                following = [
                    next_escalation(self.calendar, self.schedule, r["level"] + 1, r["escalate_at"])
                    for r in due
                ]
                raised = await conn.execute_query_dict(
                    _ESCALATE, [[r["id"] for r in due], [r["level"] for r in due], following]
                )
                self.report.escalated += len(raised)
                if raised:
                    orders = await Supervision.filter(id__in=[r["id"] for r in raised]).order_by(
                        "id"
                    )
                    tickets = await c.lock_many([o.ticket_id for o in orders])
                    for order in orders:
                        await record_escalated(c, tickets[order.ticket_id], order)
                    await c.finish(chain_only=True)
            if len(due) < batch_size:
                return


async def _lock_tickets(c: Change, tenant_id: int, ticket_ids: list[int]) -> None:
    await c.conn.execute_query(_LOCK_TICKETS, [tenant_id, sorted(set(ticket_ids))])


async def sweep_deadlines(*, now: datetime | None = None, batch_size: int = BATCH) -> SweepReport:
    """Sweep the current city: due-soon warnings, unsigned-in-time alerts to the center,
    overdue → automatic supervision (level 1), and escalation on the city's schedule."""
    tenant_id = current_tenant_id()
    with use_scope(Scope.platform()):
        tenant = await Tenant.get(id=tenant_id)
    at = now or clock.now()
    sweep = _Sweep(tenant, await tenant_calendar(tenant), schedule_of(city_settings(tenant)), at)
    kinds = (
        ("due_soon", "due_soon_at", REPLY_OPEN),
        ("sign_overdue", "sign_deadline", SIGN_OPEN),
        ("overdue", "reply_deadline", REPLY_OPEN),
    )
    marks = await _marks([k for k, _, _ in kinds])
    for kind, column, statuses in kinds:
        since = marks.get(kind)
        if since is not None and since >= at:
            continue
        await sweep.window(kind, column, statuses, since, batch_size)
        await _advance(tenant, kind, at)
    await sweep.escalations(batch_size)
    return sweep.report
