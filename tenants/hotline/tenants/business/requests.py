"""Business requests: tickets of the business kind (docs/business.md, "Requests").

An enterprise user submits; the ticket is created through the work-order preamble
(``tickets.work.change``) with a ``business_requests`` row naming the enterprise, the
topic and the enterprise's service manager, who must respond within
``RESPONSE_WORKING_DAYS`` working days of the city's calendar. The manager answers
directly (the ticket is ANSWERED and closes) or dispatches through the very same
``dispatch_to`` as the center, after which departments sign, reply, ask for extensions
and are supervised as for any ticket. The enterprise rates the outcome once.

Unlike a citizen's ticket, a business request is not routed automatically: it reaches
its manager first.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from tortoise.expressions import Q

from hotline.platform import outbox
from hotline.platform.tenancy import current_tenant_id
from hotline.tenants.business.access import (
    access_enterprise,
    city_scope,
    own_enterprise_id,
    require_business,
)
from hotline.tenants.business.models import (
    BusinessRequest,
    Enterprise,
    RequestTopic,
    Usefulness,
)
from hotline.tenants.business.portfolio import manager_id_of
from hotline.tenants.business.unassigned import serving, supervisors
from hotline.tenants.departments.models import DepartmentKind
from hotline.tenants.kernel.access import Action, Actor, allowed
from hotline.tenants.kernel.errors import Conflict, Invalid, NotFound
from hotline.tenants.kernel.events import TicketEvent
from hotline.tenants.tickets import flow, numbering, policy
from hotline.tenants.tickets.assignments import copy_deadlines
from hotline.tenants.tickets.deadlines import due_soon_at
from hotline.tenants.tickets.dispatch import dispatch_to
from hotline.tenants.tickets.flow import Action as FA
from hotline.tenants.tickets.models import Channel, Kind, Status, Ticket
from hotline.tenants.tickets.work import change

RESPONSE_WORKING_DAYS = 3
# A request of an enterprise without a serving manager: its supervisors are told at once.
UNMANAGED = "business.request_unmanaged"
MAX_TITLE = 200
MAX_CONTENT = 5000
MAX_COMMENT = 500
MAX_PAGE = 100
_KIND = {
    RequestTopic.POLICY: Kind.CONSULTATION,
    RequestTopic.FINANCING: Kind.HELP,
    RequestTopic.LEGAL: Kind.HELP,
    RequestTopic.APPROVAL: Kind.HELP,
    RequestTopic.COMPLAINT: Kind.COMPLAINT,
}
# Outcomes an enterprise may rate: answered, replied by the departments, or closed.
RATEABLE = frozenset({Status.ANSWERED, Status.REPLIED, Status.REVISIT, Status.CLOSED})


@dataclass(frozen=True)
class Request:
    request: BusinessRequest
    ticket: Ticket


async def submit_request(
    *,
    actor: Actor,
    topic: RequestTopic,
    title: str,
    content: str,
    also: Callable[[BusinessRequest], Awaitable[None]] | None = None,
) -> Request:
    """An enterprise user's request: a ticket of its enterprise for its manager.
    ``also`` writes what belongs to the request (a financing need) in its transaction."""
    await require_business(actor, Action.BUSINESS_REQUEST_SUBMIT)
    enterprise_id = await own_enterprise_id(actor)
    if enterprise_id is None:  # staff hold no enterprise: the action is not theirs
        raise NotFound("enterprise")
    title, content = title.strip(), content.strip()
    if not 1 <= len(title) <= MAX_TITLE:
        raise Invalid("a title has 1 to {max} characters", field="title", max=MAX_TITLE)
    if not 1 <= len(content) <= MAX_CONTENT:
        raise Invalid("the content has 1 to {max} characters", field="content", max=MAX_CONTENT)
    with city_scope(actor):
        enterprise = await Enterprise.get(id=enterprise_id)
        tenant = await policy.city(current_tenant_id())
        clock = await policy.clock(tenant.id, None)
        manager = await manager_id_of(enterprise.id)
        if manager is not None and manager not in await serving([manager]):
            manager = None  # a manager switched off serves nobody: the request is unmanaged
        fallback = await supervisors() if manager is None else []
    async with change(actor, Action.BUSINESS_REQUEST_SUBMIT, checked=True) as c:
        number = await numbering.next_number(
            c.conn,
            tenant_id=tenant.id,
            province_id=tenant.province_id,
            prefix=tenant.number_prefix,
            timezone=tenant.timezone,
            at=c.now,
        )
        ticket = c.hold(
            await Ticket.create(
                number=number,
                # nobody follows a business request by query code: a random one, unknown
                query_code_hash=numbering.hash_query_code(tenant.id, numbering.new_query_code()),
                channel=Channel.WEB,
                kind=_KIND[topic],
                title=title,
                content=content,
                area_id=enterprise.area_id,
                created_by_id=actor.user_id,
                # = the create event's moment, which statistics count it by
                # (statistics.aggregates._MARK_NEW)
                received_at=c.now,
            )
        )
        await c.record(
            ticket,
            TicketEvent.CREATED,
            from_status="",
            to_status=Status.RECEIVED.value,
            data={"channel": "business", "topic": topic.value, "enterprise": enterprise.id},
        )
        deadline = clock.calendar.add_working_days(c.now, RESPONSE_WORKING_DAYS)
        request = await BusinessRequest.create(
            ticket_id=ticket.id,
            enterprise_id=enterprise.id,
            topic=topic,
            submitted_by_id=actor.user_id,
            manager_id=manager,
            response_deadline=deadline,
            warn_at=due_soon_at(clock.calendar, clock.policy, c.now, deadline),
        )
        if also is not None:
            await also(request)
        await outbox.add_many(
            [
                outbox.NewMessage(
                    kind="inapp",
                    tenant_id=tenant.id,
                    province_id=tenant.province_id,
                    payload={
                        "user_id": user_id,
                        "event": UNMANAGED,
                        "subject": f"无服务专员的企业诉求：{number}"[:200],
                        "body": (
                            f"「{enterprise.name}」没有服务专员，诉求「{title[:100]}」须在"
                            f"{deadline.astimezone(ZoneInfo(tenant.timezone)):%Y-%m-%d %H:%M}"
                            "前首次响应（直接答复或派单），或为该企业指定服务专员。"
                        ),
                        "business_request": request.id,
                    },
                    send_key=f"business-unmanaged:{tenant.id}:{request.id}:{user_id}",
                )
                for user_id in fallback
            ],
            connection=c.conn,
        )
    return Request(request, ticket)


async def _visible(actor: Actor) -> Q:
    """The requests the actor may see: its enterprise's (enterprise roles), a service
    manager's own, or the whole city (its admin, leadership, supervisors)."""
    own = await own_enterprise_id(actor)
    if own is not None:
        return Q(enterprise_id=own)
    if allowed(actor, Action.BUSINESS_MANAGE) or allowed(actor, Action.TICKET_SUPERVISE):
        return Q()
    return Q(manager_id=actor.user_id)


