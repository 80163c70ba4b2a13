"""Live views: once a change has committed, tell the ticket's timeline subscribers and
the inbox of every department holding one of its assignments (Redis pub/sub; the
GraphQL subscriptions re-read what changed). An after-commit handler of the domain
events, so a worker's change (auto-dispatch, the sweep) reaches them like a person's.
"""

from __future__ import annotations

from collections.abc import Sequence

from hotline.platform import pubsub
from hotline.tenants.kernel.events import Bus, TicketChanged
from hotline.tenants.tickets.reads import inbox_channel, timeline_channel


async def push(events: Sequence[TicketChanged]) -> None:
    """One notice per channel, handed to the process's sender (:func:`pubsub.announce`):
    the request that made the change does not wait for Redis, and what many changes
    announce meanwhile goes out in one round trip (a sweep batch tells hundreds)."""
    told: dict[str, int] = {}
    for event in events:
        channels = [timeline_channel(event.tenant_id, event.ticket_id)] + [
            inbox_channel(event.tenant_id, d) for d in event.departments
        ]
        for channel in channels:
            told.setdefault(channel, event.ticket_id)
    pubsub.announce([(c, {"ticket_id": t}) for c, t in told.items()])


def register(bus: Bus) -> None:
    """Entry point of ``hotline.event_handlers``."""
    bus.subscribe(push, after_commit=True)
