"""Live views: once a change has committed, tell the ticket's timeline subscribers and
the inbox of every department holding one of its assignments (Redis pub/sub; the
GraphQL subscriptions re-read what changed). An after-commit handler of the domain
events, so a worker's change (auto-dispatch, the sweep) reaches them like a person's.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from redis.exceptions import RedisError

from hotline.platform import pubsub
from hotline.tenants.kernel.events import Bus, TicketChanged
from hotline.tenants.tickets.reads import inbox_channel, timeline_channel

log = logging.getLogger(__name__)


async def push(events: Sequence[TicketChanged]) -> None:
    """One notice per channel, all sent in one round trip (a sweep batch tells hundreds)."""
    told: dict[str, int] = {}
    for event in events:
        channels = [timeline_channel(event.tenant_id, event.ticket_id)] + [
            inbox_channel(event.tenant_id, d) for d in event.departments
        ]
        for channel in channels:
            told.setdefault(channel, event.ticket_id)
    try:
        await pubsub.publish_many([(c, {"ticket_id": t}) for c, t in told.items()])
    except RedisError:
        # committed already; a lost notice only delays a live view (it re-reads)
        log.warning("could not announce a change of tickets %s", sorted(set(told.values())))


def register(bus: Bus) -> None:
    """Entry point of ``hotline.event_handlers``."""
    bus.subscribe(push, after_commit=True)
