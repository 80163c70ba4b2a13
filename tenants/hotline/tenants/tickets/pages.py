"""List pages read in one SQL statement per level: the department inbox, and the
relations every list page shows (its tickets, their assignments, departments and
categories), all on one pooled connection (``hotline.platform.db.rows``).

Permission is decided once per page, not per row or field: the inbox checks the
department against the actor's reading paths before its page; a page's relations are
read only for rows the caller was already allowed to list (a ticket in a department's
inbox is visible to whoever may read that inbox: its assignment lies in the
department). Rows come back as complete model instances, made without the ORM's per-row
conversions; nothing here writes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from tortoise.queryset import QuerySet

from hotline.platform import clock
from hotline.platform.db.rows import Hydrator, Reads, read_session
from hotline.tenants.categories.models import Category
from hotline.tenants.departments.models import Department
from hotline.tenants.kernel.access import Action, Actor, allowed, require
from hotline.tenants.kernel.errors import NotFound
from hotline.tenants.tickets.access import city_scope, reading_paths, within
from hotline.tenants.tickets.lists import OPEN_ASSIGNMENT, Cursor, InboxBox
from hotline.tenants.tickets.models import Assignment, AssignmentStatus, Ticket

TICKETS = Hydrator(Ticket)
ASSIGNMENTS = Hydrator(Assignment)
DEPARTMENTS = Hydrator(Department)
CATEGORIES = Hydrator(Category)

_OPEN = sorted(s.value for s in OPEN_ASSIGNMENT)
_PENDING = AssignmentStatus.PENDING_SIGN.value
_PATH = "department_path"


@dataclass(frozen=True)
class Wanted:
    """Which relations of a page to read (what the query selects)."""

    tickets: bool = False  # the assignments' tickets (an inbox page)
    assignments: bool = False  # every assignment of the page's tickets
    departments: bool = False  # the assignments' departments
    areas: bool = False  # the tickets' area departments
    categories: bool = False
    parents: bool = False  # the categories' parents too


@dataclass
class Related:
    """A page's relations, by id (what was not wanted stays empty)."""

    tickets: dict[int, Ticket] = field(default_factory=dict)
    assignments: dict[int, list[Assignment]] | None = None  # by ticket; None: not read
    departments: dict[int, Department] | None = None
    categories: dict[int, Category] | None = None


@dataclass
class InboxPage:
    rows: list[Assignment]
    related: Related


def _box(box: InboxBox, now: Any, args: list[Any]) -> str:
    """The box's condition on ``a`` (an assignments row); parameters appended to ``args``."""

    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    match box:
        case InboxBox.TO_SIGN:
            return f"a.department_id = $2 AND a.status = {arg(_PENDING)}"
        case InboxBox.IN_PROGRESS:
            states = [AssignmentStatus.SIGNED.value, AssignmentStatus.RETURN_REQUESTED.value]
            return f"a.department_id = $2 AND a.status = ANY({arg(states)}::text[])"
        case InboxBox.DUE_SOON:
            t = arg(now)
            return (
                f"a.department_id = $2 AND a.status = ANY({arg(_OPEN)}::text[]) "
                f"AND a.due_soon_at <= {t} AND a.reply_deadline >= {t} "
                f"AND NOT (a.status = {arg(_PENDING)} AND a.sign_deadline < {t}) "
                "AND a.paused_at IS NULL"
            )
        case InboxBox.OVERDUE:
            t = arg(now)
            return (
                f"a.department_id = $2 AND a.status = ANY({arg(_OPEN)}::text[]) "
                f"AND (a.reply_deadline < {t} OR (a.status = {arg(_PENDING)} "
                f"AND a.sign_deadline < {t})) AND a.paused_at IS NULL"
            )
        case InboxBox.SUSPENDED:
            return (
                f"a.department_id = $2 AND a.status = ANY({arg(_OPEN)}::text[]) "
                "AND a.paused_at IS NOT NULL"
            )
        case InboxBox.RETURNED:
            # sub-dispatches below this department's own assignments, sent back
            return (
                f"a.status = {arg(AssignmentStatus.RETURNED.value)} AND a.parent_id IN "
                "(SELECT p.id FROM assignments p WHERE p.tenant_id = $1 AND p.department_id = $2)"
            )