async def access_request(*, actor: Actor, request_id: int) -> Request:
    await require_business(actor, Action.ENTERPRISE_READ)
    where = await _visible(actor)
    with city_scope(actor):
        found = await BusinessRequest.filter(where, id=request_id).first()
        ticket = await Ticket.get_or_none(id=found.ticket_id) if found else None
    if found is None or ticket is None:
        raise NotFound("business request")
    return Request(found, ticket)


async def list_requests(
    *,
    actor: Actor,
    enterprise_id: int | None,
    after: int | None,
    first: int,
) -> list[Request]:
    """Newest first by id: an enterprise's own, a manager's, or the city's."""
    await require_business(actor, Action.ENTERPRISE_READ)
    if not 1 <= first <= MAX_PAGE:
        raise Invalid("first must be between 1 and {max}", field="first", max=MAX_PAGE)
    where = await _visible(actor)
    if enterprise_id is not None:
        await access_enterprise(actor=actor, enterprise_id=enterprise_id)
        where &= Q(enterprise_id=enterprise_id)
    with city_scope(actor):
        query = BusinessRequest.filter(where)
        if after is not None:
            query = query.filter(id__lt=after)
        rows = await query.order_by("-id").limit(first + 1)
        tickets = {t.id: t for t in await Ticket.filter(id__in=[r.ticket_id for r in rows])}
    return [Request(r, tickets[r.ticket_id]) for r in rows if r.ticket_id in tickets]


