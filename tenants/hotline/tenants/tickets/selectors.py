"""Reading work orders: inboxes, center queues, search, detail, history, public lookup.

Every function is keyword-only and checks the caller with ``hotline.tenants.access``.
The hotline center sees the whole city; department roles see only tickets with an
assignment inside their department's subtree — anything else is ``NotFound``, the same
answer as for a ticket that does not exist (or belongs to another city).

Lists are keyset-paginated: a :class:`Cursor` is the sort value and the id of the last
row seen, so pages stay stable while new tickets arrive.
"""

from __future__ import annotations

import asyncio
import enum
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from tortoise.expressions import Q, Subquery
from tortoise.models import Model
from tortoise.queryset import QuerySet

from hotline.platform import ratelimit
from hotline.platform.crypto import decrypt, keyed_hash
from hotline.platform.redis import tenant_key
from hotline.tenants.access import CENTER_ROLES, Action, Actor, allowed, require
from hotline.tenants.accounts.audit import record_audit
from hotline.tenants.accounts.models import Role
from hotline.tenants.categories.models import Category
from hotline.tenants.departments.models import Department
from hotline.tenants.errors import Invalid, NotFound, PermissionDenied, RateLimited
from hotline.tenants.tickets.citizen import proven_ticket
from hotline.tenants.tickets.models import (
    Assignment,
    AssignmentStatus,
    Channel,
    ExtensionRequest,
    Kind,
    Revisit,
    Status,
    Supervision,
    Ticket,
    TimelineEvent,
)
from hotline.tenants.tickets.phones import mask_phone, phone_hash

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

PUBLIC_LOOKUPS_PER_IP = 30  # a minute
PUBLIC_LOOKUPS_PER_NUMBER = 10  # a minute: slows guessing one ticket's query code


class InboxBox(enum.StrEnum):
    TO_SIGN = "to_sign"
    IN_PROGRESS = "in_progress"
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"
    RETURNED = "returned"  # sub-dispatches the department below sent back


class CenterQueue(enum.StrEnum):
    UNASSIGNED = "unassigned"  # received, returned, reopened: to dispatch or answer
    REVIEW = "review"  # replied: to review
    REVISIT = "revisit"  # to call the citizen back
    SUPERVISION = "supervision"  # with an open supervision order
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"


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


@dataclass(frozen=True)
class PublicTicket:
    """What a citizen with the number and query code may see: no personal data."""

    number: str
    status: Status
    kind: Kind
    category_name: str | None
    received_at: datetime
    dispatched_at: datetime | None
    accepted_at: datetime | None
    replied_at: datetime | None
    closed_at: datetime | None
    public_reply: str
    rated: bool


@dataclass(frozen=True)
class CitizenContact:
    name: str | None
    phone: str | None


def _now() -> datetime:
    return datetime.now(UTC)


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
    if assignment.status not in OPEN_ASSIGNMENT:
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


def mask_name(name: str) -> str:
    """张三 → 张*, 欧阳娜娜 → 欧***; a single character stays as it is."""
    return name[:1] + "*" * (len(name) - 1)


# --- visibility ----------------------------------------------------------------------------


def sees_whole_city(actor: Actor) -> bool:
    return bool(actor.roles & CENTER_ROLES) or actor.is_province_admin


async def _department_paths(actor: Actor) -> list[str] | None:
    """None for the whole city, else the subtrees (paths) the actor may see."""
    require(actor, Action.TICKET_READ)
    if sees_whole_city(actor):
        return None
    if not actor.department_ids:
        raise PermissionDenied("no department to read tickets for")
    paths = await Department.filter(id__in=list(actor.department_ids)).values_list(
        "path", flat=True
    )
    return [str(p) for p in paths]


def _under(paths: Sequence[str]) -> Q:
    return Q(*[Q(path__startswith=p) for p in paths], join_type="OR")


