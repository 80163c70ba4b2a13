"""Live views over graphql-transport-ws, fed by Redis pub/sub notices (tenant channels).

A notice only says what changed; the resolver re-reads it with the subscriber's own
permissions, so a notice never carries data to someone who may not see it.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry
from strawberry import relay

from hotline.platform import pubsub
from hotline.schema.context import Info
from hotline.schema.ids import decode_id
from hotline.schema.live import while_allowed
from hotline.schema.permissions import can
from hotline.schema.tickets.types import Assignment, TimelineEvent
from hotline.tenants.kernel.access import Action
from hotline.tenants.kernel.errors import NotFound
from hotline.tenants.tickets import access, reads


def _fresh(info: Info) -> None:
    """A connection lives long: drop cached rows so each event is read as it is now."""
    info.context.loaders.clear()
    info.context.converted.clear()


@strawberry.type
class TicketSubscriptions:
    @strawberry.subscription(
        permission_classes=[can(Action.TICKET_READ)],
        description="New events on a ticket's timeline, as they are written.",
    )
    async def ticket_timeline(
        self, info: Info, ticket_id: relay.GlobalID
    ) -> AsyncGenerator[TimelineEvent, None]:
        actor = info.context.actor
        key = decode_id(ticket_id, "Ticket", field="ticketId")
        if actor.tenant_id is None:
            raise NotFound("ticket", field="ticketId")
        async with pubsub.subscribe(reads.timeline_channel(actor.tenant_id, key)) as notices:
            seen = await reads.last_timeline_seq(actor=actor, ticket_id=key)
            async for _ in while_allowed(actor, notices):
                rows = await reads.timeline_after(actor=actor, ticket_id=key, seq=seen)
                _fresh(info)
                for row in rows:
                    seen = row.seq
                    yield TimelineEvent.from_model(row)

    @strawberry.subscription(
        permission_classes=[can(Action.TICKET_READ)],
        description="A department's assignments as they arrive or change.",
    )
    async def department_inbox(
        self, info: Info, department_id: relay.GlobalID
    ) -> AsyncGenerator[Assignment, None]:
        actor = info.context.actor
        key = decode_id(department_id, "Department", field="departmentId")
        if actor.tenant_id is None:
            raise NotFound("department", field="departmentId")
        await access.access_department_inbox(actor=actor, department_id=key)
        async with pubsub.subscribe(reads.inbox_channel(actor.tenant_id, key)) as notices:
            async for notice in while_allowed(actor, notices):
                rows = await reads.inbox_assignments(
                    actor=actor, department_id=key, ticket_id=int(notice["ticket_id"])
                )
                _fresh(info)
                for row in rows:
                    yield Assignment.from_model(row)