async def _handling(actor: Actor, request_id: int) -> BusinessRequest:
    """The request, if the actor is its manager (or a supervisor of the city)."""
    await require_business(actor, Action.BUSINESS_REQUEST_HANDLE)
    with city_scope(actor):
        found = await BusinessRequest.get_or_none(id=request_id)
    if found is None or not (
        found.manager_id == actor.user_id or allowed(actor, Action.TICKET_SUPERVISE)
    ):
        raise NotFound("business request")
    return found


async def answer_request(*, actor: Actor, request_id: int, answer: str) -> Request:
    """The manager answers directly: the ticket is answered and closes."""
    found = await _handling(actor, request_id)
    text = answer.strip()
    if not 1 <= len(text) <= MAX_CONTENT:
        raise Invalid("the answer has 1 to {max} characters", field="answer", max=MAX_CONTENT)
    async with change(actor, Action.BUSINESS_REQUEST_HANDLE, checked=True) as c:
        ticket = await c.lock(found.ticket_id)
        ticket.direct_answer, ticket.public_reply = True, text
        copy_deadlines(ticket, None)
        await c.move(ticket, FA.ANSWER, data={"business_request": found.id})
        await c.move(ticket, FA.CLOSE_ANSWERED)
        await _responded(found, c.now)
    return Request(found, ticket)


async def dispatch_request(
    *,
    actor: Actor,
    request_id: int,
    lead_department_id: int,
    co_department_ids: Sequence[int] = (),
    reason: str = "",
) -> Request:
    """The manager sends the request to departments: the center's own dispatch, with
    assignments, deadlines, extensions and supervision as for any ticket."""
    found = await _handling(actor, request_id)
    ids = [lead_department_id, *co_department_ids]
    if len(set(ids)) != len(ids):
        raise Invalid("a department appears twice", field="coDepartmentIds")
    async with change(actor, Action.BUSINESS_REQUEST_HANDLE, checked=True) as c:
        departments = [
            await policy.active_department(
                i, "leadDepartmentId" if i == lead_department_id else "coDepartmentIds"
            )
            for i in ids
        ]
        if any(d.kind is DepartmentKind.CENTER for d in departments):
            raise Invalid("dispatch to a department, not the center", field="leadDepartmentId")
        ticket = await c.lock(found.ticket_id)
        flow.check(ticket.status, FA.DISPATCH)
        await dispatch_to(
            c,
            ticket,
            clock=await policy.clock(ticket.tenant_id, ticket.category_id),
            lead=departments[0],
            co=departments[1:],
            reason=reason.strip(),
        )
        await _responded(found, c.now)
    return Request(found, ticket)


async def _responded(found: BusinessRequest, now: datetime) -> None:
    if found.responded_at is None:
        found.responded_at = now
        await found.save(update_fields=["responded_at"])


async def rate_request(
    *, actor: Actor, request_id: int, rating: Usefulness, comment: str = ""
) -> Request:
    """The enterprise rates the outcome once: useful, partly useful or not useful."""
    await require_business(actor, Action.BUSINESS_REQUEST_SUBMIT)
    got = await access_request(actor=actor, request_id=request_id)
    text = comment.strip()
    if len(text) > MAX_COMMENT:
        raise Invalid("a comment has at most {max} characters", field="comment", max=MAX_COMMENT)
    if got.ticket.status not in RATEABLE:
        raise Invalid("the request has no outcome to rate yet", field="rating")
    async with change(actor, Action.BUSINESS_REQUEST_SUBMIT, checked=True) as c:
        ticket = await c.lock(got.ticket.id)
        locked = await BusinessRequest.filter(id=got.request.id).select_for_update().first()
        if locked is None:
            raise NotFound("business request")
        if locked.rating is not None:
            raise Conflict("the request is rated already", field="rating")
        locked.rating, locked.rating_comment, locked.rated_at = rating, text, c.now
        await locked.save(update_fields=["rating", "rating_comment", "rated_at"])
        await c.record(
            ticket,
            TicketEvent.RATED,
            reason=text,
            data={"business_rating": rating.value},
        )
    return Request(locked, ticket)
