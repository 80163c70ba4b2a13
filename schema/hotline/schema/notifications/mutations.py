from __future__ import annotations

import strawberry
from strawberry import relay

from hotline.schema.context import Info
from hotline.schema.errors import Error, payload_errors
from hotline.schema.ids import decode_id
from hotline.schema.notifications.types import DeadLetter, WebhookEndpoint
from hotline.tenants.notifications import service
from hotline.tenants.notifications.models import Channel
from hotline.tenants.routing import ml_service


@strawberry.type
class DeadLetterPayload:
    dead_letter: DeadLetter | None
    errors: list[Error]


@strawberry.type
class MarkNoticesReadPayload:
    count: int
    errors: list[Error]


@strawberry.type
class WebhookEndpointPayload:
    endpoint: WebhookEndpoint | None
    # shown once, on creation: the key receivers verify X-Hotline-Signature with
    secret: str | None
    errors: list[Error]


NotificationChannel = Channel
strawberry.enum(Channel, name="NotificationChannel")


@strawberry.type
class SettingPayload:
    ok: bool
    errors: list[Error]


@strawberry.type
class AutoDispatchPayload:
    threshold: float | None
    errors: list[Error]


@strawberry.type
class RetrainRoutingModelPayload:
    queued: bool
    errors: list[Error]


@strawberry.input
class CreateWebhookEndpointInput:
    name: str
    url: str
    event_types: list[str] = strawberry.field(default_factory=list)


@strawberry.input
class UpdateWebhookEndpointInput:
    endpoint_id: relay.GlobalID
    url: str | None = None
    event_types: list[str] | None = None
    is_active: bool | None = None


@strawberry.type
class NotificationMutations:
    @strawberry.mutation(description="Send a dead letter again, with a fresh set of attempts.")
    async def retry_dead_letter(self, info: Info, id: relay.GlobalID) -> DeadLetterPayload:
        async def call() -> DeadLetter:
            row = await service.retry_dead_letter(
                actor=info.context.actor, outbox_id=decode_id(id, "DeadLetter", field="id")
            )
            return DeadLetter.from_model(row)

        letter, errors = await payload_errors(call)
        return DeadLetterPayload(dead_letter=letter, errors=errors)

    @strawberry.mutation(description="Mark the given notices (none given: all) as read.")
    async def mark_notices_read(
        self, info: Info, ids: list[relay.GlobalID] | None = None
    ) -> MarkNoticesReadPayload:
        async def call() -> int:
            keys = None if ids is None else [decode_id(i, "Notice", field="ids") for i in ids]
            return await service.mark_notices_read(actor=info.context.actor, notice_ids=keys)

        count, errors = await payload_errors(call)
        return MarkNoticesReadPayload(count=count or 0, errors=errors)

    @strawberry.mutation
    async def create_webhook_endpoint(
        self, info: Info, input: CreateWebhookEndpointInput
    ) -> WebhookEndpointPayload:
        async def call() -> tuple[WebhookEndpoint, str]:
            row, secret = await service.create_webhook_endpoint(
                actor=info.context.actor,
                name=input.name,
                url=input.url,
                event_types=input.event_types,
            )
            return WebhookEndpoint.from_model(row), secret

        made, errors = await payload_errors(call)
        return WebhookEndpointPayload(
            endpoint=made[0] if made else None, secret=made[1] if made else None, errors=errors
        )

    @strawberry.mutation
    async def update_webhook_endpoint(
        self, info: Info, input: UpdateWebhookEndpointInput
    ) -> WebhookEndpointPayload:
        async def call() -> WebhookEndpoint:
            row = await service.update_webhook_endpoint(
                actor=info.context.actor,
                endpoint_id=decode_id(input.endpoint_id, "WebhookEndpoint", field="endpointId"),
                url=input.url,
                event_types=input.event_types,
                is_active=input.is_active,
            )
            return WebhookEndpoint.from_model(row)

        endpoint, errors = await payload_errors(call)
        return WebhookEndpointPayload(endpoint=endpoint, secret=None, errors=errors)

    @strawberry.mutation(
        description="The city's wording of one event on one channel and locale (Jinja2)."
    )
    async def set_notification_template(
        self,
        info: Info,
        event: str,
        channel: NotificationChannel,
        locale: str,
        subject: str,
        body: str,
    ) -> SettingPayload:
        _, errors = await payload_errors(
            lambda: service.set_template(
                actor=info.context.actor,
                event=event,
                channel=Channel(channel),
                locale=locale,
                subject=subject,
                body=body,
            )
        )
        return SettingPayload(ok=not errors, errors=errors)

    @strawberry.mutation(
        description='Turn a channel on or off for an event ("*" = all): city-wide, for a '
        "department, or for one user (anyone may set their own)."
    )
    async def set_notification_preference(
        self,
        info: Info,
        channel: NotificationChannel,
        enabled: bool,
        event: str = "*",
        department_id: relay.GlobalID | None = None,
        user_id: relay.GlobalID | None = None,
    ) -> SettingPayload:
        _, errors = await payload_errors(
            lambda: service.set_preference(
                actor=info.context.actor,
                channel=Channel(channel),
                enabled=enabled,
                event=event,
                department_id=decode_id(department_id, "Department", field="departmentId")
                if department_id
                else None,
                user_id=decode_id(user_id, "User", field="userId") if user_id else None,
            )
        )
        return SettingPayload(ok=not errors, errors=errors)

    @strawberry.mutation(
        description="Auto-dispatch new tickets whose top suggestion reaches this confidence "
        "(0-1]; null turns it off (the default)."
    )
    async def set_auto_dispatch_threshold(
        self, info: Info, threshold: float | None
    ) -> AutoDispatchPayload:
        value, errors = await payload_errors(
            lambda: ml_service.set_auto_dispatch_threshold(
                actor=info.context.actor, threshold=threshold
            )
        )
        return AutoDispatchPayload(threshold=value, errors=errors)

    @strawberry.mutation(description="Queue a training run on the city's closed tickets.")
    async def retrain_routing_model(self, info: Info) -> RetrainRoutingModelPayload:
        queued, errors = await payload_errors(
            lambda: ml_service.request_retrain(actor=info.context.actor)
        )
        return RetrainRoutingModelPayload(queued=bool(queued), errors=errors)