def _visible(query: QuerySet[Ticket], paths: list[str] | None) -> QuerySet[Ticket]:
    if paths is None:
        return query
    departments = Department.filter(_under(paths)).values("id")
    assigned = Assignment.filter(department_id__in=Subquery(departments)).values("ticket_id")
    return query.filter(id__in=Subquery(assigned))


async def access_ticket(*, actor: Actor, ticket_id: int) -> Ticket:
    """A ticket the actor may read, or NotFound (missing, another city, outside its subtree)."""
    paths = await _department_paths(actor)
    ticket = await _visible(Ticket.filter(id=ticket_id), paths).first()
    if ticket is None:
        raise NotFound("ticket")
    return ticket


async def ticket_by_number(*, actor: Actor, number: str) -> Ticket:
    paths = await _department_paths(actor)
    ticket = await _visible(Ticket.filter(number=number.strip().upper()), paths).first()
    if ticket is None:
        raise NotFound("ticket")
    return ticket


async def access_department_inbox(*, actor: Actor, department_id: int) -> Department:
    """The department, if the actor is the center or the department is in its subtree."""
    paths = await _department_paths(actor)
    department = await Department.get_or_none(id=department_id)
    if department is None or (
        paths is not None and not any(department.path.startswith(p) for p in paths)
    ):
        raise NotFound("department")
    return department


# --- lists ----------------------------------------------------------------------------------


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


async def _apply_filter(query: QuerySet[Ticket], f: TicketFilter) -> QuerySet[Ticket]:
    if f.statuses:
        query = query.filter(status__in=list(f.statuses))
    if f.kinds:
        query = query.filter(kind__in=list(f.kinds))
    if f.channels:
        query = query.filter(channel__in=list(f.channels))
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
    if f.received_from is not None:
        query = query.filter(received_at__gte=f.received_from)
    if f.received_to is not None:
        query = query.filter(received_at__lt=f.received_to)
    if f.keyword and f.keyword.strip():
        text = f.keyword.strip()
        if len(text) > 100:
            raise Invalid("keyword is too long", field="keyword")
        query = query.filter(
            Q(number=text.upper()) | Q(content__icontains=text) | Q(address__icontains=text)
        )
    if f.overdue is not None:
        now = _now()
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
    paths = await _department_paths(actor)
    query = await _apply_filter(_visible(Ticket.all(), paths), filter)
    return await _sorted(query, sort, after).limit(limit)


async def center_queue(
    *,
    actor: Actor,
    queue: CenterQueue,
    sort: TicketSort = TicketSort.RECEIVED_DESC,
    limit: int = 50,
    after: Cursor | None = None,
) -> list[Ticket]:
    require(actor, Action.TICKET_QUEUE_READ)
    now = _now()
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
    return await _sorted(query, sort, after).limit(limit)


async def department_inbox(
    *,
    actor: Actor,
    department_id: int,
    box: InboxBox,
    limit: int = 50,
    after: Cursor | None = None,
) -> list[Assignment]:
    """A department's own assignments in one box, earliest reply deadline first."""
    now = _now()
    query = Assignment.filter(department_id=department_id)
    open_states = list(OPEN_ASSIGNMENT)
    match box:
        case InboxBox.TO_SIGN:
            query = query.filter(status=AssignmentStatus.PENDING_SIGN)
        case InboxBox.IN_PROGRESS:
            query = query.filter(
                status__in=[AssignmentStatus.SIGNED, AssignmentStatus.RETURN_REQUESTED]
            )
        case InboxBox.DUE_SOON:
            query = query.filter(
                Q(status__in=open_states, due_soon_at__lte=now, reply_deadline__gte=now)
                & ~Q(status=AssignmentStatus.PENDING_SIGN, sign_deadline__lt=now)
            )
        case InboxBox.OVERDUE:
            query = query.filter(
                Q(status__in=open_states)
                & (
                    Q(reply_deadline__lt=now)
                    | Q(status=AssignmentStatus.PENDING_SIGN, sign_deadline__lt=now)
                )
            )
        case InboxBox.RETURNED:
            query = Assignment.filter(
                status=AssignmentStatus.RETURNED,
                parent_id__in=Subquery(Assignment.filter(department_id=department_id).values("id")),
            )
    # The access check and the page run side by side (the page is discarded, and the
    # query cancelled, when the check fails); RLS keeps the page inside the city anyway.
    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(access_department_inbox(actor=actor, department_id=department_id))
            page = group.create_task(_fetch(_keyset_deadline(query, after).limit(limit)))
    except ExceptionGroup as failed:
        raise failed.exceptions[0] from None  # the check's NotFound, as callers expect
    return page.result()


