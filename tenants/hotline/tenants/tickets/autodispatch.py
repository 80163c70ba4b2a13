"""Acting on routing: the ``route`` outbox message of a new ticket is scored (rules,
then the city's model, :mod:`hotline.tenants.routing.ml_service`) and, above the city's
threshold, dispatched to the suggestion by "the router" — a dispatcher with no user.

Safe to run again: a ticket a person (or an earlier run) has dispatched stays as it is.
"""

from __future__ import annotations

import contextlib
import json

from hotline.platform import outbox
from hotline.platform.db.rows import read_session
from hotline.platform.tenancy import current_scope
from hotline.tenants.kernel.access import Action, Actor, require
from hotline.tenants.kernel.errors import NotFound
from hotline.tenants.kernel.roles import Role
from hotline.tenants.provinces.settings import CitySettings
from hotline.tenants.routing.ml_models import RoutingSuggestion
from hotline.tenants.routing.ml_service import score
from hotline.tenants.tickets import access
from hotline.tenants.tickets.dispatch import dispatch_ticket
from hotline.tenants.tickets.flow import IllegalTransition
from hotline.tenants.tickets.models import Status, Ticket
from hotline.tenants.tickets.pages import TICKETS


def _router(ticket: Ticket) -> Actor:
    return Actor(
        user_id=None,
        tenant_id=ticket.tenant_id,
        province_id=ticket.province_id,
        roles=frozenset({Role.DISPATCHER}),
        username="router",
    )


_TICKET = """
SELECT {columns}, (SELECT settings FROM tenants WHERE id = t.tenant_id) AS city_settings
FROM tickets t WHERE t.tenant_id = $1 AND t.id = $2
"""


async def score_ticket(*, ticket_id: int) -> RoutingSuggestion:
    """Score one ticket of the current city and store the suggestion."""
    async with read_session() as reads:  # the ticket and its city's settings: one read
        rows = await reads.fetch(
            _TICKET.format(columns=TICKETS.select("t")), current_scope().tenant_id, ticket_id
        )
    if not rows:
        raise NotFound("ticket")
    ticket = TICKETS.one(rows[0], drop="city_settings")
    stored = rows[0]["city_settings"]
    settings = CitySettings.model_validate(
        (json.loads(stored) if isinstance(stored, str) else stored) or {}
    )
    return await score(
        ticket_id=ticket.id,
        title=ticket.title,
        content=ticket.content,
        category_id=ticket.category_id,
        area_id=ticket.area_id,
        threshold=settings.auto_dispatch_threshold,
        may_auto_dispatch=ticket.status is Status.RECEIVED,
        address=ticket.address,
    )


async def ticket_suggestion(*, actor: Actor, ticket_id: int) -> RoutingSuggestion | None:
    """The stored routing suggestion of a ticket the actor may read (None: not scored
    yet); another city's ticket, or one out of the actor's reach, is NotFound like a
    missing one, as every ticket read."""
    require(actor, Action.TICKET_QUEUE_READ)
    ticket = await access.access_ticket(actor=actor, ticket_id=ticket_id)
    with access.city_scope(actor):
        return await RoutingSuggestion.get_or_none(ticket_id=ticket.id)


async def route_new_ticket(*, ticket_id: int) -> RoutingSuggestion:
    """Score a new ticket and, above the city's threshold, dispatch it to the suggestion."""
    suggestion = await score_ticket(ticket_id=ticket_id)
    if suggestion.auto_dispatch and suggestion.department_id is not None:
        ticket = await Ticket.get(id=ticket_id)
        with contextlib.suppress(IllegalTransition):
            await dispatch_ticket(
                actor=_router(ticket),
                ticket_id=ticket_id,
                lead_department_id=suggestion.department_id,
                reason=(
                    "urgent: dispatched to the duty room at once"
                    if suggestion.source == "urgent"
                    else f"auto-dispatched by the routing model ({suggestion.confidence:.2f})"
                ),
            )
    return suggestion


async def deliver(message: outbox.OutboxMessage) -> None:
    """The outbox handler of ``route`` messages (see the ``hotline.outbox_handlers``
    entry points)."""
    await route_new_ticket(ticket_id=int(message.payload["ticket_id"]))
