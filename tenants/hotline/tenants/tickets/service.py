"""Work orders: the only writers of tickets, assignments and their timeline.

Every state change is one function and one transaction: the actor's city scope is
set first (the connection's row-level-security settings are fixed when the
transaction acquires it), the ticket row is locked (``SELECT … FOR UPDATE``, always
the ticket before its assignments), the transition is checked against
:mod:`.flow`, the stage timestamp and the lead's deadlines are written, and a
hash-chained timeline event is appended. Two handlers acting on one assignment at
once queue on the lock; the second sees the new state and gets
:class:`~.flow.IllegalTransition`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F, Q
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from hotline.platform import outbox
from hotline.platform.calendar import WorkCalendar
from hotline.platform.crypto import encrypt, keyed_hash
from hotline.platform.tenancy import Scope, current_tenant_id, use_scope
from hotline.tenants.access import (
    CENTER_ROLES,
    CITY_TABLE,
    Action,
    Actor,
    allowed,
    require,
)
from hotline.tenants.accounts.audit import record_audit
from hotline.tenants.categories.models import Category
from hotline.tenants.deadlines_sweep import service as deadlines_sweep
from hotline.tenants.departments.models import Department, DepartmentKind
from hotline.tenants.errors import Conflict, Invalid, NotFound, PermissionDenied
from hotline.tenants.knowledge import service as knowledge
from hotline.tenants.notifications.rules import on_ticket_event
from hotline.tenants.provinces.calendar import tenant_calendar
from hotline.tenants.provinces.models import Province, Tenant
from hotline.tenants.routing import service as routing
from hotline.tenants.routing.models import RoutingRule
from hotline.tenants.sla.rules import SlaPolicy, effective_sla
from hotline.tenants.tickets import deadlines, flow, numbering, timeline
from hotline.tenants.tickets.citizen import proven_ticket
from hotline.tenants.tickets.flow import Action as FA
from hotline.tenants.tickets.flow import AssignmentAction as AA
from hotline.tenants.tickets.flow import IllegalTransition
from hotline.tenants.tickets.geo import Datum, to_wgs84
from hotline.tenants.tickets.models import (
    Assignment,
    AssignmentStatus,
    Channel,
    ExtensionRequest,
    Kind,
    Priority,
    Revisit,
    Satisfaction,
    Status,
    Supervision,
    Ticket,
    TimelineEvent,
)
from hotline.tenants.tickets.phones import PHONE_PURPOSE, normalize_phone

_COORD = Decimal("0.0000001")
MAX_SUPERVISION_LEVEL = 2  # 1 department manager, 2 city leadership


@dataclass(frozen=True)
class CreatedTicket:
    ticket: Ticket
    query_code: str  # shown to the citizen once; only its keyed hash is stored
    created: bool  # False when the idempotency key found an existing ticket


@dataclass(frozen=True)
class Suggestion:
    department: Department
    rule_id: int
    rule_name: str


@dataclass(frozen=True)
class Transfer:
    source: Ticket  # TRANSFERRED, in the old city
    target: Ticket  # RECEIVED, with its own number, in the new city
    query_code: str


def _now() -> datetime:
    return datetime.now(UTC)


# --- scope, visibility, locks -----------------------------------------------------


@contextmanager
def _city(actor: Actor) -> Iterator[Scope]:
    if actor.tenant_id is None or actor.province_id is None:
        raise NotFound("city")
    with use_scope(Scope.city(actor.tenant_id, actor.province_id, actor.user_id)) as scope:
        yield scope


def _role(actor: Actor, action: Action) -> str:
    """The role under which the actor acts, for the timeline."""
    roles = sorted(r.value for r in CITY_TABLE.get(action, frozenset()) & actor.roles)
    if roles:
        return roles[0]
    if actor.is_province_admin:
        return "province_admin"
    if actor.api_key_id is not None:
        return "api_key"
    return "citizen" if actor.user_id is None else ""


async def _scope_paths(actor: Actor) -> list[str] | None:
    """Department subtrees the actor may READ in; None = the whole city."""
    if actor.roles & CENTER_ROLES or actor.is_province_admin:
        return None
    return await _handling_paths(actor)


async def _handling_paths(actor: Actor) -> list[str]:
    """Department subtrees the actor may WORK in. Handling is department work: a center
    role held beside a department role widens reading only, never handling."""
    if not actor.department_ids:
        return []
    rows = Department.filter(id__in=sorted(actor.department_ids)).values_list("path", flat=True)
    return cast(list[str], await rows)


def _within(path: str, paths: Sequence[str]) -> bool:
    return any(path.startswith(p) for p in paths)


def _assignments(ticket: Ticket) -> QuerySet[Assignment]:
    # Explicit tenant filter: also used under the province scope of a transfer.
    return Assignment.across_tenants().filter(tenant_id=ticket.tenant_id, ticket_id=ticket.id)


async def _visible(actor: Actor, ticket: Ticket, paths: list[str] | None) -> bool:
    if paths is None:
        return True
    department_ids = await _assignments(ticket).values_list("department_id", flat=True)
    if not department_ids:
        return False
    found = await Department.filter(id__in=set(department_ids)).values_list("path", flat=True)
    return any(_within(p, paths) for p in cast(list[str], found))


async def access_ticket(*, actor: Actor, ticket_id: int) -> Ticket:
    """A ticket the actor may see (department roles: assigned in their subtree), or NotFound."""
    require(actor, Action.TICKET_READ)
    with _city(actor):
        ticket = await Ticket.get_or_none(id=ticket_id)
        if ticket is None or not await _visible(actor, ticket, await _scope_paths(actor)):
            raise NotFound("ticket")
        return ticket


async def access_assignment(*, actor: Actor, assignment_id: int) -> Assignment:
    require(actor, Action.TICKET_READ)
    with _city(actor):
        assignment = await Assignment.get_or_none(id=assignment_id)
        if assignment is None:
            raise NotFound("assignment")
        await access_ticket(actor=actor, ticket_id=assignment.ticket_id)
        return assignment


async def _lock_ticket(actor: Actor, ticket_id: int, paths: list[str] | None) -> Ticket:
    ticket = await Ticket.filter(id=ticket_id).select_for_update().first()
    if ticket is None or not await _visible(actor, ticket, paths):
        raise NotFound("ticket")
    return ticket


async def _locked_for_handling(
    actor: Actor, assignment_id: int, action: Action = Action.TICKET_HANDLE
) -> tuple[Ticket, Assignment]:
    """Ticket then assignment, locked; the assignment must be inside the actor's subtree."""
    found = await Assignment.get_or_none(id=assignment_id)
    if found is None:
        raise NotFound("assignment")
    paths = await _scope_paths(actor)
    ticket = await _lock_ticket(actor, found.ticket_id, paths)
    assignment = await Assignment.filter(id=assignment_id).select_for_update().first()
    if assignment is None:
        raise NotFound("assignment")
    if action is Action.TICKET_HANDLE:
        department = await Department.get(id=assignment.department_id)
        if not _within(department.path, await _handling_paths(actor)):
            raise PermissionDenied("this assignment belongs to another department")
    return ticket, assignment


# --- transitions ------------------------------------------------------------------


# The outbox kind of "route this new ticket" (hotline.tenants.routing.ml_service).
ROUTE_KIND = "route"