async def _fetch(query: QuerySet[Assignment]) -> list[Assignment]:
    return list(await query)


def assignment_cursor(assignment: Assignment) -> Cursor:
    return Cursor(value=assignment.reply_deadline, id=assignment.id)


async def citizen_history(
    *, actor: Actor, phone: str, limit: int = 20, ip: str | None = None
) -> list[Ticket]:
    """A caller's earlier tickets, newest first, found by the keyed hash of the phone."""
    require(actor, Action.CITIZEN_HISTORY)
    rows = (
        await Ticket.filter(citizen_phone_hash=phone_hash(phone))
        .order_by("-received_at", "-id")
        .limit(limit)
    )
    await record_audit(
        actor_id=actor.user_id,
        action="citizen.history",
        target=f"phone:{mask_phone(phone)}",
        detail={"results": len(rows)},
        tenant_id=actor.tenant_id,
        province_id=actor.province_id,
        ip=ip,
    )
    return list(rows)


# --- detail (batched: each takes many tickets, for per-request dataloaders) -----------------


def _grouped(rows: Iterable[M], keys: Sequence[int], attr: str) -> list[list[M]]:
    groups: dict[int, list[M]] = defaultdict(list)
    for row in rows:
        groups[getattr(row, attr)].append(row)
    return [groups.get(k, []) for k in keys]


def _by_id(rows: Iterable[M], keys: Sequence[int]) -> list[M | None]:
    index = {row.pk: row for row in rows}
    return [index.get(k) for k in keys]


async def tickets_by_ids(*, actor: Actor, ids: Sequence[int]) -> list[Ticket | None]:
    """Tickets by id for relations of objects already read (a merge target, an assignment's);
    a ticket outside the actor's department subtree reads as None, like a missing one."""
    paths = await _department_paths(actor)
    return _by_id(await _visible(Ticket.filter(id__in=list(ids)), paths), ids)


async def categories_by_ids(*, actor: Actor, ids: Sequence[int]) -> list[Category | None]:
    require(actor, Action.CATEGORY_READ)
    return _by_id(await Category.filter(id__in=list(ids)), ids)


async def categories_with_parents(*, actor: Actor, ids: Sequence[int]) -> list[Category]:
    """Categories and their parents in one statement (a page's category column)."""
    require(actor, Action.CATEGORY_READ)
    parents = Category.filter(id__in=list(ids)).values("parent_id")
    return list(await Category.filter(Q(id__in=list(ids)) | Q(id__in=Subquery(parents))))


async def departments_of_tickets(
    *, actor: Actor, ticket_ids: Sequence[int], also: Iterable[int] = ()
) -> list[Department]:
    """The departments assigned on these tickets, plus ``also``, in one statement."""
    require(actor, Action.TICKET_READ)
    assigned = Assignment.filter(ticket_id__in=list(ticket_ids)).values("department_id")
    return list(await Department.filter(Q(id__in=sorted(set(also))) | Q(id__in=Subquery(assigned))))


async def assignments_of(*, actor: Actor, ticket_ids: Sequence[int]) -> list[list[Assignment]]:
    require(actor, Action.TICKET_READ)
    rows = await Assignment.filter(ticket_id__in=list(ticket_ids)).order_by("id")
    return _grouped(rows, ticket_ids, "ticket_id")


