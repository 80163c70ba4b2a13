"""The one preamble of every change to work orders, the moves it is made of, and the
open work (pending extension requests, supervision orders) that must not outlive what it
belongs to. An assignment's lifecycle is :mod:`.assignments`; what the domain events
carry of a ticket is :mod:`.snapshots`.

::

    async with change(actor, Action.TICKET_DISPATCH) as c:
        ticket = await c.lock(ticket_id)
        await c.move(ticket, FA.DISPATCH, ...)

:func:`change` checks the permission, sets the actor's city as the scope (the
connection's row-level-security settings are fixed when the transaction acquires it),
opens the transaction, and at the end saves every ticket it locked or created (version
+1) and publishes the recorded domain events (:mod:`hotline.tenants.kernel.events`) with
the tickets as they stand then — inside the transaction for what must commit with the
change (notifications in the outbox), after the commit for live pushes.

Tickets are locked (``SELECT … FOR UPDATE``) before their assignments, and several
tickets in id order, so two changes never deadlock; the second of two concurrent
changes sees the first one's result and gets :class:`~.flow.IllegalTransition`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from tortoise.backends.base.client import BaseDBAsyncClient

from hotline.platform import clock, outbox
from hotline.platform.db.transactions import First, transaction_after
from hotline.platform.tenancy import Scope, use_scope
from hotline.tenants.kernel.access import Action, Actor, require
from hotline.tenants.kernel.errors import NotFound
from hotline.tenants.kernel.events import TicketChanged, TicketEvent, publish, unit
from hotline.tenants.tickets import access, flow, timeline
from hotline.tenants.tickets.flow import Action as FA
from hotline.tenants.tickets.models import (
    Assignment,
    ExtensionRequest,
    ExtensionStatus,
    Supervision,
    SupervisionStatus,
    Suspension,
    Ticket,
    TimelineEvent,
)
from hotline.tenants.tickets.snapshots import departments_of, snapshot

# Records of a ticket that are locked through it.
R = TypeVar("R", Supervision, Suspension)


@dataclass(frozen=True)
class _Recorded:
    kind: TicketEvent
    ticket: Ticket
    event: TimelineEvent | None
    department_id: int | None
    assignment_id: int | None
    reason: str
    data: dict[str, Any]


class Change:
    """One unit of work: the actor, the moment, the tickets it holds, the events it made."""

    def __init__(
        self, actor: Actor, permission: Action, now: datetime, conn: BaseDBAsyncClient
    ) -> None:
        self.actor = actor
        self.conn = conn
        self.permission = permission
        self.now = now
        self._tickets: dict[int, Ticket] = {}
        self._recorded: list[_Recorded] = []
        self.outbox: list[outbox.NewMessage] = []  # written with the handlers' rows
        self.opened: Any = None  # what the change's opening statement returned, if any

    # --- what the change holds -----------------------------------------------------

    def hold(self, ticket: Ticket) -> Ticket:
        """Save ``ticket`` at the end of the change (one it created, say). A ticket not yet
        written (its id taken from the sequence) is inserted then, before its events."""
        self._tickets[ticket.id] = ticket
        return ticket

    async def write_now(self, ticket: Ticket) -> None:
        """Insert a held ticket the change created *now*, as :meth:`finish` would have
        (version + 1, its chain head as recorded so far), with the events recorded for
        it so far (one statement), and let go of it: records written before the end (the
        intake pipeline's) may refer to the row, and no second write of it follows. Only
        for a ticket the change alters no further."""
        ticket.version += 1
        events = [
            r.event
            for r in self._recorded
            if r.event is not None and r.event.id is None and r.ticket is ticket
        ]
        await timeline.insert_many(self.conn, events, [ticket])
        del self._tickets[ticket.id]

    async def lock(self, ticket_id: int, paths: list[str] | None = None) -> Ticket:
        return self.hold(await access.lock_ticket(self.actor, ticket_id, paths))

    async def lock_many(self, ticket_ids: list[int]) -> dict[int, Ticket]:
        """Many tickets of the current city locked in one statement, in id order (as
        every change locks them: no deadlock); missing ones are left out."""
        locked = (
            await Ticket.filter(id__in=sorted(set(ticket_ids))).order_by("id").select_for_update()
        )
        return {t.id: self.hold(t) for t in locked}

    async def lock_record(
        self, model: type[R], record_id: int, missing: NotFound, paths: list[str] | None = None
    ) -> tuple[Ticket, R]:
        """A record of a ticket (supervision order, suspension …), locked after its
        ticket; ``missing`` (the record's own NotFound) when either is missing or out of
        reach."""
        found = await model.get_or_none(id=record_id)
        if found is None:
            raise missing
        try:
            ticket = await self.lock(found.ticket_id, paths)
        except NotFound:
            raise missing from None
        record = await model.filter(id=record_id).select_for_update().first()
        if record is None:
            raise missing
        return ticket, record

    async def lock_assignment(
        self, assignment_id: int, action: Action = Action.TICKET_HANDLE
    ) -> tuple[Ticket, Assignment]:
        ticket, assignment = await access.lock_for_handling(self.actor, assignment_id, action)
        return self.hold(ticket), assignment

    # --- the timeline and the state machine ------------------------------------------

    async def record(
        self,
        ticket: Ticket,
        kind: TicketEvent,
        *,
        permission: Action | None = None,
        from_status: str | None = None,
        to_status: str | None = None,
        department_id: int | None = None,
        assignment_id: int | None = None,
        reason: str = "",
        data: dict[str, Any] | None = None,
        actor_role: str | None = None,
    ) -> TimelineEvent:
        """Append one timeline event (hash-chained) and remember it for the handlers; the
        events of the change are written together when it finishes (one statement)."""
        event = timeline.prepare(
            ticket,
            action=kind.value,
            at=self.now,
            actor_id=self.actor.user_id,
            actor_role=(
                actor_role
                if actor_role is not None
                else access.acting_role(self.actor, permission or self.permission)
            ),
            from_status=ticket.status.value if from_status is None else from_status,
            to_status=ticket.status.value if to_status is None else to_status,
            department_id=department_id,
            assignment_id=assignment_id,
            reason=reason,
            data=data,
        )
        self._recorded.append(
            _Recorded(
                kind,
                ticket,
                event,
                department_id,
                assignment_id,
                reason,
                event.data,
            )
        )
        return event

    async def move(
        self,
        ticket: Ticket,
        action: FA,
        *,
        event: TicketEvent | None = None,
        permission: Action | None = None,
        reason: str = "",
        assignment: Assignment | None = None,
        department_id: int | None = None,
        data: dict[str, Any] | None = None,
        stage: bool = True,
    ) -> TimelineEvent:
        """Check and apply one ticket transition, stamp its stage, record the event."""
        old = ticket.status
        new = flow.check(old, action)
        ticket.status = new
        if stage and new is not old and new in flow.STAGE_FIELD:
            setattr(ticket, flow.STAGE_FIELD[new], self.now)
        recorded = await self.record(
            ticket,
            event or TicketEvent(action.value),
            permission=permission,
            from_status=old.value,
            to_status=new.value,
            department_id=assignment.department_id if assignment is not None else department_id,
            assignment_id=assignment.id if assignment is not None else None,
            reason=reason,
            data=data,
        )
        if new in flow.FINAL and old not in flow.FINAL:
            await settle_open_work(self, ticket)
        return recorded

    # --- the end of the change -----------------------------------------------------------

    async def finish(self, *, chain_only: bool = False) -> None:
        """Write the recorded events, save the held tickets (version + 1) and publish.
        ``chain_only``: the change touched nothing of its tickets but their timelines (a
        sweep batch), so their chain heads are written in one statement for all."""
        tickets = sorted(self._tickets.values(), key=lambda t: t.id)
        for ticket in tickets:
            ticket.version += 1
        new = [t for t in tickets if not t._saved_in_db]
        # new tickets and every event in one statement (a ticket before its events)
        await timeline.insert_many(
            self.conn, [r.event for r in self._recorded if r.event and r.event.id is None], new
        )
        tickets = [t for t in tickets if t not in new]
        if chain_only:
            await _save_chain_heads(self.conn, tickets)
        else:
            for ticket in tickets:
                await ticket.save(force_update=True)
        await publish(await self.snapshots(), self.outbox)

    async def snapshots(self) -> list[TicketChanged]:
        held = await departments_of([r.ticket for r in self._recorded], settings=True)
        out: list[TicketChanged] = []
        for r in self._recorded:
            lead, departments = held.get(r.ticket.id, (None, ()))
            out.append(
                snapshot(
                    r.ticket,
                    r.kind,
                    key=f"tl{r.event.id}" if r.event else "",
                    at=self.now,
                    department_id=r.department_id if r.department_id is not None else lead,
                    assignment_id=r.assignment_id,
                    timeline_event_id=r.event.id if r.event else None,
                    actor_user_id=self.actor.user_id,
                    reason=r.reason,
                    data=r.data,
                    departments=departments,
                )
            )
        return out


_CHAIN_HEADS = """
UPDATE tickets t SET timeline_seq = u.s, timeline_hash = u.h, version = u.v, updated_at = $5
FROM unnest($1::bigint[], $2::int[], $3::text[], $4::int[]) AS u(i, s, h, v)
WHERE t.id = u.i
"""


async def _save_chain_heads(conn: BaseDBAsyncClient, tickets: list[Ticket]) -> None:
    if not tickets:
        return
    now = clock.now()
    await conn.execute_query(
        _CHAIN_HEADS,
        [
            [t.id for t in tickets],
            [t.timeline_seq for t in tickets],
            [t.timeline_hash for t in tickets],
            [t.version for t in tickets],
            now,
        ],
    )
    for ticket in tickets:
        ticket.updated_at = now


@asynccontextmanager
async def change(
    actor: Actor,
    permission: Action,
    *,
    checked: bool = False,
    scope: Scope | None = None,
    now: datetime | None = None,
    opening: First[Any] | None = None,
) -> AsyncIterator[Change]:
    """The preamble: permission (unless the caller ``checked`` it), scope, transaction;
    then the tickets saved and the events published. ``scope`` replaces the actor's city
    (a transfer runs in its province's); ``now``: the change's moment, when the caller
    took it before (a creation's number and first reads). ``opening``: a statement that
    commits on its own before the transaction, on its connection
    (:func:`~hotline.platform.db.transactions.transaction_after`; a creation's number) —
    what it returned is :attr:`Change.opened`; when it raises, nothing began."""
    if not checked:
        require(actor, permission)
    scoped = use_scope(scope) if scope is not None else access.city_scope(actor)
    with scoped:
        async with unit(), transaction_after(opening) as (conn, opened):
            work = Change(actor, permission, now or clock.now(), conn)
            work.opened = opened
            yield work
            await work.finish()


# --- open work of a ticket that no longer applies (docs/tickets.md "Open work") -------


async def withdraw_extensions(
    c: Change, ticket: Ticket, *, reason: str, assignment_ids: list[int] | None = None
) -> int:
    """Withdraw the ticket's pending extension requests (of ``assignment_ids`` only, if
    given), each with an ``extension_withdrawn`` timeline event: an assignment that
    replied, came back or ended asks for no more time, and a supervisor cannot decide a
    request whose assignment no longer works."""
    # Explicit tenant filter: also used under the province scope of a transfer.
    query = ExtensionRequest.across_tenants().filter(
        tenant_id=ticket.tenant_id, ticket_id=ticket.id, status=ExtensionStatus.PENDING.value
    )
    if assignment_ids is not None:
        query = query.filter(assignment_id__in=assignment_ids)
    pending = await query.order_by("id").select_for_update()
    if not pending:
        return 0
    departments = dict(
        await Assignment.across_tenants()
        .filter(tenant_id=ticket.tenant_id, id__in=[r.assignment_id for r in pending])
        .values_list("id", "department_id")
    )
    for request in pending:
        request.status = ExtensionStatus.WITHDRAWN.value
        request.decided_at, request.decision_note = c.now, reason
        await request.save(update_fields=["status", "decided_at", "decision_note"])
        await c.record(
            ticket,
            TicketEvent.EXTENSION_WITHDRAWN,
            department_id=departments.get(request.assignment_id),
            assignment_id=request.assignment_id,
            reason=reason,
            data={"request": request.id, "working_days": request.working_days},
        )
    return len(pending)


async def close_supervisions(
    c: Change, ticket: Ticket, *, reason: str, assignment_ids: list[int] | None = None
) -> int:
    """Close the ticket's open supervision orders (those aimed at ``assignment_ids`` only,
    if given), each with a ``supervision_closed`` timeline event naming ``reason``
    (``data.automatic``: closed because what it supervised ended, not by a supervisor);
    the sweep no longer escalates them."""
    # Explicit tenant filter: also used under the province scope of a transfer.
    query = Supervision.across_tenants().filter(
        tenant_id=ticket.tenant_id, ticket_id=ticket.id, status=SupervisionStatus.OPEN.value
    )
    if assignment_ids is not None:
        query = query.filter(assignment_id__in=assignment_ids)
    orders = await query.order_by("id").select_for_update()
    for order in orders:
        order.status, order.closed_at = SupervisionStatus.CLOSED.value, c.now
        order.closed_by_id = c.actor.user_id
        order.escalate_at = None
        await order.save(update_fields=["status", "closed_at", "closed_by_id", "escalate_at"])
        await c.record(
            ticket,
            TicketEvent.SUPERVISION_CLOSED,
            department_id=order.department_id,
            assignment_id=order.assignment_id,
            reason=reason,
            data={"supervision": order.id, "level": order.level, "automatic": True},
        )
    return len(orders)


async def settle_assignments(
    c: Change, ticket: Ticket, assignment_ids: list[int], *, reason: str
) -> None:
    """Assignments that stopped working (returned, recalled, cancelled, closed) keep no
    pending extension request and no open supervision order: a supervision is aimed at a
    department's handling, and a department that no longer handles the ticket cannot be
    pressed for it (the next department's work gets its own order, by hand or by the
    sweep when it is late)."""
    if assignment_ids:
        await withdraw_extensions(c, ticket, reason=reason, assignment_ids=assignment_ids)
        await close_supervisions(c, ticket, reason=reason, assignment_ids=assignment_ids)


async def settle_open_work(c: Change, ticket: Ticket) -> None:
    """A ticket that reached a final status (closed, cancelled, merged, transferred,
    refused) keeps no open supervision order and no pending extension request."""
    reason = f"the ticket is {ticket.status.value}"
    await withdraw_extensions(c, ticket, reason=reason)
    await close_supervisions(c, ticket, reason=reason)