async def _append(ticket: Ticket, actor: Actor | None, **event: Any) -> TimelineEvent:
    """Append a timeline event and, in the same transaction, the notifications it causes
    (outbox rows: a rollback sends nothing, a commit loses nothing)."""
    appended = await timeline.append(ticket, **event)
    # The ticket's own city for the rules' queries; the transaction keeps the scope it
    # started in (a transfer runs in the province's, which covers both cities).
    with use_scope(Scope.city(ticket.tenant_id, ticket.province_id)):
        await on_ticket_event(ticket=ticket, event=appended, actor=actor)
    return appended


async def _move(
    ticket: Ticket,
    action: FA,
    *,
    actor: Actor,
    permission: Action,
    at: datetime,
    event: str | None = None,
    reason: str = "",
    assignment: Assignment | None = None,
    department_id: int | None = None,
    data: dict[str, Any] | None = None,
    stage: bool = True,
) -> None:
    """Check and apply one ticket transition, stamp its stage, append the event."""
    old = ticket.status
    new = flow.check(old, action)
    ticket.status = new
    if stage and new is not old and new in flow.STAGE_FIELD:
        setattr(ticket, flow.STAGE_FIELD[new], at)
    await _append(
        ticket,
        actor,
        action=event or action.value,
        at=at,
        actor_id=actor.user_id,
        actor_role=_role(actor, permission),
        from_status=old.value,
        to_status=new.value,
        department_id=assignment.department_id if assignment is not None else department_id,
        assignment_id=assignment.id if assignment is not None else None,
        reason=reason,
        data=data,
    )


async def _save(ticket: Ticket) -> None:
    ticket.version += 1
    await ticket.save(force_update=True)


async def _save_assignment(assignment: Assignment, action: AA, **changes: Any) -> None:
    assignment.status = flow.check_assignment(assignment.status, action)
    assignment.update_from_dict(changes)
    assignment.version += 1
    await assignment.save(force_update=True)


def _is_top_lead(assignment: Assignment) -> bool:
    return assignment.is_lead and assignment.parent_id is None


async def _lead(ticket: Ticket) -> Assignment | None:
    lead: Assignment | None = (
        await _assignments(ticket).filter(is_lead=True, parent_id=None).order_by("-round").first()
    )
    return lead


def _copy_deadlines(ticket: Ticket, lead: Assignment | None) -> None:
    ticket.sign_deadline = lead.sign_deadline if lead else None
    ticket.reply_deadline = lead.reply_deadline if lead else None
    ticket.due_soon_at = lead.due_soon_at if lead else None


async def _end_assignments(ticket: Ticket, action: AA) -> int:
    """Close or cancel every active assignment of the ticket (all rounds, all levels)."""
    target = AssignmentStatus.CLOSED if action is AA.CLOSE else AssignmentStatus.CANCELLED
    count: int = (
        await _assignments(ticket)
        .filter(status__in=list(flow.ACTIVE))
        .update(status=target, version=F("version") + 1)
    )
    return count


def _required(text: str, field: str, what: str = "a reason") -> str:
    text = text.strip()
    if not text:
        raise Invalid("give {what}", field=field, what=what)
    return text


# --- policy and calendar ----------------------------------------------------------


async def _tenant(tenant_id: int) -> Tenant:
    tenant = await Tenant.get_or_none(id=tenant_id)
    if tenant is None:
        raise NotFound("city")
    return tenant


async def _policy(tenant: Tenant, category_id: int | None) -> SlaPolicy:
    """Province defaults, then the city, then the category's ancestors and itself."""
    province = await Province.get(id=tenant.province_id)
    layers: list[dict[str, Any]] = [province.sla_defaults, tenant.sla_overrides]
    if category_id is not None:
        category = await Category.get_or_none(id=category_id)
        if category is not None:
            ids = [int(i) for i in category.path.strip("/").split("/") if i]
            chain = {c.id: c for c in await Category.filter(id__in=ids)}
            layers += [chain[i].sla_overrides for i in ids if i in chain]
    return effective_sla(*layers)


@dataclass(frozen=True)
class _Clock:
    calendar: WorkCalendar
    policy: SlaPolicy


async def _clock(tenant_id: int, category_id: int | None) -> _Clock:
    tenant = await _tenant(tenant_id)
    return _Clock(await tenant_calendar(tenant), await _policy(tenant, category_id))


# --- intake -----------------------------------------------------------------------


async def _category(category_id: int | None) -> Category | None:
    if category_id is None:
        return None
    category = await Category.get_or_none(id=category_id)
    if category is None:
        raise NotFound("category", field="categoryId")
    if not category.is_active:
        raise Invalid("the category is inactive", field="categoryId")
    return category


async def _department(department_id: int, field: str) -> Department:
    department = await Department.get_or_none(id=department_id)
    if department is None:
        raise NotFound("department", field=field)
    if not department.is_active:
        raise Invalid("the department is deactivated", field=field)
    return department


def _location(
    lng: Decimal | float | None, lat: Decimal | float | None, datum: Datum
) -> tuple[Decimal | None, Decimal | None]:
    if lng is None and lat is None:
        return None, None
    if lng is None or lat is None:
        raise Invalid("give both longitude and latitude", field="location")
    if not (-180 <= float(lng) <= 180 and -90 <= float(lat) <= 90):
        raise Invalid("coordinates out of range", field="location")
    w_lng, w_lat = to_wgs84(float(lng), float(lat), datum)
    return Decimal(repr(w_lng)).quantize(_COORD), Decimal(repr(w_lat)).quantize(_COORD)