async def timeline_of(*, actor: Actor, ticket_ids: Sequence[int]) -> list[list[TimelineEvent]]:
    require(actor, Action.TICKET_READ)
    rows = await TimelineEvent.filter(ticket_id__in=list(ticket_ids)).order_by("ticket_id", "seq")
    return _grouped(rows, ticket_ids, "ticket_id")


async def supervisions_of(*, actor: Actor, ticket_ids: Sequence[int]) -> list[list[Supervision]]:
    require(actor, Action.TICKET_READ)
    rows = await Supervision.filter(ticket_id__in=list(ticket_ids)).order_by("id")
    return _grouped(rows, ticket_ids, "ticket_id")


async def extensions_of(*, actor: Actor, ticket_ids: Sequence[int]) -> list[list[ExtensionRequest]]:
    require(actor, Action.TICKET_READ)
    rows = await ExtensionRequest.filter(ticket_id__in=list(ticket_ids)).order_by("id")
    return _grouped(rows, ticket_ids, "ticket_id")


async def revisits_of(*, actor: Actor, ticket_ids: Sequence[int]) -> list[list[Revisit]]:
    require(actor, Action.TICKET_READ)
    rows = await Revisit.filter(ticket_id__in=list(ticket_ids)).order_by("attempt", "id")
    return _grouped(rows, ticket_ids, "ticket_id")


# --- personal data --------------------------------------------------------------------------


def masked_citizen(ticket: Ticket) -> CitizenContact:
    """The citizen as every reader sees it: masked, nothing for anonymous tickets."""
    if ticket.anonymous:
        return CitizenContact(name=None, phone=None)
    name = decrypt(ticket.citizen_name_enc) if ticket.citizen_name_enc else None
    phone = decrypt(ticket.citizen_phone_enc) if ticket.citizen_phone_enc else None
    return CitizenContact(
        name=mask_name(name) if name else None, phone=mask_phone(phone) if phone else None
    )


async def reveal_citizen(*, actor: Actor, ticket_id: int, ip: str | None = None) -> CitizenContact:
    """The citizen's name and phone in clear; every call is audited.

    Department roles see it for tickets their subtree holds a live assignment of (they
    call the citizen first, 先行联系). Confidential tickets reveal only to the center's
    supervisors and administrators."""
    require(actor, Action.CITIZEN_REVEAL)
    ticket = await access_ticket(actor=actor, ticket_id=ticket_id)
    if ticket.anonymous:
        return CitizenContact(name=None, phone=None)
    if (
        ticket.confidential
        and not actor.roles & {Role.SUPERVISOR, Role.TENANT_ADMIN}
        and not actor.is_province_admin
    ):
        raise PermissionDenied("the citizen asked for confidentiality")
    if not sees_whole_city(actor) and not await _holds_assignment(actor, ticket.id):
        raise PermissionDenied("your department holds no assignment of this ticket")
    await record_audit(
        actor_id=actor.user_id,
        action="citizen.reveal",
        target=f"ticket:{ticket.id}",
        detail={"number": ticket.number},
        tenant_id=ticket.tenant_id,
        province_id=ticket.province_id,
        ip=ip,
    )
    return CitizenContact(
        name=decrypt(ticket.citizen_name_enc) if ticket.citizen_name_enc else None,
        phone=decrypt(ticket.citizen_phone_enc) if ticket.citizen_phone_enc else None,
    )


async def _holds_assignment(actor: Actor, ticket_id: int) -> bool:
    """Whether the actor's departments (subtrees) hold a live assignment of the ticket:
    one not returned or cancelled."""
    paths = await _department_paths(actor)
    query = Assignment.filter(ticket_id=ticket_id).exclude(
        status__in=[AssignmentStatus.RETURNED, AssignmentStatus.CANCELLED]
    )
    if paths is not None:
        departments = Department.filter(_under(paths)).values("id")
        query = query.filter(department_id__in=Subquery(departments))
    return await query.exists()


