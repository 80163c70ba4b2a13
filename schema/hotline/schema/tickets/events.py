"""Announcing ticket changes to live subscribers.

The write side (``hotline.tenants.tickets.service``) does not publish yet, so the
mutation resolvers call :func:`announce` after the service call has committed. The
workers issue moves this to the transactional outbox; until then a notice can be lost
if the process dies between the commit and the publish (subscribers re-read state,
so a later notice catches them up).
"""

from __future__ import annotations

import logging

from redis.exceptions import RedisError

from hotline.platform import pubsub
from hotline.tenants.access import Actor
from hotline.tenants.tickets import selectors

log = logging.getLogger(__name__)


async def announce(*, actor: Actor, ticket_id: int) -> None:
    """Tell the ticket's timeline subscribers and each assigned department's inbox."""
    if actor.tenant_id is None:
        return
    try:
        departments = await selectors.notice_departments(ticket_id=ticket_id)
        await pubsub.publish(
            selectors.timeline_channel(actor.tenant_id, ticket_id), {"ticket_id": ticket_id}
        )
        for department_id in departments:
            await pubsub.publish(
                selectors.inbox_channel(actor.tenant_id, department_id), {"ticket_id": ticket_id}
            )
    except RedisError:
        # The change is committed; a lost notice only delays live views (they re-read).
        log.warning("could not announce a change of ticket %s", ticket_id, exc_info=True)