async def create_ticket(
    *,
    actor: Actor,
    channel: Channel,
    kind: Kind,
    content: str,
    title: str = "",
    priority: Priority = Priority.NORMAL,
    citizen_name: str | None = None,
    citizen_phone: str | None = None,
    anonymous: bool = False,
    confidential: bool = False,
    address: str = "",
    lng: Decimal | float | None = None,
    lat: Decimal | float | None = None,
    datum: Datum = Datum.WGS84,
    category_id: int | None = None,
    area_id: int | None = None,
    idempotency_key: str | None = None,
) -> CreatedTicket:
    """Record a submission. An emergency goes at once to the city's duty room.

    Anonymous tickets keep neither name nor phone. A repeated ``idempotency_key``
    returns the first ticket (and the same query code), also under concurrency.
    """
    require(actor, Action.TICKET_CREATE)
    content = _required(content, "content", "the content")
    if len(title) > 200 or len(address) > 300:
        raise Invalid("title or address too long", field="title" if len(title) > 200 else "address")
    if idempotency_key is not None and not 1 <= len(idempotency_key) <= 100:
        raise Invalid("an idempotency key is 1 to 100 characters", field="idempotencyKey")
    name = None if anonymous or not citizen_name else citizen_name.strip()[:100] or None
    phone = None if anonymous or not citizen_phone else normalize_phone(citizen_phone)
    w_lng, w_lat = _location(lng, lat, datum)
    with _city(actor):
        tenant = await _tenant(current_tenant_id())
        if idempotency_key is not None:
            existing = await Ticket.get_or_none(idempotency_key=idempotency_key)
            if existing is not None:
                return _repeat(existing, idempotency_key)
        await _category(category_id)
        if area_id is not None:
            await _department(area_id, "areaId")
        duty_room = None
        if priority is Priority.EMERGENCY:
            duty_room = (
                await Department.filter(is_duty_room=True, is_active=True)
                .order_by("depth", "id")
                .first()
            )
        clock = await _clock(tenant.id, category_id) if duty_room is not None else None
        code = (
            numbering.new_query_code()
            if idempotency_key is None
            else numbering.query_code_for_key(tenant.id, idempotency_key)
        )
        now = _now()
        try:
            async with in_transaction() as conn:
                number = await numbering.next_number(
                    conn,
                    tenant_id=tenant.id,
                    province_id=tenant.province_id,
                    prefix=tenant.number_prefix,
                    timezone=tenant.timezone,
                    at=now,
                )
                ticket = await Ticket.create(
                    number=number,
                    query_code_hash=numbering.hash_query_code(tenant.id, code),
                    channel=channel,
                    kind=kind,
                    priority=priority,
                    title=title.strip(),
                    content=content,
                    citizen_name_enc=encrypt(name) if name else None,
                    citizen_phone_enc=encrypt(phone) if phone else None,
                    citizen_phone_hash=keyed_hash(phone, PHONE_PURPOSE) if phone else None,
                    anonymous=anonymous,
                    confidential=confidential,
                    address=address.strip(),
                    lng=w_lng,
                    lat=w_lat,
                    category_id=category_id,
                    area_id=area_id,
                    idempotency_key=idempotency_key,
                    created_by_id=actor.user_id,
                    received_at=now,
                )
                await _append(
                    ticket,
                    actor,
                    action=FA.CREATE.value,
                    at=now,
                    actor_id=actor.user_id,
                    actor_role=_role(actor, Action.TICKET_CREATE),
                    from_status="",
                    to_status=Status.RECEIVED.value,
                    data={"channel": channel.value, "kind": kind.value, "priority": priority.value},
                )
                if duty_room is not None and clock is not None:
                    await _dispatch(
                        ticket,
                        actor=actor,
                        clock=clock,
                        at=now,
                        lead=duty_room,
                        co=[],
                        reason="emergency: straight to the duty room",
                    )
                else:
                    # Routing (rules, then the city's model) runs in a worker; written to
                    # the outbox with the ticket, so a committed ticket is always routed.
                    await outbox.add(
                        kind=ROUTE_KIND,
                        tenant_id=ticket.tenant_id,
                        province_id=ticket.province_id,
                        payload={"ticket_id": ticket.id},
                        send_key=f"route-{ticket.tenant_id}-{ticket.id}",
                    )
                await _save(ticket)
        except IntegrityError:
            if idempotency_key is None:
                raise
            # Another request with the same key committed first.
            existing = await Ticket.get_or_none(idempotency_key=idempotency_key)
            if existing is None:
                raise
            return _repeat(existing, idempotency_key)
    return CreatedTicket(ticket=ticket, query_code=code, created=True)


def _repeat(ticket: Ticket, idempotency_key: str) -> CreatedTicket:
    code = numbering.query_code_for_key(ticket.tenant_id, idempotency_key)
    return CreatedTicket(ticket=ticket, query_code=code, created=False)


async def suggest_departments(
    *,
    actor: Actor,
    content: str,
    category_id: int | None = None,
    area_id: int | None = None,
    limit: int = 3,
) -> list[Suggestion]:
    """Departments of the routing rules that match, in rule order (the first is the rule's
    choice): area within the rule's subtree, category within its subtree, any keyword."""
    require(actor, Action.TICKET_CREATE)
    with _city(actor):
        picked: list[RoutingRule] = []
        for rule in await routing.matching_rules(
            content=content, category_id=category_id, area_id=area_id
        ):
            if all(p.department_id != rule.department_id for p in picked):
                picked.append(rule)
        departments = {
            d.id: d
            for d in await Department.filter(
                id__in=[r.department_id for r in picked], is_active=True
            )
        }
    return [
        Suggestion(department=departments[r.department_id], rule_id=r.id, rule_name=r.name)
        for r in picked
        if r.department_id in departments
    ][:limit]


async def duplicate_candidates(
    *, actor: Actor, ticket_id: int, within_days: int = 30, limit: int = 10
) -> list[Ticket]:
    """Earlier tickets of the same caller, or of the same category and area, within N days."""
    require(actor, Action.TICKET_DISPATCH)
    ticket = await access_ticket(actor=actor, ticket_id=ticket_id)
    same = Q(id=-1)
    if ticket.citizen_phone_hash:
        same |= Q(citizen_phone_hash=ticket.citizen_phone_hash)
    if ticket.category_id is not None and ticket.area_id is not None:
        same |= Q(category_id=ticket.category_id, area_id=ticket.area_id)
    with _city(actor):
        found: list[Ticket] = (
            await Ticket.filter(same)
            .filter(
                received_at__gte=ticket.received_at - timedelta(days=within_days),
                received_at__lte=ticket.received_at,
            )
            .exclude(id=ticket.id)
            .exclude(status=Status.MERGED)
            .order_by("-received_at", "-id")
            .limit(limit)
        )
    return found


# --- dispatch and department work ---------------------------------------------------


async def _dispatch(
    ticket: Ticket,
    *,
    actor: Actor,
    clock: _Clock,
    at: datetime,
    lead: Department,
    co: Sequence[Department],
    reason: str,
) -> None:
    emergency = ticket.priority is Priority.EMERGENCY
    last = await _assignments(ticket).order_by("-round").first()
    round_no = (last.round if last else 0) + 1
    times = deadlines.for_dispatch(clock.calendar, clock.policy, at, emergency=emergency)
    created: list[Assignment] = []
    for department, is_lead in [(lead, True), *[(d, False) for d in co]]:
        created.append(
            await Assignment.create(
                tenant_id=ticket.tenant_id,
                province_id=ticket.province_id,
                ticket_id=ticket.id,
                department_id=department.id,
                is_lead=is_lead,
                round=round_no,
                sign_deadline=times.sign,
                reply_deadline=times.reply,
                due_soon_at=times.due_soon,
                assigned_by_id=actor.user_id,
                created_at=at,
            )
        )
    await _move(
        ticket,
        FA.DISPATCH,
        actor=actor,
        permission=Action.TICKET_DISPATCH,
        at=at,
        reason=reason,
        assignment=created[0],
        data={
            "round": round_no,
            "lead": lead.id,
            "co": [d.id for d in co],
            "sign_deadline": times.sign,
            "reply_deadline": times.reply,
        },
    )
    # A new round: later stages of an earlier round no longer describe this one.
    ticket.accepted_at = ticket.replied_at = ticket.reviewed_at = ticket.revisited_at = None
    _copy_deadlines(ticket, created[0])


