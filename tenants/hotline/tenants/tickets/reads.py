"""Reading a work order's relations in batches (one statement per relation for a whole
page, for the API's per-request dataloaders) and what live views need.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import TypeVar

from tortoise.expressions import Q, Subquery
from tortoise.models import Model

from hotline.platform.redis import tenant_key
from hotline.tenants.accounts.models import Membership, ProvinceRole, User
from hotline.tenants.categories.models import Category
from hotline.tenants.departments.models import Department
from hotline.tenants.kernel.access import Action, Actor, require
from hotline.tenants.tickets.access import (
    access_department_inbox,
    access_ticket,
    reading_paths,
    visible,
)
from hotline.tenants.tickets.models import (
    Assignment,
    ExtensionRequest,
    Revisit,
    Supervision,
    Suspension,
    Ticket,
    TimelineEvent,
)

M = TypeVar("M", bound=Model)


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
    paths = await reading_paths(actor)
    return _by_id(await visible(Ticket.filter(id__in=list(ids)), paths), ids)


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


async def suspensions_of(*, actor: Actor, ticket_ids: Sequence[int]) -> list[list[Suspension]]:
    require(actor, Action.TICKET_READ)
    rows = await Suspension.filter(ticket_id__in=list(ticket_ids)).order_by("id")
    return _grouped(rows, ticket_ids, "ticket_id")


async def people_names(*, actor: Actor, ids: Sequence[int]) -> list[str | None]:
    """Display names of the people on a timeline the actor may read (users are global:
    only names of members of the actor's city, or province staff, are answered)."""
    require(actor, Action.TICKET_READ)
    members = Membership.filter(user_id__in=list(ids)).values("user_id")
    staff = ProvinceRole.filter(user_id__in=list(ids), province_id=actor.province_id).values(
        "user_id"
    )
    rows = await User.filter(
        Q(id__in=Subquery(members)) | Q(id__in=Subquery(staff)), id__in=list(ids)
    ).values("id", "display_name")
    names = {int(r["id"]): str(r["display_name"]) for r in rows}
    return [names.get(i) for i in ids]


async def revisits_of(*, actor: Actor, ticket_ids: Sequence[int]) -> list[list[Revisit]]:
    require(actor, Action.TICKET_READ)
    rows = await Revisit.filter(ticket_id__in=list(ticket_ids)).order_by("attempt", "id")
    return _grouped(rows, ticket_ids, "ticket_id")


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