def may_reveal(actor: Actor) -> bool:
    return allowed(actor, Action.CITIZEN_REVEAL)


# --- the citizen's own view -------------------------------------------------------------------


async def public_ticket(
    *, actor: Actor, number: str, query_code: str, ip: str | None
) -> PublicTicket:
    """Progress for whoever holds the number and query code; rate-limited, no personal data.

    A wrong code and an unknown number give the same NotFound."""
    if actor.tenant_id is None:
        raise NotFound("ticket")
    number = number.strip().upper()
    ip_ok = await ratelimit.hit(
        f"public-ticket:ip:{actor.tenant_id}:{ip or 'unknown'}",
        limit=PUBLIC_LOOKUPS_PER_IP,
        window_seconds=60,
    )
    number_ok = await ratelimit.hit(
        f"public-ticket:number:{actor.tenant_id}:{keyed_hash(number, 'public-lookup')}",
        limit=PUBLIC_LOOKUPS_PER_NUMBER,
        window_seconds=60,
    )
    if not (ip_ok and number_ok):
        raise RateLimited("too many lookups, try again in a minute")
    ticket = await proven_ticket(tenant_id=actor.tenant_id, number=number, query_code=query_code)
    category_name: str | None = None
    if ticket.category_id is not None:
        category = await Category.get_or_none(id=ticket.category_id)
        category_name = category.name if category else None
    shown = Status.CLOSED if ticket.status is Status.MERGED else ticket.status
    return PublicTicket(
        number=ticket.number,
        status=shown,
        kind=ticket.kind,
        category_name=category_name,
        received_at=ticket.received_at,
        dispatched_at=ticket.dispatched_at,
        accepted_at=ticket.accepted_at,
        replied_at=ticket.replied_at,
        closed_at=ticket.closed_at,
        public_reply=ticket.public_reply,
        rated=ticket.satisfaction_source == "citizen",
    )


# --- live updates ---------------------------------------------------------------------------


def timeline_channel(tenant_id: int, ticket_id: int) -> str:
    """The pub/sub channel announcing new timeline events of one ticket."""
    return tenant_key(tenant_id, "ticket", ticket_id, "timeline")


def inbox_channel(tenant_id: int, department_id: int) -> str:
    """The pub/sub channel announcing changes to one department's assignments."""
    return tenant_key(tenant_id, "department", department_id, "inbox")


async def notice_departments(*, ticket_id: int) -> list[int]:
    """The departments whose inbox a change of the ticket concerns (for notices only:
    nothing is returned to the caller, so no permission applies)."""
    rows = await Assignment.filter(ticket_id=ticket_id).values("department_id")
    return sorted({int(r["department_id"]) for r in rows})


async def timeline_after(*, actor: Actor, ticket_id: int, seq: int) -> list[TimelineEvent]:
    """A readable ticket's events after ``seq`` (what a subscriber has not seen yet)."""
    await access_ticket(actor=actor, ticket_id=ticket_id)
    return list(await TimelineEvent.filter(ticket_id=ticket_id, seq__gt=seq).order_by("seq"))


async def last_timeline_seq(*, actor: Actor, ticket_id: int) -> int:
    await access_ticket(actor=actor, ticket_id=ticket_id)
    last = await TimelineEvent.filter(ticket_id=ticket_id).order_by("-seq").first()
    return last.seq if last is not None else 0


async def inbox_assignments(
    *, actor: Actor, department_id: int, ticket_id: int
) -> list[Assignment]:
    """The department's own assignments on one ticket, as they are now (a live inbox)."""
    await access_department_inbox(actor=actor, department_id=department_id)
    return list(
        await Assignment.filter(ticket_id=ticket_id, department_id=department_id).order_by("id")
    )
