"""Work-order lists: center queues and search, one keyset page each; the boxes of a
department inbox (read by ``pages.department_inbox``).

A :class:`Cursor` is the sort value and the id of the last row seen, so pages stay
stable while new tickets arrive. Department roles see only tickets with an assignment
inside their subtree (:mod:`.access`); the center sees the whole city.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from tortoise.expressions import Q, Subquery
from tortoise.models import Model
from tortoise.queryset import QuerySet

from hotline.platform import clock
from hotline.tenants.categories.models import Category
from hotline.tenants.departments.models import Department
from hotline.tenants.kernel.access import Action, Actor, require
from hotline.tenants.kernel.errors import Invalid, NotFound
from hotline.tenants.tickets import search
from hotline.tenants.tickets.access import reading_paths, visible
from hotline.tenants.tickets.models import (
    Assignment,
    AssignmentStatus,
    Channel,
    Kind,
    Status,
    Supervision,
    Suspension,
    SuspensionStatus,
    Ticket,
)

M = TypeVar("M", bound=Model)


# Ticket states whose lead assignment runs against a reply deadline.
WORKING = frozenset({Status.DISPATCHED, Status.ACCEPTED})
# Ticket states the center still has to act on (or that are in the departments' hands).
OPEN = frozenset(
    {
        Status.RECEIVED,
        Status.DISPATCHED,
        Status.ACCEPTED,
        Status.RETURNED,
        Status.REPLIED,
        Status.REVISIT,
        Status.REOPENED,
    }
)
OPEN_ASSIGNMENT = frozenset(
    {AssignmentStatus.PENDING_SIGN, AssignmentStatus.SIGNED, AssignmentStatus.RETURN_REQUESTED}
)


class InboxBox(enum.StrEnum):
    TO_SIGN = "to_sign"
    IN_PROGRESS = "in_progress"
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"
    RETURNED = "returned"  # sub-dispatches the department below sent back
    SUSPENDED = "suspended"  # paused while the ticket is suspended (挂起)


class CenterQueue(enum.StrEnum):
    UNASSIGNED = "unassigned"  # received, returned, reopened: to dispatch or answer
    REVIEW = "review"  # replied: to review
    REVISIT = "revisit"  # to call the citizen back
    SUPERVISION = "supervision"  # with an open supervision order
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"
    SUSPENSION_REQUESTED = "suspension_requested"  # a department asks to suspend
    SUSPENDED = "suspended"  # clocks paused


class TicketSort(enum.StrEnum):
    RECEIVED_DESC = "received_desc"
    DEADLINE_ASC = "deadline_asc"


@dataclass(frozen=True)
class Cursor:
    """The last row of the previous page: its sort value (None = no deadline) and id."""

    value: datetime | None
    id: int


@dataclass(frozen=True)
class TicketFilter:
    statuses: Sequence[Status] = ()
    kinds: Sequence[Kind] = ()
    channels: Sequence[Channel] = ()
    category_id: int | None = None  # the category or any below it
    area_id: int | None = None  # the area department or any below it
    received_from: datetime | None = None
    received_to: datetime | None = None  # exclusive
    keyword: str | None = None  # in the number, the content or the address
    overdue: bool | None = None


# --- pure rules -------------------------------------------------------------------------


def is_overdue(ticket: Ticket, now: datetime) -> bool:
    if ticket.status not in WORKING:
        return False
    if ticket.reply_deadline is not None and ticket.reply_deadline < now:
        return True
    return (
        ticket.status is Status.DISPATCHED
        and ticket.sign_deadline is not None
        and ticket.sign_deadline < now
    )


def is_due_soon(ticket: Ticket, now: datetime) -> bool:
    return (
        ticket.status in WORKING
        and ticket.due_soon_at is not None
        and ticket.due_soon_at <= now
        and not is_overdue(ticket, now)
    )


def assignment_overdue(assignment: Assignment, now: datetime) -> bool:
    if assignment.status not in OPEN_ASSIGNMENT or assignment.paused_at is not None:
        return False
    if assignment.reply_deadline < now:
        return True
    return (
        assignment.status is AssignmentStatus.PENDING_SIGN
        and assignment.sign_deadline is not None
        and assignment.sign_deadline < now
    )


def assignment_due_soon(assignment: Assignment, now: datetime) -> bool:
    return (
        assignment.status in OPEN_ASSIGNMENT
        and assignment.due_soon_at is not None
        and assignment.due_soon_at <= now
        and not assignment_overdue(assignment, now)
    )


def _keyset_received(query: QuerySet[Ticket], after: Cursor | None) -> QuerySet[Ticket]:
    if after is not None and after.value is not None:
        query = query.filter(
            Q(received_at__lt=after.value) | Q(received_at=after.value, id__lt=after.id)
        )
    return query.order_by("-received_at", "-id")


def _keyset_deadline(query: QuerySet[M], after: Cursor | None) -> QuerySet[M]:
    """Deadline ascending, rows without a deadline last."""
    if after is not None:
        if after.value is None:
            query = query.filter(reply_deadline__isnull=True, id__gt=after.id)
        else:
            query = query.filter(
                Q(reply_deadline__gt=after.value)
                | Q(reply_deadline=after.value, id__gt=after.id)
                | Q(reply_deadline__isnull=True)
            )
    return query.order_by("reply_deadline", "id")


def _sorted(query: QuerySet[Ticket], sort: TicketSort, after: Cursor | None) -> QuerySet[Ticket]:
    if sort is TicketSort.DEADLINE_ASC:
        return _keyset_deadline(query, after)
    return _keyset_received(query, after)


def ticket_cursor(ticket: Ticket, sort: TicketSort) -> Cursor:
    value = ticket.reply_deadline if sort is TicketSort.DEADLINE_ASC else ticket.received_at
    return Cursor(value=value, id=ticket.id)


def _overdue_q(now: datetime) -> Q:
    return Q(status__in=list(WORKING)) & (
        Q(reply_deadline__lt=now) | Q(status=Status.DISPATCHED, sign_deadline__lt=now)
    )


def _due_soon_q(now: datetime) -> Q:
    return (
        Q(status__in=list(WORKING), due_soon_at__lte=now)
        & ~Q(reply_deadline__lt=now)
        & ~Q(status=Status.DISPATCHED, sign_deadline__lt=now)
    )


def plain_filter(query: QuerySet[Ticket], f: TicketFilter) -> QuerySet[Ticket]:
    """The filters that need no lookup: statuses, kinds, channels, the received range
    (a province-wide export applies these; the city lists add the rest)."""
    if f.statuses:
        query = query.filter(status__in=list(f.statuses))
    if f.kinds:
        query = query.filter(kind__in=list(f.kinds))
    if f.channels:
        query = query.filter(channel__in=list(f.channels))
    if f.received_from is not None:
        query = query.filter(received_at__gte=f.received_from)
    if f.received_to is not None:
        query = query.filter(received_at__lt=f.received_to)
    return query


async def _apply_filter(query: QuerySet[Ticket], f: TicketFilter) -> QuerySet[Ticket]:
    query = plain_filter(query, f)
    if f.category_id is not None:
        category = await Category.get_or_none(id=f.category_id)
        if category is None:
            raise NotFound("category", field="categoryId")
        below = Category.filter(path__startswith=category.path).values("id")
        query = query.filter(category_id__in=Subquery(below))
    if f.area_id is not None:
        area = await Department.get_or_none(id=f.area_id)
        if area is None:
            raise NotFound("department", field="areaId")
        below = Department.filter(path__startswith=area.path).values("id")
        query = query.filter(area_id__in=Subquery(below))
    if f.keyword and f.keyword.strip():
        text = f.keyword.strip()
        if len(text) > 100:
            raise Invalid("keyword is too long", field="keyword")
        query = query.filter(search.keyword_q(text))
    if f.overdue is not None:
        now = clock.now()
        query = query.filter(_overdue_q(now)) if f.overdue else query.filter(~_overdue_q(now))
    return query


async def search_tickets(
    *,
    actor: Actor,
    filter: TicketFilter,
    sort: TicketSort = TicketSort.RECEIVED_DESC,
    limit: int = 50,
    after: Cursor | None = None,
) -> list[Ticket]:
    """Tickets matching ``filter`` that the actor may see, one keyset page (``limit`` rows)."""
    paths = await reading_paths(actor)
    query = await _apply_filter(visible(Ticket.all(), paths), filter)
    if filter.keyword and filter.keyword.strip():  # through its candidates (an index)
        newest_first = sort is TicketSort.RECEIVED_DESC
        return await search.keyword_page(
            query,
            filter.keyword.strip(),
            newest_first=newest_first,
            before=(after.value, after.id) if newest_first and after and after.value else None,
            limit=limit,
            order=lambda q: _sorted(q, sort, after),
        )
    return await _sorted(query, sort, after).limit(limit)


async def search_query(
    *,
    actor: Actor,
    filter: TicketFilter,
    sort: TicketSort = TicketSort.RECEIVED_DESC,
    after: Cursor | None = None,
) -> QuerySet[Ticket]:
    """The query behind :func:`search_tickets` for a filter without a keyword (a keyword's
    page is read through its index there), sorted and after the cursor, not limited: the
    API reads its page with ``pages.ticket_page``."""
    if filter.keyword and filter.keyword.strip():
        raise ValueError("a keyword's page is read by search_tickets")
    paths = await reading_paths(actor)
    query = await _apply_filter(visible(Ticket.all(), paths), filter)
    return _sorted(query, sort, after)


async def center_queue(
    *,
    actor: Actor,
    queue: CenterQueue,
    sort: TicketSort = TicketSort.RECEIVED_DESC,
    limit: int = 50,
    after: Cursor | None = None,
) -> list[Ticket]:
    return await center_queue_query(actor=actor, queue=queue, sort=sort, after=after).limit(limit)


def center_queue_query(
    *,
    actor: Actor,
    queue: CenterQueue,
    sort: TicketSort = TicketSort.RECEIVED_DESC,
    after: Cursor | None = None,
) -> QuerySet[Ticket]:
    """The query behind :func:`center_queue`, sorted and after the cursor, not limited."""
    require(actor, Action.TICKET_QUEUE_READ)
    now = clock.now()
    query = Ticket.all()
    match queue:
        case CenterQueue.UNASSIGNED:
            query = query.filter(status__in=[Status.RECEIVED, Status.RETURNED, Status.REOPENED])
        case CenterQueue.REVIEW:
            query = query.filter(status=Status.REPLIED)
        case CenterQueue.REVISIT:
            query = query.filter(status=Status.REVISIT)
        case CenterQueue.SUPERVISION:
            open_orders = Supervision.filter(status="open").values("ticket_id")
            query = query.filter(id__in=Subquery(open_orders))
        case CenterQueue.DUE_SOON:
            query = query.filter(_due_soon_q(now))
        case CenterQueue.OVERDUE:
            query = query.filter(_overdue_q(now))
        case CenterQueue.SUSPENSION_REQUESTED:
            asked = Suspension.filter(status=SuspensionStatus.REQUESTED.value).values("ticket_id")
            query = query.filter(id__in=Subquery(asked))
        case CenterQueue.SUSPENDED:
            query = query.filter(suspended_at__isnull=False)
    return _sorted(query, sort, after)


def assignment_cursor(assignment: Assignment) -> Cursor:
    return Cursor(value=assignment.reply_deadline, id=assignment.id)


async def selection_sql(*, actor: Actor, filter: TicketFilter) -> tuple[str, list[Any]]:
    """The SQL (``$n`` parameters) selecting the ids of every ticket matching ``filter``
    that the actor may see — what an export streams (docs/statistics.md, "Exports").
    The same checks as :func:`search_tickets` (a category or area of another city is
    NotFound). Tortoise builds the query; its parameterized text is read from pypika."""
    paths = await reading_paths(actor)
    query = (await _apply_filter(visible(Ticket.all(), paths), filter)).values_list("id", flat=True)
    query._choose_db_if_not_chosen()
    query._make_query()
    sql, params = query.query.get_parameterized_sql()
    return sql, list(params)