async def dispatch_ticket(
    *,
    actor: Actor,
    ticket_id: int,
    lead_department_id: int,
    co_department_ids: Sequence[int] = (),
    reason: str = "",
) -> Ticket:
    """Send a ticket held by the center (received, returned, reopened) to a lead
    department and optional co-handlers; each gets an assignment with deadlines."""
    require(actor, Action.TICKET_DISPATCH)
    ids = [lead_department_id, *co_department_ids]
    if len(set(ids)) != len(ids):
        raise Invalid("a department appears twice", field="coDepartmentIds")
    with _city(actor):
        departments = [
            await _department(
                i, "leadDepartmentId" if i == lead_department_id else "coDepartmentIds"
            )
            for i in ids
        ]
        for d in departments:
            if d.kind is DepartmentKind.CENTER:
                raise Invalid("dispatch to a department, not the center", field="leadDepartmentId")
        now = _now()
        async with in_transaction():
            ticket = await _lock_ticket(actor, ticket_id, None)
            flow.check(ticket.status, FA.DISPATCH)
            clock = await _clock(ticket.tenant_id, ticket.category_id)
            await _dispatch(
                ticket,
                actor=actor,
                clock=clock,
                at=now,
                lead=departments[0],
                co=departments[1:],
                reason=reason.strip(),
            )
            await _save(ticket)
    return ticket


async def sign_for_assignment(*, actor: Actor, assignment_id: int) -> Assignment:
    require(actor, Action.TICKET_HANDLE)
    with _city(actor):
        now = _now()
        async with in_transaction():
            ticket, assignment = await _locked_for_handling(actor, assignment_id)
            await _save_assignment(
                assignment, AA.SIGN_FOR, signed_at=now, signed_by_id=actor.user_id
            )
            await _move(
                ticket,
                FA.SIGN_FOR if _is_top_lead(assignment) else FA.HANDLE,
                event="sign_for",
                actor=actor,
                permission=Action.TICKET_HANDLE,
                at=now,
                assignment=assignment,
            )
            await _save(ticket)
    return assignment


async def _returned(
    ticket: Ticket,
    assignment: Assignment,
    *,
    actor: Actor,
    permission: Action,
    at: datetime,
    reason: str,
) -> None:
    """An assignment came back: the lead's return sends the ticket to the center's queue
    and ends the round; a co-handler's or a sub-dispatch's return only ends its own."""
    if _is_top_lead(assignment):
        await _move(
            ticket,
            FA.RETURN,
            actor=actor,
            permission=permission,
            at=at,
            reason=reason,
            assignment=assignment,
        )
        await _end_assignments(ticket, AA.CANCEL)
        _copy_deadlines(ticket, None)
    else:
        await _move(
            ticket,
            FA.HANDLE,
            event="return",
            actor=actor,
            permission=permission,
            at=at,
            reason=reason,
            assignment=assignment,
        )


async def return_assignment(*, actor: Actor, assignment_id: int, reason: str) -> Assignment:
    """Before signing: returned at once. After signing: a return request for a supervisor."""
    require(actor, Action.TICKET_HANDLE)
    reason = _required(reason, "reason")
    with _city(actor):
        now = _now()
        async with in_transaction():
            ticket, assignment = await _locked_for_handling(actor, assignment_id)
            if assignment.status is AssignmentStatus.PENDING_SIGN:
                await _save_assignment(assignment, AA.RETURN, return_reason=reason)
                await _returned(
                    ticket,
                    assignment,
                    actor=actor,
                    permission=Action.TICKET_HANDLE,
                    at=now,
                    reason=reason,
                )
            else:
                await _save_assignment(assignment, AA.REQUEST_RETURN, return_reason=reason)
                await _move(
                    ticket,
                    FA.HANDLE,
                    event="return_requested",
                    actor=actor,
                    permission=Action.TICKET_HANDLE,
                    at=now,
                    reason=reason,
                    assignment=assignment,
                )
            await _save(ticket)
    return assignment


async def decide_return(
    *, actor: Actor, assignment_id: int, approve: bool, note: str = ""
) -> Assignment:
    require(actor, Action.TICKET_DECIDE)
    with _city(actor):
        now = _now()
        async with in_transaction():
            ticket, assignment = await _locked_for_handling(
                actor, assignment_id, Action.TICKET_DECIDE
            )
            if approve:
                await _save_assignment(assignment, AA.APPROVE_RETURN)
                await _returned(
                    ticket,
                    assignment,
                    actor=actor,
                    permission=Action.TICKET_DECIDE,
                    at=now,
                    reason=note.strip() or assignment.return_reason,
                )
            else:
                await _save_assignment(assignment, AA.REJECT_RETURN)
                await _move(
                    ticket,
                    FA.HANDLE,
                    event="return_rejected",
                    actor=actor,
                    permission=Action.TICKET_DECIDE,
                    at=now,
                    reason=note.strip(),
                    assignment=assignment,
                )
            await _save(ticket)
    return assignment


async def sub_dispatch(
    *,
    actor: Actor,
    assignment_id: int,
    department_id: int,
    reply_deadline: datetime | None = None,
    reason: str = "",
) -> Assignment:
    """Hand part of a signed assignment down the department's own subtree, due no later."""
    require(actor, Action.TICKET_HANDLE)
    with _city(actor):
        now = _now()
        async with in_transaction():
            ticket, parent = await _locked_for_handling(actor, assignment_id)
            flow.check_assignment(parent.status, AA.SUB_DISPATCH)
            target = await _department(department_id, "departmentId")
            own = await Department.get(id=parent.department_id)
            if target.id == own.id or not target.path.startswith(own.path):
                raise Invalid(
                    "sub-dispatch only into your own department's subtree", field="departmentId"
                )
            clock = await _clock(ticket.tenant_id, ticket.category_id)
            times = deadlines.for_sub_dispatch(
                clock.calendar,
                clock.policy,
                now,
                parent_reply=parent.reply_deadline,
                wanted_reply=reply_deadline,
            )
            child = await Assignment.create(
                ticket_id=ticket.id,
                department_id=target.id,
                parent_id=parent.id,
                round=parent.round,
                sign_deadline=times.sign,
                reply_deadline=times.reply,
                due_soon_at=times.due_soon,
                assigned_by_id=actor.user_id,
                created_at=now,
            )
            await _move(
                ticket,
                FA.HANDLE,
                event="sub_dispatch",
                actor=actor,
                permission=Action.TICKET_HANDLE,
                at=now,
                reason=reason.strip(),
                assignment=parent,
                data={"child": child.id, "department": target.id, "reply_deadline": times.reply},
            )
            await _save(ticket)
    return child


async def request_extension(
    *, actor: Actor, assignment_id: int, working_days: int, reason: str
) -> ExtensionRequest:
    require(actor, Action.TICKET_HANDLE)
    reason = _required(reason, "reason")
    with _city(actor):
        now = _now()
        async with in_transaction():
            ticket, assignment = await _locked_for_handling(actor, assignment_id)
            flow.check_assignment(assignment.status, AA.EXTEND)
            if await ExtensionRequest.exists(assignment_id=assignment.id, status="pending"):
                raise Conflict("an extension request is already pending", field="assignmentId")
            clock = await _clock(ticket.tenant_id, ticket.category_id)
            # Refuse at once what the supervisor could not grant.
            deadlines.extended(
                clock.calendar,
                clock.policy,
                dispatched_at=assignment.created_at,
                current_reply=assignment.reply_deadline,
                working_days=working_days,
            )
            request = await ExtensionRequest.create(
                assignment_id=assignment.id,
                ticket_id=ticket.id,
                working_days=working_days,
                reason=reason,
                requested_by_id=actor.user_id,
            )
            await _move(
                ticket,
                FA.HANDLE,
                event="extension_requested",
                actor=actor,
                permission=Action.TICKET_HANDLE,
                at=now,
                reason=reason,
                assignment=assignment,
                data={"request": request.id, "working_days": working_days},
            )
            await _save(ticket)
    return request