def _after(after: Cursor | None, args: list[Any]) -> str:
    """Keyset: reply deadline ascending, then id (rows without a deadline last)."""
    if after is None:
        return ""
    args.append(after.id)
    key = f"${len(args)}"
    if after.value is None:
        return f" AND a.reply_deadline IS NULL AND a.id > {key}"
    args.append(after.value)
    value = f"${len(args)}"
    return (
        f" AND (a.reply_deadline > {value} OR (a.reply_deadline = {value} AND a.id > {key})"
        " OR a.reply_deadline IS NULL)"
    )


def _tenant(actor: Actor) -> int:
    if actor.tenant_id is None:
        raise NotFound("city")
    return actor.tenant_id


async def department_inbox(
    *,
    actor: Actor,
    department_id: int,
    box: InboxBox,
    limit: int = 50,
    after: Cursor | None = None,
    wanted: Wanted = Wanted(),
) -> InboxPage:
    """A department's own assignments in one box, earliest reply deadline first (``limit``
    rows), with the relations ``wanted``: the department must be the actor's to read
    (the center, or inside its subtree), else NotFound, like one that does not exist."""
    with city_scope(actor):
        tenant_id = _tenant(actor)
        paths = await reading_paths(actor)
        args: list[Any] = [tenant_id, department_id]
        condition = _box(box, clock.now(), args)
        keyset = _after(after, args)
        args.append(limit)
        async with read_session() as reads:
            # the department's path beside the page, one round trip: no row at all when
            # the department is not this city's; the page is dropped if it is not the
            # caller's to read (as if it did not exist)
            found = await reads.fetch(
                f"SELECT d.path AS {_PATH}, a.* FROM departments d LEFT JOIN LATERAL "
                f"(SELECT {ASSIGNMENTS.select('a')} FROM assignments a "
                f"WHERE a.tenant_id = $1 AND {condition}{keyset} "
                f"ORDER BY a.reply_deadline, a.id LIMIT ${len(args)}) a ON true "
                "WHERE d.tenant_id = $1 AND d.id = $2 ORDER BY a.reply_deadline, a.id",
                *args,
            )
            if not found or (paths is not None and not within(found[0][_PATH], paths)):
                raise NotFound("department")
            page = ASSIGNMENTS.many([r for r in found if r["id"] is not None], drop=_PATH)
            related = Related()
            if not page:
                return InboxPage(rows=page, related=related)
            own = {a.department_id for a in page} if wanted.departments else set()
            if wanted.tickets:
                # their categories (and parents) joined, as the ticket lists do
                joined = wanted.categories and allowed(actor, Action.CATEGORY_READ)
                found = await reads.fetch(
                    _tickets_with_categories(parents=wanted.parents)
                    if joined
                    else f"SELECT {TICKETS.columns} FROM tickets WHERE tenant_id = $1 "
                    "AND id = ANY($2)",
                    tenant_id,
                    sorted({a.ticket_id for a in page}),
                )
                made = TICKETS.parts(found) if joined else TICKETS.many(found)
                related.tickets = {t.id: t for t in made if t is not None}
                if joined:
                    require(actor, Action.TICKET_READ)  # as _relations does
                    related.categories = _joined_categories(found, parents=wanted.parents)
                    wanted = replace(wanted, categories=False)
                tickets = list(related.tickets.values())
                await _relations(reads, actor, tenant_id, tickets, wanted, related, own)
            elif own:
                related.departments = await _departments(reads, tenant_id, own)
    return InboxPage(rows=page, related=related)


