from __future__ import annotations

import strawberry
from strawberry import relay

from hotline.schema.context import Info
from hotline.schema.ids import decode_id
from hotline.schema.notifications.types import (
    DeadLetter,
    Notice,
    RoutingModel,
    RoutingSuggestion,
    WebhookEndpoint,
)
from hotline.schema.pagination import Connection, build_connection, decode_cursor, page_size
from hotline.schema.permissions import can, signed_in
from hotline.tenants.kernel.access import Action
from hotline.tenants.notifications import service
from hotline.tenants.routing import ml_service
from hotline.tenants.tickets import autodispatch


@strawberry.type
class NotificationQueries:
    @strawberry.field(permission_classes=[can(Action.NOTIFICATION_MANAGE)])
    async def dead_letters(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[DeadLetter]:
        size = page_size(first)
        rows = await service.dead_letters(
            actor=info.context.actor, first=size, after_id=decode_cursor(after)
        )
        return build_connection(rows, size, lambda r: r.id, DeadLetter.from_model, after=after)

    @strawberry.field(permission_classes=[signed_in])
    async def notices(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        unread_only: bool = False,
    ) -> Connection[Notice]:
        size = page_size(first)
        rows = await service.my_notices(
            actor=info.context.actor,
            first=size,
            after_id=decode_cursor(after),
            unread_only=unread_only,
        )
        return build_connection(rows, size, lambda r: r.id, Notice.from_model, after=after)

    @strawberry.field(permission_classes=[signed_in])
    async def unread_notice_count(self, info: Info) -> int:
        return await service.unread_count(actor=info.context.actor)

    @strawberry.field(permission_classes=[can(Action.NOTIFICATION_MANAGE)])
    async def webhook_endpoints(self, info: Info) -> list[WebhookEndpoint]:
        rows = await service.webhook_endpoints(actor=info.context.actor)
        return [WebhookEndpoint.from_model(r) for r in rows]

    @strawberry.field(
        permission_classes=[can(Action.ROUTING_MANAGE)],
        description="The city's active routing model with its held-out accuracy.",
    )
    async def routing_model(self, info: Info) -> RoutingModel | None:
        row = await ml_service.active_model(actor=info.context.actor)
        return RoutingModel.from_model(row) if row else None

    @strawberry.field(permission_classes=[can(Action.TICKET_QUEUE_READ)])
    async def routing_suggestion(
        self, info: Info, ticket_id: relay.GlobalID
    ) -> RoutingSuggestion | None:
        row = await autodispatch.ticket_suggestion(
            actor=info.context.actor, ticket_id=decode_id(ticket_id, "Ticket", field="ticketId")
        )
        return RoutingSuggestion.from_model(row) if row else None