async def decide_extension(
    *, actor: Actor, extension_id: int, approve: bool, note: str = ""
) -> ExtensionRequest:
    """A supervisor grants or refuses; a grant moves the assignment's reply deadline."""
    require(actor, Action.TICKET_DECIDE)
    with _city(actor):
        found = await ExtensionRequest.get_or_none(id=extension_id)
        if found is None:
            raise NotFound("extension request")
        now = _now()
        async with in_transaction():
            ticket, assignment = await _locked_for_handling(
                actor, found.assignment_id, Action.TICKET_DECIDE
            )
            request = await ExtensionRequest.filter(id=extension_id).select_for_update().first()
            if request is None:
                raise NotFound("extension request")
            if request.status != "pending":
                raise IllegalTransition("extension request", request.status, "decide")
            request.update_from_dict(
                {"decided_by_id": actor.user_id, "decided_at": now, "decision_note": note.strip()}
            )
            if approve:
                clock = await _clock(ticket.tenant_id, ticket.category_id)
                reply, due_soon = deadlines.extended(
                    clock.calendar,
                    clock.policy,
                    dispatched_at=assignment.created_at,
                    current_reply=assignment.reply_deadline,
                    working_days=request.working_days,
                )
                await _save_assignment(
                    assignment,
                    AA.EXTEND,
                    reply_deadline=reply,
                    due_soon_at=due_soon,
                    extended_days=assignment.extended_days + request.working_days,
                )
                request.status, request.new_deadline = "approved", reply
                if _is_top_lead(assignment):
                    _copy_deadlines(ticket, assignment)
            else:
                request.status = "rejected"
            await request.save()
            await _move(
                ticket,
                FA.HANDLE,
                event=f"extension_{request.status}",
                actor=actor,
                permission=Action.TICKET_DECIDE,
                at=now,
                reason=note.strip(),
                assignment=assignment,
                data={"request": request.id, "new_deadline": request.new_deadline},
            )
            await _save(ticket)
    return request


async def reply_assignment(
    *,
    actor: Actor,
    assignment_id: int,
    reply: str,
    resolved: bool | None = None,
    public_reply: str | None = None,
) -> Assignment:
    """The lead's reply moves the ticket to review; a co-handler's is its opinion; a
    sub-dispatch's goes to its parent. Co-handlers' opinions are optional."""
    require(actor, Action.TICKET_HANDLE)
    reply = _required(reply, "reply", "the reply")
    with _city(actor):
        now = _now()
        async with in_transaction():
            ticket, assignment = await _locked_for_handling(actor, assignment_id)
            await _save_assignment(
                assignment,
                AA.REPLY,
                reply=reply,
                resolved=resolved,
                replied_at=now,
                replied_by_id=actor.user_id,
            )
            if _is_top_lead(assignment):
                await _move(
                    ticket,
                    FA.REPLY,
                    actor=actor,
                    permission=Action.TICKET_HANDLE,
                    at=now,
                    assignment=assignment,
                    data={"resolved": resolved},
                )
                ticket.resolved = resolved
                ticket.public_reply = (public_reply or reply).strip()
            else:
                await _move(
                    ticket,
                    FA.HANDLE,
                    event="opinion" if assignment.parent_id is None else "sub_reply",
                    actor=actor,
                    permission=Action.TICKET_HANDLE,
                    at=now,
                    assignment=assignment,
                    data={"resolved": resolved},
                )
            await _save(ticket)
    return assignment


# --- the center: review, revisit, rating, direct answers -----------------------------


async def review_reply(*, actor: Actor, ticket_id: int, approve: bool, reason: str = "") -> Ticket:
    """Approve: the round's assignments close and the ticket awaits the revisit.
    Reject: the lead assignment goes back to signed, with the reason."""
    require(actor, Action.TICKET_REVIEW)
    if not approve:
        reason = _required(reason, "reason")
    with _city(actor):
        now = _now()
        async with in_transaction():
            ticket = await _lock_ticket(actor, ticket_id, None)
            lead = await _lead(ticket)
            if approve:
                await _move(
                    ticket,
                    FA.REVIEW_APPROVE,
                    actor=actor,
                    permission=Action.TICKET_REVIEW,
                    at=now,
                    reason=reason.strip(),
                    assignment=lead,
                )
                await _end_assignments(ticket, AA.CLOSE)
                ticket.revisit_attempts = 0
            else:
                flow.check(ticket.status, FA.REVIEW_REJECT)
                if lead is None:
                    raise Conflict("the ticket has no lead assignment")
                await _move(
                    ticket,
                    FA.REVIEW_REJECT,
                    actor=actor,
                    permission=Action.TICKET_REVIEW,
                    at=now,
                    reason=reason,
                    assignment=lead,
                    stage=False,
                )
                await _save_assignment(lead, AA.REOPEN)
                await deadlines_sweep.rewind(
                    deadlines=[lead.reply_deadline, lead.due_soon_at], now=now
                )
            await _save(ticket)
    return ticket


async def _grade(
    ticket: Ticket,
    *,
    actor: Actor,
    permission: Action,
    at: datetime,
    grade: Satisfaction,
    resolved: bool | None,
    source: str,
    note: str,
) -> None:
    if grade is Satisfaction.UNREACHABLE:
        raise Invalid("record an unreachable citizen with reached=false", field="grade")
    lead = await _lead(ticket)
    action = FA.REVISIT_UNSATISFIED if grade is Satisfaction.UNSATISFIED else FA.REVISIT_SATISFIED
    await _move(
        ticket,
        action,
        event="revisit" if source == "center" else "rate",
        actor=actor,
        permission=permission,
        at=at,
        reason=note,
        # an unsatisfied grade counts against the lead department
        department_id=lead.department_id if lead else None,
        data={"grade": grade.value, "resolved": resolved, "source": source},
    )
    ticket.satisfaction, ticket.satisfaction_source = grade, source
    ticket.revisited_at = at
    if resolved is not None:
        ticket.resolved = resolved
    if ticket.status is Status.REOPENED:
        ticket.reopen_count += 1
        _copy_deadlines(ticket, None)
    await Revisit.create(
        tenant_id=ticket.tenant_id,
        province_id=ticket.province_id,
        ticket_id=ticket.id,
        attempt=ticket.revisit_attempts + 1,
        reached=True,
        grade=grade,
        resolved=resolved,
        source=source,
        note=note,
        by_id=actor.user_id,
    )