async def ticket_page(
    *, actor: Actor, query: QuerySet[Ticket], limit: int, wanted: Wanted
) -> tuple[list[Ticket], Related]:
    """A page (``limit`` rows) of a ticket list the actor was allowed to make (``query``:
    ``lists.search_query``, ``lists.center_queue_query``), with the relations ``wanted``."""
    limited = query.limit(limit)
    limited._choose_db_if_not_chosen()
    limited._make_query()
    # the categories (and their parents) joined into the page's own statement: one
    # statement fewer, and a category row per ticket row (a handful of short columns)
    joined = wanted.categories and allowed(actor, Action.CATEGORY_READ)
    sql, params = limited.query.get_parameterized_sql()
    if joined:
        sql = _joined_sql(limited.query, sql, len(params), parents=wanted.parents)
    with city_scope(actor):
        tenant_id = _tenant(actor)
        async with read_session() as reads:
            found = await reads.fetch(sql, *params)
            rows = TICKETS.parts(found) if joined else TICKETS.many(found)
            tickets = [t for t in rows if t is not None]
            related = Related(tickets={t.id: t for t in tickets})
            if joined and tickets:
                require(actor, Action.TICKET_READ)  # as _relations does
                related.categories = _joined_categories(found, parents=wanted.parents)
                wanted = replace(wanted, categories=False)
            if tickets and (wanted.assignments or wanted.areas or wanted.categories):
                await _relations(reads, actor, tenant_id, tickets, wanted, related, set())
    return tickets, related


_CATEGORY = "page_category__"
_PARENT = "page_parent__"


def _joined_categories(found: list[Any], *, parents: bool) -> dict[int, Category]:
    """The categories (and parents) of joined ticket rows (``_CATEGORY`` / ``_PARENT``
    columns): a page names the same few on every row, each is made once."""
    categories: dict[int, Category] = {}
    for record in found:
        for prefix in (_CATEGORY, _PARENT) if parents else (_CATEGORY,):
            key = CATEGORIES.key(record, prefix)
            if key is not None and key not in categories:
                made = CATEGORIES.part(record, prefix)
                assert made is not None  # its key is not NULL
                categories[key] = made
    return categories


_TICKETS_BY_ID: dict[bool, str] = {}


def _tickets_with_categories(*, parents: bool) -> str:
    """Tickets by id ($1 the city, $2 the ids) with their categories and, if ``parents``,
    the categories' parents LEFT JOINed (columns named as in :func:`_with_categories`)."""
    sql = _TICKETS_BY_ID.get(parents)
    if sql is None:
        columns = [TICKETS.select("t"), CATEGORIES.select("c", _CATEGORY)]
        joins = "LEFT JOIN categories c ON c.tenant_id = t.tenant_id AND c.id = t.category_id"
        if parents:
            columns.append(CATEGORIES.select("p", _PARENT))
            joins += " LEFT JOIN categories p ON p.tenant_id = c.tenant_id AND p.id = c.parent_id"
        sql = _TICKETS_BY_ID[parents] = (
            f"SELECT {', '.join(columns)} FROM tickets t {joins} "
            "WHERE t.tenant_id = $1 AND t.id = ANY($2)"
        )
    return sql


# The joined statement of a list's statement, by its text (parameters apart: the joins
# add none, so the list's parameters are the joined one's): building and rendering the
# joins through pypika cost more than the rest of the page's statement. Statements of
# the same filters, sort and reading paths share one text; bounded all the same.
_JOINED: dict[tuple[str, bool], str] = {}
_JOINED_MAX = 512


def _joined_sql(query: Any, sql: str, parameters: int, *, parents: bool) -> str:
    """The statement of ``query`` (its text ``sql``, with ``parameters`` parameters) with
    the categories joined (:func:`_with_categories`)."""
    key = (sql, parents)
    joined = _JOINED.get(key)
    if joined is None:
        joined, params = _with_categories(query, parents=parents).get_parameterized_sql()
        if len(params) != parameters:  # the joins took a parameter: not reusable
            raise ValueError("the categories' joins must not take parameters")
        if len(_JOINED) >= _JOINED_MAX:
            _JOINED.clear()
        _JOINED[key] = joined
    return joined


