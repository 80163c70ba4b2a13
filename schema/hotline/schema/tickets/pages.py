"""A list page's GraphQL objects, made once per page from the rows it read.

The inbox and the ticket lists read their rows and relations in one statement per
level (``hotline.tenants.tickets.pages``); here each row becomes its object once
(shared by every field that names it: a ticket's assignments include the inbox row
itself, a page names the same few departments and categories on every row), and the
relations read are handed to the objects as plain values (``lean.prefill``), so the
relation fields answer without a resolver call, a dataloader or a task. What the page
did not read (a field the query does not select at the level read, timelines,
extensions …) keeps its resolver and dataloader.
"""

from __future__ import annotations

from collections.abc import Set
from typing import Any, TypeVar

from hotline.platform import clock
from hotline.schema.categories.types import Category
from hotline.schema.context import Info
from hotline.schema.departments.types import Department
from hotline.schema.lean import PREFILLED, prefill
from hotline.schema.tickets.types import Assignment, Ticket
from hotline.tenants.tickets import lists, models, pages


def _names(info: Info) -> set[str]:
    """Every field name selected below the current field (all levels flattened)."""
    names: set[str] = set()
    stack: list[Any] = list(info.selected_fields)
    while stack:
        node = stack.pop()
        name = getattr(node, "name", None)
        if name:
            names.add(name)
        stack.extend(getattr(node, "selections", ()))
    return names


def wanted(info: Info, *, inbox: bool) -> pages.Wanted:
    """The relations a page should read for what the query selects."""
    names = _names(info)
    tickets = inbox and "ticket" in names
    reads_tickets = tickets or not inbox
    return pages.Wanted(
        tickets=tickets,
        assignments=reads_tickets and bool(names & {"assignments", "allAssignments", "children"}),
        departments="department" in names,
        areas=reads_tickets and "area" in names,
        categories=reads_tickets and "category" in names,
        parents="parent" in names,
    )


def _copy(cls: type[Any], computed: Set[str]) -> tuple[str, ...]:
    """The fields of a Strawberry type that are the row's own columns, by name."""
    definition = cls.__strawberry_definition__
    return tuple(
        f.python_name
        for f in definition.fields
        if f.base_resolver is None and f.python_name not in computed
    )


T = TypeVar("T")
_TICKET = _copy(Ticket, {"overdue", "due_soon", "row"})
_ASSIGNMENT = _copy(Assignment, {"overdue", "due_soon", "row"})


def _shell(cls: type[T], row: Any, names: tuple[str, ...], overdue: bool, soon: bool) -> T:
    """An object of ``cls`` holding the row's own columns and its deadline flags, made
    without running the type's constructor (its relations are prefilled by the caller)."""
    made = cls.__new__(cls)
    values = row.__dict__
    own = {name: values[name] for name in names}
    own["overdue"] = overdue
    own["due_soon"] = soon
    own["row"] = row
    made.__dict__.update(own)
    return made


# ``lean.prefill``'s keys, written straight into the objects made here (500 a page)
_DEPARTMENT = PREFILLED + "department"
_TICKET_OF = PREFILLED + "ticket"
_CHILDREN = PREFILLED + "children"
_CATEGORY = PREFILLED + "category"
_AREA = PREFILLED + "area"
_ALL = PREFILLED + "all_assignments"
_ROOTS = PREFILLED + "assignments"


class PageObjects:
    """Objects of one page, each made once."""

    def __init__(self, info: Info, related: pages.Related) -> None:
        self.related = related
        self.converted = info.context.converted
        self.now = clock.now()
        self.tickets: dict[int, Ticket] = {}
        self.assignments: dict[int, Assignment] = {}
        self.roots: dict[int, list[Assignment]] = {}  # by ticket: the tree's roots
        # by ticket, its assignments by their parent's id (the sub-dispatches below each)
        self.below: dict[int, dict[int | None, list[models.Assignment]]] = {}

    def department(self, key: int) -> Department | None:
        made: Department | None = self.converted.get(("Department", key))
        if made is None and self.related.departments is not None:
            row = self.related.departments.get(key)
            if row is not None:
                made = self.converted[("Department", key)] = Department.from_model(row)
        return made

    def category(self, key: int) -> Category | None:
        made: Category | None = self.converted.get(("Category", key))
        if made is None and self.related.categories is not None:
            row = self.related.categories.get(key)
            if row is not None:
                made = self.converted[("Category", key)] = Category.from_model(row)
                parent = row.parent_id
                if parent is None:
                    prefill(made, "parent", None)
                elif parent in self.related.categories:
                    prefill(made, "parent", self.category(parent))
        return made

    def assignment(self, row: models.Assignment) -> Assignment:
        if row.id in self.assignments:
            return self.assignments[row.id]
        made = self.assignments[row.id] = _shell(
            Assignment,
            row,
            _ASSIGNMENT,
            lists.assignment_overdue(row, self.now),
            lists.assignment_due_soon(row, self.now),
        )
        slots = made.__dict__
        departments = self.related.departments
        if departments is not None and row.department_id in departments:
            slots[_DEPARTMENT] = self.department(row.department_id)
        ticket = self.related.tickets.get(row.ticket_id)
        if ticket is not None:
            slots[_TICKET_OF] = self.ticket(ticket)
        siblings = self.related.assignments
        if siblings is not None and row.ticket_id in siblings:
            below = self.below.get(row.ticket_id)
            if below is None:
                below = self.below[row.ticket_id] = {}
                for sibling in siblings[row.ticket_id]:
                    below.setdefault(sibling.parent_id, []).append(sibling)
            # made after this one is registered: a child's own fields refer back to it
            slots[_CHILDREN] = [self.assignment(a) for a in below.get(row.id, ())]
        return made

    def ticket(self, row: models.Ticket) -> Ticket:
        if row.id in self.tickets:
            return self.tickets[row.id]
        made = self.tickets[row.id] = _shell(
            Ticket,
            row,
            _TICKET,
            lists.is_overdue(row, self.now),
            lists.is_due_soon(row, self.now),
        )
        slots = made.__dict__
        if self.related.categories is not None:
            key = row.category_id
            slots[_CATEGORY] = None if key is None else self.category(key)
        if self.related.departments is not None:
            area = row.area_id
            if area is None:
                slots[_AREA] = None
            elif area in self.related.departments:
                slots[_AREA] = self.department(area)
        assignments = self.related.assignments
        if assignments is not None and row.id in assignments:
            every = [self.assignment(a) for a in assignments[row.id]]
            slots[_ALL] = every
            slots[_ROOTS] = [a for a in every if a.row.parent_id is None]
        return made