async def revisit_ticket(
    *,
    actor: Actor,
    ticket_id: int,
    reached: bool,
    grade: Satisfaction | None = None,
    resolved: bool | None = None,
    note: str = "",
) -> Ticket:
    """The center's call to the citizen. Unreached attempts count up to the city's limit,
    then the ticket closes as unreachable; unsatisfied reopens it for re-dispatch."""
    require(actor, Action.TICKET_REVISIT)
    if reached and grade is None:
        raise Invalid("give the citizen's grade", field="grade")
    with _city(actor):
        now = _now()
        async with in_transaction():
            ticket = await _lock_ticket(actor, ticket_id, None)
            if ticket.status is not Status.REVISIT:
                raise IllegalTransition("ticket", ticket.status.value, "revisit")
            if reached and grade is not None:
                await _grade(
                    ticket,
                    actor=actor,
                    permission=Action.TICKET_REVISIT,
                    at=now,
                    grade=grade,
                    resolved=resolved,
                    source="center",
                    note=note.strip(),
                )
            else:
                clock = await _clock(ticket.tenant_id, ticket.category_id)
                attempt = ticket.revisit_attempts + 1
                final = attempt >= clock.policy.revisit_attempt_limit
                await _move(
                    ticket,
                    FA.REVISIT_UNREACHABLE if final else FA.REVISIT_ATTEMPT,
                    actor=actor,
                    permission=Action.TICKET_REVISIT,
                    at=now,
                    reason=note.strip(),
                    data={"attempt": attempt},
                )
                ticket.revisit_attempts = attempt
                if final:
                    ticket.satisfaction = Satisfaction.UNREACHABLE
                    ticket.satisfaction_source = "center"
                    ticket.revisited_at = now
                await Revisit.create(
                    ticket_id=ticket.id,
                    attempt=attempt,
                    reached=False,
                    note=note.strip(),
                    by_id=actor.user_id,
                )
            await _save(ticket)
    return ticket


async def rate_ticket(
    *,
    actor: Actor,
    number: str,
    query_code: str,
    grade: Satisfaction,
    resolved: bool | None = None,
    note: str = "",
) -> Ticket:
    """The citizen's own grade (number + query code, no login). During the revisit it
    counts like the center's; on a ticket closed without a grade it is recorded. The
    first grade wins. A wrong code is NotFound, like a wrong number."""
    with _city(actor):
        found = await proven_ticket(
            tenant_id=current_tenant_id(), number=number, query_code=query_code
        )
        now = _now()
        async with in_transaction():
            ticket = await _lock_ticket(actor, found.id, None)
            if ticket.status is Status.REVISIT:
                await _grade(
                    ticket,
                    actor=actor,
                    permission=Action.TICKET_READ,
                    at=now,
                    grade=grade,
                    resolved=resolved,
                    source="citizen",
                    note=note.strip()[:500],
                )
            elif ticket.status is Status.CLOSED and ticket.satisfaction is None:
                if grade is Satisfaction.UNREACHABLE:
                    raise Invalid("not a citizen's grade", field="grade")
                await _append(
                    ticket,
                    actor,
                    action="rate",
                    at=now,
                    actor_id=None,
                    actor_role="citizen",
                    from_status=ticket.status.value,
                    to_status=ticket.status.value,
                    reason=note.strip()[:500],
                    data={"grade": grade.value, "resolved": resolved, "source": "citizen"},
                )
                ticket.satisfaction, ticket.satisfaction_source = grade, "citizen"
                await Revisit.create(
                    ticket_id=ticket.id,
                    attempt=ticket.revisit_attempts + 1,
                    reached=True,
                    grade=grade,
                    resolved=resolved,
                    source="citizen",
                    note=note.strip()[:500],
                )
            else:
                raise Conflict("this ticket cannot be rated now", field="grade")
            await _save(ticket)
    return ticket


async def answer_from_article(
    *, actor: Actor, ticket_id: int, article_id: int, answer: str | None = None
) -> Ticket:
    """Answer directly from the knowledge base (the "direct answer rate"): the ticket
    closes, or goes to a revisit when the city samples direct answers."""
    require(actor, Action.TICKET_DISPATCH)
    with _city(actor):
        # The article must be a published, valid one this city can see, even when the
        # agent adapts its wording.
        _, article_text = await knowledge.article_answer(actor=actor, article_id=article_id)
        text = answer.strip() if answer else article_text
        if not text:
            raise Invalid("the article has no answer to give", field="articleId")
        tenant = await _tenant(current_tenant_id())
        now = _now()
        async with in_transaction():
            ticket = await _lock_ticket(actor, ticket_id, None)
            await _move(
                ticket,
                FA.ANSWER,
                actor=actor,
                permission=Action.TICKET_DISPATCH,
                at=now,
                data={"article_id": article_id},
            )
            ticket.direct_answer, ticket.article_id, ticket.public_reply = True, article_id, text
            sampled = bool(tenant.features.get("revisit_sampling"))
            await _move(
                ticket,
                FA.SAMPLE_REVISIT if sampled else FA.CLOSE_ANSWERED,
                actor=actor,
                permission=Action.TICKET_DISPATCH,
                at=now,
            )
            _copy_deadlines(ticket, None)
            await _save(ticket)
    return ticket


# --- center decisions on the whole ticket ---------------------------------------------


async def _simple(
    *,
    actor: Actor,
    ticket_id: int,
    action: FA,
    permission: Action,
    reason: str,
    data: dict[str, Any] | None = None,
    end: AA | None = None,
    **changes: Any,
) -> Ticket:
    with _city(actor):
        now = _now()
        async with in_transaction():
            ticket = await _lock_ticket(actor, ticket_id, None)
            lead = await _lead(ticket)
            await _move(
                ticket,
                action,
                actor=actor,
                permission=permission,
                at=now,
                reason=reason,
                department_id=lead.department_id if lead else None,
                data=data,
            )
            if end is not None:
                await _end_assignments(ticket, end)
            ticket.update_from_dict(changes)
            await _save(ticket)
    return ticket


async def cancel_ticket(*, actor: Actor, ticket_id: int, reason: str) -> Ticket:
    require(actor, Action.TICKET_DISPATCH)
    return await _simple(
        actor=actor,
        ticket_id=ticket_id,
        action=FA.CANCEL,
        permission=Action.TICKET_DISPATCH,
        reason=_required(reason, "reason"),
        end=AA.CANCEL,
    )


async def reject_ticket(*, actor: Actor, ticket_id: int, reason: str) -> Ticket:
    """Not accepted / out of scope (不予受理), while the center holds the ticket."""
    require(actor, Action.TICKET_DISPATCH)
    reason = _required(reason, "reason")
    return await _simple(
        actor=actor,
        ticket_id=ticket_id,
        action=FA.REJECT,
        permission=Action.TICKET_DISPATCH,
        reason=reason,
        reject_reason=reason,
    )


async def urge_ticket(*, actor: Actor, ticket_id: int, note: str = "") -> Ticket:
    """The citizen urges (催办) an open ticket: counted, and on the timeline."""
    require(actor, Action.TICKET_DISPATCH)
    with _city(actor):
        now = _now()
        async with in_transaction():
            ticket = await _lock_ticket(actor, ticket_id, None)
            lead = await _lead(ticket)
            ticket.urge_count += 1
            await _move(
                ticket,
                FA.URGE,
                actor=actor,
                permission=Action.TICKET_DISPATCH,
                at=now,
                reason=note.strip(),
                department_id=lead.department_id if lead else None,
                data={"count": ticket.urge_count},
            )
            await _save(ticket)
    return ticket


