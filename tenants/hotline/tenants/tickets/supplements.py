"""The citizen adds information to an open work order (补充诉求): through an agent on the
phone, or on their own with the number and query code. It lands on the timeline, and the
handling department is told (the domain event's notification)."""

from __future__ import annotations

from hotline.platform import ratelimit
from hotline.platform.crypto import keyed_hash
from hotline.platform.tenancy import current_tenant_id
from hotline.tenants.kernel.access import Action, Actor
from hotline.tenants.kernel.errors import Invalid, RateLimited
from hotline.tenants.kernel.events import TicketEvent
from hotline.tenants.tickets import access, flow, policy
from hotline.tenants.tickets.citizen import proven_ticket
from hotline.tenants.tickets.flow import IllegalTransition
from hotline.tenants.tickets.models import Ticket
from hotline.tenants.tickets.work import Change, change

MAX_TEXT = 2000
CITIZEN_SUPPLEMENTS_PER_HOUR = 10


def _text(text: str) -> str:
    text = policy.required(text, "text", "the information to add")
    if len(text) > MAX_TEXT:
        raise Invalid("at most {max} characters", field="text", max=MAX_TEXT)
    return text


async def _supplement(c: Change, ticket: Ticket, text: str, *, source: str) -> None:
    if not flow.is_open(ticket.status):
        raise IllegalTransition("ticket", ticket.status.value, "supplement")
    await c.record(
        ticket,
        TicketEvent.SUPPLEMENTED,
        actor_role="citizen" if source == "citizen" else None,
        reason=text,
        data={"source": source},
    )


async def supplement_in(c: Change, ticket: Ticket, text: str, *, source: str) -> None:
    """Within the caller's change: an intake channel appends the citizen's message."""
    await _supplement(c, ticket, _text(text), source=source)


async def add_supplement(*, actor: Actor, ticket_id: int, text: str) -> Ticket:
    """An agent records what the citizen adds on the phone."""
    text = _text(text)
    async with change(actor, Action.TICKET_CREATE) as c:
        ticket = await c.lock(ticket_id)
        await _supplement(c, ticket, text, source="agent")
    return ticket


async def citizen_supplement(*, actor: Actor, number: str, query_code: str, text: str) -> Ticket:
    """The citizen adds information by number + query code (no login), a few times an hour."""
    text = _text(text)
    with access.city_scope(actor):
        found = await proven_ticket(
            tenant_id=current_tenant_id(), number=number, query_code=query_code
        )
        budget = f"supplement:{found.tenant_id}:{keyed_hash(found.number, 'supplement')}"
        if not await ratelimit.hit(budget, limit=CITIZEN_SUPPLEMENTS_PER_HOUR, window_seconds=3600):
            raise RateLimited("too many additions to this ticket; try again later")
    async with change(actor, Action.TICKET_READ, checked=True) as c:
        ticket = await c.lock(found.id)
        await _supplement(c, ticket, text, source="citizen")
    return ticket
