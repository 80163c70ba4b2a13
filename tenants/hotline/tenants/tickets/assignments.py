"""An assignment's lifecycle inside a change: its checked transitions, the lead a ticket
follows, the deadlines the ticket shows, and the end of a round (every active assignment
closed or cancelled, with the open work that belonged to it).
"""

from __future__ import annotations

from typing import Any, cast

from tortoise.expressions import F

from hotline.tenants.tickets import access, flow
from hotline.tenants.tickets.flow import AssignmentAction as AA
from hotline.tenants.tickets.models import Assignment, AssignmentStatus, Ticket
from hotline.tenants.tickets.work import Change, settle_assignments


async def save_assignment(assignment: Assignment, action: AA, **changes: Any) -> None:
    assignment.status = flow.check_assignment(assignment.status, action)
    assignment.update_from_dict(changes)
    assignment.version += 1
    await assignment.save(force_update=True)


def is_top_lead(assignment: Assignment) -> bool:
    return assignment.is_lead and assignment.parent_id is None


async def lead_of(ticket: Ticket) -> Assignment | None:
    lead: Assignment | None = (
        await access.assignments_of(ticket)
        .filter(is_lead=True, parent_id=None)
        .order_by("-round")
        .first()
    )
    return lead


def copy_deadlines(ticket: Ticket, lead: Assignment | None) -> None:
    """The ticket shows its lead assignment's deadlines (none when no lead works on it)."""
    ticket.sign_deadline = lead.sign_deadline if lead else None
    ticket.reply_deadline = lead.reply_deadline if lead else None
    ticket.due_soon_at = lead.due_soon_at if lead else None


async def end_assignments(c: Change, ticket: Ticket, action: AA, *, reason: str) -> int:
    """Close or cancel every active assignment of the ticket (all rounds, all levels);
    their open work (pending extension requests, supervision orders) is settled with
    ``reason`` on the timeline (nobody works on them any more)."""
    target = AssignmentStatus.CLOSED if action is AA.CLOSE else AssignmentStatus.CANCELLED
    ids = cast(
        list[int],
        await access.assignments_of(ticket)
        .filter(status__in=list(flow.ACTIVE))
        .order_by("id")
        .values_list("id", flat=True),
    )
    if ids:
        await (
            access.assignments_of(ticket)
            .filter(id__in=ids)
            .update(status=target, version=F("version") + 1)
        )
    await settle_assignments(c, ticket, ids, reason=reason)
    return len(ids)


async def end_subtree(c: Change, ticket: Ticket, root: Assignment, *, reason: str) -> list[int]:
    """``root`` stopped working (returned, recalled): what it sub-dispatched below it and
    is still active is cancelled too — there is no one left to reply to — and the open
    work of all of them is settled. Returns the cancelled descendants' ids."""
    descendants: list[int] = []
    parents = [root.id]
    while parents:
        children = cast(
            list[int],
            await access.assignments_of(ticket)
            .filter(parent_id__in=parents, status__in=list(flow.ACTIVE))
            .order_by("id")
            .values_list("id", flat=True),
        )
        descendants += children
        parents = children
    if descendants:
        await (
            access.assignments_of(ticket)
            .filter(id__in=descendants)
            .update(status=AssignmentStatus.CANCELLED, version=F("version") + 1)
        )
    await settle_assignments(c, ticket, [root.id, *descendants], reason=reason)
    return descendants