async def reclassify_ticket(
    *,
    actor: Actor,
    ticket_id: int,
    category_id: int | None = None,
    area_id: int | None = None,
    kind: Kind | None = None,
    reason: str = "",
) -> Ticket:
    """Change category, area or kind; the old values stay in the timeline."""
    require(actor, Action.TICKET_DISPATCH)
    with _city(actor):
        await _category(category_id)
        if area_id is not None:
            await _department(area_id, "areaId")
        now = _now()
        async with in_transaction():
            ticket = await _lock_ticket(actor, ticket_id, None)
            wanted = {"category_id": category_id, "area_id": area_id, "kind": kind}
            changes = {k: v for k, v in wanted.items() if v is not None and v != getattr(ticket, k)}
            if not changes:
                raise Invalid("nothing to change", field="categoryId")
            old = {k: getattr(ticket, k) for k in changes}
            await _move(
                ticket,
                FA.RECLASSIFY,
                actor=actor,
                permission=Action.TICKET_DISPATCH,
                at=now,
                reason=reason.strip(),
                data={"old": old, "new": changes},
            )
            ticket.update_from_dict(changes)
            await _save(ticket)
    return ticket


async def merge_tickets(
    *, actor: Actor, ticket_id: int, into_ticket_id: int, reason: str = ""
) -> Ticket:
    """Close ``ticket_id`` as a duplicate of the open ``into_ticket_id``; both are linked."""
    require(actor, Action.TICKET_DISPATCH)
    if ticket_id == into_ticket_id:
        raise Invalid("a ticket cannot be merged into itself", field="intoTicketId")
    with _city(actor):
        now = _now()
        async with in_transaction():
            # Lock in id order so two opposite merges cannot deadlock.
            locked = {
                i: await _lock_ticket(actor, i, None) for i in sorted((ticket_id, into_ticket_id))
            }
            ticket, into = locked[ticket_id], locked[into_ticket_id]
            if not flow.is_open(into.status):
                raise IllegalTransition("ticket", into.status.value, "merge into")
            await _move(
                ticket,
                FA.MERGE,
                actor=actor,
                permission=Action.TICKET_DISPATCH,
                at=now,
                reason=reason.strip(),
                data={"into": into.id, "into_number": into.number},
            )
            ticket.merged_into_id = into.id
            await _end_assignments(ticket, AA.CANCEL)
            await _append(
                into,
                actor,
                action="merged_in",
                at=now,
                actor_id=actor.user_id,
                actor_role=_role(actor, Action.TICKET_DISPATCH),
                from_status=into.status.value,
                to_status=into.status.value,
                reason=reason.strip(),
                data={"duplicate": ticket.id, "duplicate_number": ticket.number},
            )
            await _save(ticket)
            await _save(into)
    return ticket


async def transfer_ticket(
    *, actor: Actor, ticket_id: int, to_tenant_id: int, reason: str
) -> Transfer:
    """Hand a ticket to another city of the same province (province admins). The old
    ticket ends TRANSFERRED; the new city gets a fresh ticket with its own number and
    query code; both keep the link. Runs under the province scope."""
    reason = _required(reason, "reason")
    province_id = actor.province_id
    if province_id is None:
        raise NotFound("ticket")
    require(actor, Action.TICKET_TRANSFER, province_id=province_id)
    target_city = await Tenant.get_or_none(id=to_tenant_id, province_id=province_id, is_active=True)
    if target_city is None:
        raise NotFound("city", field="toTenantId")
    code = numbering.new_query_code()
    now = _now()
    with use_scope(Scope.province(province_id, actor.user_id)):
        async with in_transaction() as conn:
            where: dict[str, Any] = {"id": ticket_id, "province_id": province_id}
            if actor.tenant_id is not None:
                where["tenant_id"] = actor.tenant_id
            source = await Ticket.across_tenants().filter(**where).select_for_update().first()
            if source is None:
                raise NotFound("ticket")
            if source.tenant_id == target_city.id:
                raise Invalid("the ticket is already in that city", field="toTenantId")
            flow.check(source.status, FA.TRANSFER)
            number = await numbering.next_number(
                conn,
                tenant_id=target_city.id,
                province_id=province_id,
                prefix=target_city.number_prefix,
                timezone=target_city.timezone,
                at=now,
            )
            target = await Ticket.create(
                tenant_id=target_city.id,
                province_id=province_id,
                number=number,
                query_code_hash=numbering.hash_query_code(target_city.id, code),
                channel=source.channel,
                kind=source.kind,
                priority=source.priority,
                title=source.title,
                content=source.content,
                citizen_name_enc=source.citizen_name_enc,
                citizen_phone_enc=source.citizen_phone_enc,
                citizen_phone_hash=source.citizen_phone_hash,
                anonymous=source.anonymous,
                confidential=source.confidential,
                address=source.address,
                lng=source.lng,
                lat=source.lat,
                created_by_id=actor.user_id,
                received_at=now,
                transferred_from_tenant_id=source.tenant_id,
                transferred_from_ticket_id=source.id,
            )
            link = {"from_ticket": source.number, "to_ticket": number}
            await _append(
                target,
                actor,
                action="transfer_in",
                at=now,
                actor_id=actor.user_id,
                actor_role="province_admin",
                from_status="",
                to_status=Status.RECEIVED.value,
                reason=reason,
                data={**link, "from_tenant": source.tenant_id},
            )
            await _move(
                source,
                FA.TRANSFER,
                actor=actor,
                permission=Action.TICKET_TRANSFER,
                at=now,
                reason=reason,
                data={**link, "to_tenant": target_city.id},
            )
            source.transferred_to_tenant_id = target_city.id
            source.transferred_to_ticket_id = target.id
            await _end_assignments(source, AA.CANCEL)
            await _save(source)
            await _save(target)
            await record_audit(
                actor_id=actor.user_id,
                action="ticket.transfer",
                target=source.number,
                detail=link,
                tenant_id=source.tenant_id,
                province_id=province_id,
            )
    return Transfer(source=source, target=target, query_code=code)


# --- supervision (督办) ---------------------------------------------------------------


async def _supervision_event(
    actor: Actor,
    supervision: Supervision,
    *,
    event: str,
    at: datetime,
    reason: str,
    paths: list[str] | None = None,
    permission: Action = Action.TICKET_SUPERVISE,
) -> None:
    ticket = await _lock_ticket(actor, supervision.ticket_id, paths)
    await _append(
        ticket,
        actor,
        action=event,
        at=at,
        actor_id=actor.user_id,
        actor_role=_role(actor, permission),
        from_status=ticket.status.value,
        to_status=ticket.status.value,
        department_id=supervision.department_id,
        assignment_id=supervision.assignment_id,
        reason=reason,
        data={"supervision": supervision.id, "level": supervision.level},
    )
    await _save(ticket)


async def _locked_supervision(supervision_id: int) -> Supervision:
    found = await Supervision.filter(id=supervision_id).select_for_update().first()
    if found is None:
        raise NotFound("supervision")
    return found