def _with_categories(query: Any, *, parents: bool) -> Any:
    """``query`` (a ticket list's pypika query) with each row's category and, if
    ``parents``, the category's parent LEFT JOINed (each on its primary key: the rows
    and their order stay the query's), their columns named ``page_category__<field>`` /
    ``page_parent__<field>``."""
    tickets = Ticket._meta.basetable
    # the ORM's own table of categories, aliased (pypika's builders copy: the model's
    # table keeps no alias)
    category = Category._meta.basetable.as_("page_category")
    query = query.left_join(category).on(
        (category.tenant_id == tickets.tenant_id) & (category.id == tickets.category_id)
    )
    joins = [(category, _CATEGORY)]
    if parents:
        parent = Category._meta.basetable.as_("page_parent")
        query = query.left_join(parent).on(
            (parent.tenant_id == category.tenant_id) & (parent.id == category.parent_id)
        )
        joins.append((parent, _PARENT))
    projection = Category._meta.fields_db_projection
    return query.select(
        *(
            table.field(column).as_(f"{prefix}{name}")
            for table, prefix in joins
            for name, column in projection.items()
        )
    )


async def ticket_relations(*, actor: Actor, tickets: list[Ticket], wanted: Wanted) -> Related:
    """The relations ``wanted`` of a page of tickets already read (a keyword search's
    page, read through its index), one statement per level on one connection."""
    related = Related(tickets={t.id: t for t in tickets})
    if tickets and (wanted.assignments or wanted.areas or wanted.categories):
        with city_scope(actor):
            tenant_id = _tenant(actor)
            async with read_session() as reads:
                await _relations(reads, actor, tenant_id, tickets, wanted, related, set())
    return related


async def _relations(
    reads: Reads,
    actor: Actor,
    tenant_id: int,
    tickets: list[Ticket],
    wanted: Wanted,
    related: Related,
    department_ids: set[int],
) -> None:
    """Read the relations ``wanted`` of ``tickets`` into ``related`` (plus the
    departments ``department_ids``), one statement per relation."""
    require(actor, Action.TICKET_READ)
    ids = [t.id for t in tickets]
    if wanted.assignments:
        grouped: dict[int, list[Assignment]] = defaultdict(list)
        rows = await reads.fetch(
            f"SELECT {ASSIGNMENTS.columns} FROM assignments WHERE tenant_id = $1 "
            "AND ticket_id = ANY($2) ORDER BY id",
            tenant_id,
            ids,
        )
        for a in ASSIGNMENTS.many(rows):
            grouped[a.ticket_id].append(a)
        related.assignments = {i: grouped.get(i, []) for i in ids}
    wanted_departments = set(department_ids)
    if wanted.areas:
        wanted_departments.update(t.area_id for t in tickets if t.area_id is not None)
    if wanted.departments and related.assignments is not None:
        for assignments in related.assignments.values():
            wanted_departments.update(a.department_id for a in assignments)
    if wanted.departments or wanted.areas:
        related.departments = await _departments(reads, tenant_id, wanted_departments)
    # a reader of tickets without the category right gets the field's own refusal
    if wanted.categories and allowed(actor, Action.CATEGORY_READ):
        keys = sorted({t.category_id for t in tickets if t.category_id is not None})
        related.categories = await _categories(reads, tenant_id, keys, parents=wanted.parents)


async def _departments(reads: Reads, tenant_id: int, ids: Iterable[int]) -> dict[int, Department]:
    keys = sorted(set(ids))
    if not keys:
        return {}
    rows = await reads.fetch(
        f"SELECT {DEPARTMENTS.columns} FROM departments WHERE tenant_id = $1 AND id = ANY($2)",
        tenant_id,
        keys,
    )
    return {d.id: d for d in DEPARTMENTS.many(rows)}


async def _categories(
    reads: Reads, tenant_id: int, ids: list[int], *, parents: bool
) -> dict[int, Category]:
    if not ids:
        return {}
    also = (
        " OR id IN (SELECT parent_id FROM categories WHERE tenant_id = $1 AND id = ANY($2))"
        if parents
        else ""
    )
    rows = await reads.fetch(
        f"SELECT {CATEGORIES.columns} FROM categories WHERE tenant_id = $1 "
        f"AND (id = ANY($2){also})",
        tenant_id,
        ids,
    )
    return {c.id: c for c in CATEGORIES.many(rows)}
