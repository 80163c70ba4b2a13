"""The citizen adds information to an open work order (补充诉求): through an agent on the
phone, or on their own with the number and query code. It lands on the timeline, and the
handling department is told (the domain event's notification).

Both take an ``idempotency_key`` like ``createTicket``: a sender's retry with the same key
adds nothing and answers like the first call. The key (hashed, per source) is kept on the
timeline event it made, and looked up under the ticket's row lock, so two concurrent
retries add the text once."""

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
from hotline.tenants.tickets.models import Ticket, TimelineEvent
from hotline.tenants.tickets.work import Change, change

MAX_TEXT = 2000
CITIZEN_SUPPLEMENTS_PER_HOUR = 10
_KEY_PURPOSE = "supplement-idempotency"


def _text(text: str) -> str:
    text = policy.required(text, "text", "the information to add")
    if len(text) > MAX_TEXT:
        raise Invalid("at most {max} characters", field="text", max=MAX_TEXT)
    return text


def _key(idempotency_key: str | None, source: str) -> str | None:
    """What the timeline keeps of a sender's key: a keyed hash, apart per source."""
    if idempotency_key is None:
        return None
    if not 1 <= len(idempotency_key) <= 100:
        raise Invalid("an idempotency key is 1 to 100 characters", field="idempotencyKey")
    return keyed_hash(f"{source}:{idempotency_key}", _KEY_PURPOSE)


async def _already_added(ticket_id: int, key: str | None) -> bool:
    if key is None:
        return False
    return await TimelineEvent.filter(
        ticket_id=ticket_id, action=TicketEvent.SUPPLEMENTED.value, data__contains={"key": key}
    ).exists()


async def _supplement(
    c: Change, ticket: Ticket, text: str, *, source: str, key: str | None
) -> None:
    """Add the text, unless ``key`` already added it (checked under the ticket's lock)."""
    if await _already_added(ticket.id, key):
        return
    if not flow.is_open(ticket.status):
        raise IllegalTransition("ticket", ticket.status.value, "supplement")
    data = {"source": source} if key is None else {"source": source, "key": key}
    await c.record(
        ticket,
        TicketEvent.SUPPLEMENTED,
        actor_role="citizen" if source == "citizen" else None,
        reason=text,
        data=data,
    )


async def supplement_in(c: Change, ticket: Ticket, text: str, *, source: str) -> None:
    """Within the caller's change: an intake channel appends the citizen's message."""
    await _supplement(c, ticket, _text(text), source=source, key=None)


async def add_supplement(
    *, actor: Actor, ticket_id: int, text: str, idempotency_key: str | None = None
) -> Ticket:
    """An agent records what the citizen adds on the phone."""
    text = _text(text)
    key = _key(idempotency_key, "agent")
    async with change(actor, Action.TICKET_CREATE) as c:
        ticket = await c.lock(ticket_id)
        await _supplement(c, ticket, text, source="agent", key=key)
    return ticket


async def citizen_supplement(
    *,
    actor: Actor,
    number: str,
    query_code: str,
    text: str,
    idempotency_key: str | None = None,
) -> Ticket:
    """The citizen adds information by number + query code (no login), a few times an hour
    (a retry of one already added spends none of that budget)."""
    text = _text(text)
    key = _key(idempotency_key, "citizen")
    with access.city_scope(actor):
        found = await proven_ticket(
            tenant_id=current_tenant_id(), number=number, query_code=query_code
        )
        if await _already_added(found.id, key):
            return found
        budget = f"supplement:{found.tenant_id}:{keyed_hash(found.number, 'supplement')}"
        if not await ratelimit.hit(budget, limit=CITIZEN_SUPPLEMENTS_PER_HOUR, window_seconds=3600):
            raise RateLimited("too many additions to this ticket; try again later")
    async with change(actor, Action.TICKET_READ, checked=True) as c:
        ticket = await c.lock(found.id)
        await _supplement(c, ticket, text, source="citizen", key=key)
    return ticket