async def open_supervision(
    *, actor: Actor, ticket_id: int, reason: str, assignment_id: int | None = None
) -> Supervision:
    """A supervision order on an open ticket (or one of its assignments), level 1."""
    require(actor, Action.TICKET_SUPERVISE)
    reason = _required(reason, "reason")
    with _city(actor):
        now = _now()
        async with in_transaction():
            ticket = await _lock_ticket(actor, ticket_id, None)
            flow.check(ticket.status, FA.SUPERVISE)
            target = (
                await _assignments(ticket).filter(id=assignment_id).first()
                if assignment_id is not None
                else await _lead(ticket)
            )
            if assignment_id is not None and target is None:
                raise NotFound("assignment", field="assignmentId")
            if await Supervision.exists(
                ticket_id=ticket.id,
                assignment_id=target.id if target else None,
                status="open",
            ):
                raise Conflict("a supervision order is already open here", field="ticketId")
            clock = await _clock(ticket.tenant_id, ticket.category_id)
            supervision = await Supervision.create(
                ticket_id=ticket.id,
                assignment_id=target.id if target else None,
                department_id=target.department_id if target else None,
                reason=reason,
                opened_by_id=actor.user_id,
                escalate_at=clock.calendar.add_working_days(now, 1),
            )
            await _move(
                ticket,
                FA.SUPERVISE,
                event="supervision_opened",
                actor=actor,
                permission=Action.TICKET_SUPERVISE,
                at=now,
                reason=reason,
                assignment=target,
                data={"supervision": supervision.id, "level": 1},
            )
            await _save(ticket)
    return supervision


async def escalate_supervision(
    *, actor: Actor, supervision_id: int, reason: str = ""
) -> Supervision:
    """Level 1 (department manager) → 2 (city leadership)."""
    require(actor, Action.TICKET_SUPERVISE)
    with _city(actor):
        now = _now()
        async with in_transaction():
            found = await Supervision.get_or_none(id=supervision_id)
            if found is None:
                raise NotFound("supervision")
            await _lock_ticket(actor, found.ticket_id, None)
            supervision = await _locked_supervision(supervision_id)
            if supervision.status != "open":
                raise IllegalTransition("supervision", supervision.status, "escalate")
            if supervision.level >= MAX_SUPERVISION_LEVEL:
                raise Conflict("the supervision is at the highest level", field="supervisionId")
            supervision.level += 1
            clock = await _clock(supervision.tenant_id, None)
            supervision.escalate_at = clock.calendar.add_working_days(now, 1)
            await supervision.save()
            await _supervision_event(
                actor, supervision, event="supervision_escalated", at=now, reason=reason.strip()
            )
    return supervision


async def comment_supervision(*, actor: Actor, supervision_id: int, text: str) -> Supervision:
    """Supervisors and leaders comment; so does the supervised department (its subtree)."""
    text = _required(text, "text", "a comment")
    handler = not allowed(actor, Action.TICKET_SUPERVISE)
    if handler:
        require(actor, Action.TICKET_HANDLE)
    with _city(actor):
        now = _now()
        paths = await _handling_paths(actor) if handler else None
        async with in_transaction():
            found = await Supervision.get_or_none(id=supervision_id)
            if found is None:
                raise NotFound("supervision")
            await _lock_ticket(actor, found.ticket_id, paths)
            supervision = await _locked_supervision(supervision_id)
            if paths is not None:
                department = await Department.get_or_none(id=supervision.department_id or 0)
                if department is None or not _within(department.path, paths):
                    raise PermissionDenied("this supervision concerns another department")
            supervision.comments = [
                *supervision.comments,
                {"at": now.isoformat(), "by": actor.user_id, "text": text},
            ]
            await supervision.save()
            await _supervision_event(
                actor,
                supervision,
                event="supervision_comment",
                at=now,
                reason=text,
                paths=paths,
                permission=Action.TICKET_HANDLE if handler else Action.TICKET_SUPERVISE,
            )
    return supervision


async def close_supervision(*, actor: Actor, supervision_id: int, note: str = "") -> Supervision:
    require(actor, Action.TICKET_SUPERVISE)
    with _city(actor):
        now = _now()
        async with in_transaction():
            found = await Supervision.get_or_none(id=supervision_id)
            if found is None:
                raise NotFound("supervision")
            await _lock_ticket(actor, found.ticket_id, None)
            supervision = await _locked_supervision(supervision_id)
            if supervision.status != "open":
                raise IllegalTransition("supervision", supervision.status, "close")
            supervision.status, supervision.closed_at = "closed", now
            supervision.closed_by_id = actor.user_id
            await supervision.save()
            await _supervision_event(
                actor, supervision, event="supervision_closed", at=now, reason=note.strip()
            )
    return supervision


# --- administration -----------------------------------------------------------------


async def recompute_deadlines(*, actor: Actor) -> int:
    """Re-time every open assignment of the city after a calendar change (deadlines are
    otherwise fixed when set). Top-level assignments: the SLA reply days plus granted
    extensions from their dispatch; sub-dispatches keep theirs, capped by the parent's.
    Returns how many assignments changed."""
    require(actor, Action.TICKET_ADMIN)
    with _city(actor):
        tenant = await _tenant(current_tenant_id())
        calendar = await tenant_calendar(tenant)
        now = _now()
        changed = 0
        async with in_transaction():
            open_ids = await Assignment.filter(
                status__in=[
                    AssignmentStatus.PENDING_SIGN,
                    AssignmentStatus.SIGNED,
                    AssignmentStatus.RETURN_REQUESTED,
                ]
            ).values_list("ticket_id", flat=True)
            for ticket_id in sorted(set(cast(list[int], open_ids))):
                ticket = await _lock_ticket(actor, ticket_id, None)
                policy = await _policy(tenant, ticket.category_id)
                moved = await _recompute_ticket(ticket, calendar, policy)
                if moved:
                    changed += moved
                    _copy_deadlines(ticket, await _lead(ticket))
                    await deadlines_sweep.rewind(
                        deadlines=[ticket.reply_deadline, ticket.due_soon_at, ticket.sign_deadline],
                        now=now,
                    )
                    await _append(
                        ticket,
                        actor,
                        action="deadlines_recomputed",
                        at=now,
                        actor_id=actor.user_id,
                        actor_role=_role(actor, Action.TICKET_ADMIN),
                        from_status=ticket.status.value,
                        to_status=ticket.status.value,
                        data={"assignments": moved, "reply_deadline": ticket.reply_deadline},
                    )
                    await _save(ticket)
    return changed


async def _recompute_ticket(ticket: Ticket, calendar: WorkCalendar, policy: SlaPolicy) -> int:
    rows = await _assignments(ticket).filter(status__in=list(flow.ACTIVE)).order_by("id")
    by_id: dict[int, Assignment] = {a.id: a for a in rows}
    moved = 0
    for a in rows:  # parents first: ids grow down the tree
        emergency = ticket.priority is Priority.EMERGENCY and a.parent_id is None
        if a.parent_id is None:
            reply = deadlines.reply_deadline(
                calendar,
                a.created_at,
                min(policy.reply_working_days + a.extended_days, policy.max_total_working_days),
            )
        else:
            parent = by_id.get(a.parent_id)
            reply = min(a.reply_deadline, parent.reply_deadline) if parent else a.reply_deadline
        sign = min(
            deadlines.sign_deadline(calendar, policy, a.created_at, emergency=emergency), reply
        )
        due_soon = deadlines.due_soon_at(calendar, policy, a.created_at, reply)
        if (a.reply_deadline, a.sign_deadline, a.due_soon_at) != (reply, sign, due_soon):
            a.reply_deadline, a.sign_deadline, a.due_soon_at = reply, sign, due_soon
            a.version += 1
            await a.save(force_update=True)
            moved += 1
    return moved
