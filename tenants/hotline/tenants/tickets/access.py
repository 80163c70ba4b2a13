"""Who may see and touch which work order: the one place that answers it.

The hotline center, city leadership and province admins see the whole city; department
roles see a ticket when one of its assignments lies in their department's subtree, and
*work* (sign, reply, sub-dispatch …) only on assignments inside their own subtrees — a
center role held beside a department role widens reading, never handling.

Everything the actor may not see is the same :class:`NotFound` as what does not exist,
with the same message, whether it is missing, in another city, or in another department
of this city.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import cast

from tortoise.expressions import Q, Subquery
from tortoise.queryset import QuerySet

from hotline.platform.tenancy import Scope, current_tenant_id, use_scope
from hotline.tenants.departments.models import Department
from hotline.tenants.kernel.access import CENTER_ROLES, CITY_TABLE, Action, Actor, require
from hotline.tenants.kernel.errors import NotFound
from hotline.tenants.tickets.models import NUMBER_MAX, Assignment, Ticket


@contextmanager
def city_scope(actor: Actor) -> Iterator[Scope]:
    """The actor's city as the task's scope (what RLS and the scoped managers read)."""
    if actor.tenant_id is None or actor.province_id is None:
        raise NotFound("city")
    with use_scope(Scope.city(actor.tenant_id, actor.province_id, actor.user_id)) as scope:
        yield scope


def acting_role(actor: Actor, action: Action) -> str:
    """The role under which the actor acts, for the timeline."""
    roles = sorted(r.value for r in CITY_TABLE.get(action, frozenset()) & actor.roles)
    if roles:
        return roles[0]
    if actor.is_province_admin:
        return "province_admin"
    if actor.api_key_id is not None:
        return "api_key"
    return "citizen" if actor.user_id is None else ""


def sees_whole_city(actor: Actor) -> bool:
    return bool(actor.roles & CENTER_ROLES) or actor.is_province_admin


async def _paths(department_ids: frozenset[int]) -> list[str]:
    if not department_ids:
        return []
    rows = Department.filter(id__in=sorted(department_ids)).values_list("path", flat=True)
    return cast(list[str], await rows)


async def reading_paths(actor: Actor) -> list[str] | None:
    """Department subtrees the actor may READ in; None = the whole city."""
    require(actor, Action.TICKET_READ)
    if sees_whole_city(actor):
        return None
    return await _paths(actor.department_ids)


async def handling_paths(actor: Actor) -> list[str]:
    """Department subtrees the actor may WORK in (its own departments only)."""
    return await _paths(actor.department_ids)


def within(path: str, paths: Sequence[str]) -> bool:
    return any(path.startswith(p) for p in paths)


def _under(paths: Sequence[str]) -> Q:
    return Q(*[Q(path__startswith=p) for p in paths], join_type="OR")


def visible(query: QuerySet[Ticket], paths: list[str] | None) -> QuerySet[Ticket]:
    """``query`` narrowed to tickets with an assignment inside ``paths`` (None: all)."""
    if paths is None:
        return query
    if not paths:
        return query.filter(id=-1)
    departments = Department.filter(_under(paths)).values("id")
    assigned = Assignment.filter(department_id__in=Subquery(departments)).values("ticket_id")
    return query.filter(id__in=Subquery(assigned))


def visible_assignments(
    query: QuerySet[Assignment], paths: list[str] | None
) -> QuerySet[Assignment]:
    """``query`` narrowed to assignments of departments inside ``paths`` (None: all)."""
    if paths is None:
        return query
    if not paths:
        return query.filter(id=-1)
    return query.filter(department_id__in=Subquery(Department.filter(_under(paths)).values("id")))


def assignments_of(ticket: Ticket) -> QuerySet[Assignment]:
    # Explicit tenant filter: also used under the province scope of a transfer.
    return Assignment.across_tenants().filter(tenant_id=ticket.tenant_id, ticket_id=ticket.id)


async def access_ticket(*, actor: Actor, ticket_id: int) -> Ticket:
    """A ticket the actor may read, or NotFound."""
    with city_scope(actor):
        paths = await reading_paths(actor)
        ticket = await visible(Ticket.filter(id=ticket_id), paths).first()
    if ticket is None:
        raise NotFound("ticket")
    return ticket


async def ticket_by_number(*, actor: Actor, number: str) -> Ticket:
    number = number.strip().upper()
    if len(number) > NUMBER_MAX:
        raise NotFound("ticket")
    with city_scope(actor):
        paths = await reading_paths(actor)
        ticket = await visible(Ticket.filter(number=number), paths).first()
    if ticket is None:
        raise NotFound("ticket")
    return ticket


async def readable(actor: Actor, ticket_id: int) -> bool:
    """Whether the actor may read the ticket (the current city's)."""
    paths = await reading_paths(actor)
    return await visible(Ticket.filter(id=ticket_id), paths).exists()


async def access_assignment(*, actor: Actor, assignment_id: int) -> Assignment:
    """An assignment of a ticket the actor may read, or NotFound."""
    with city_scope(actor):
        paths = await reading_paths(actor)
        assignment = await Assignment.get_or_none(id=assignment_id)
        if (
            assignment is None
            or not await visible(Ticket.filter(id=assignment.ticket_id), paths).exists()
        ):
            raise NotFound("assignment")
    return assignment


async def access_department_inbox(*, actor: Actor, department_id: int) -> Department:
    """The department, if the actor is the center or the department is in its subtree."""
    with city_scope(actor):
        paths = await reading_paths(actor)
        department = await Department.get_or_none(id=department_id)
    if department is None or (paths is not None and not within(department.path, paths)):
        raise NotFound("department")
    return department


async def lock_ticket(actor: Actor, ticket_id: int, paths: list[str] | None = None) -> Ticket:
    """The ticket row locked for this transaction (``SELECT … FOR UPDATE``), if visible
    within ``paths``; always lock the ticket before its assignments."""
    ticket = await visible(Ticket.filter(id=ticket_id), paths).select_for_update().first()
    if ticket is None:
        raise NotFound("ticket")
    return ticket


async def lock_for_handling(
    actor: Actor, assignment_id: int, action: Action = Action.TICKET_HANDLE
) -> tuple[Ticket, Assignment]:
    """Ticket then assignment, locked. Department work (``TICKET_HANDLE``) must be on an
    assignment inside one of the actor's own subtrees; deciding on it (supervisors) only
    needs the ticket to be readable. Anything else: NotFound("assignment")."""
    # Its ticket, its department's path and the paths of the actor's departments in one
    # read, before the locks: an assignment's ticket never changes; its department's
    # path changes only when an admin moves the department (departments.service), and a
    # check racing that move decides on the path just before it — as it did when the
    # path was read separately. The actor's paths are its reading paths (unless it sees
    # the whole city) and its handling paths.
    found = await Assignment._meta.db.execute_query_dict(
        _HANDLED, [current_tenant_id(), assignment_id, sorted(actor.department_ids)]
    )
    if not found:
        raise NotFound("assignment")
    require(actor, Action.TICKET_READ)  # as reading_paths asks
    own: list[str] = list(found[0]["paths"])
    try:
        ticket = await lock_ticket(
            actor, found[0]["ticket_id"], None if sees_whole_city(actor) else own
        )
    except NotFound:
        raise NotFound("assignment") from None
    assignment = await Assignment.filter(id=assignment_id).select_for_update().first()
    if assignment is None:
        raise NotFound("assignment")
    if action is Action.TICKET_HANDLE and not within(found[0]["path"], own):
        raise NotFound("assignment")
    return ticket, assignment


_HANDLED = """
SELECT a.ticket_id, d.path, (
  SELECT COALESCE(array_agg(o.path), '{}') FROM departments o
  WHERE o.tenant_id = $1 AND o.id = ANY($3::bigint[])
) AS paths
FROM assignments a JOIN departments d ON d.tenant_id = a.tenant_id AND d.id = a.department_id
WHERE a.tenant_id = $1 AND a.id = $2
"""
