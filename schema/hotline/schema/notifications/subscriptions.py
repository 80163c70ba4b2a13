from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from hotline.platform import pubsub
from hotline.schema.context import Info
from hotline.schema.live import while_allowed
from hotline.schema.notifications.types import Notice
from hotline.schema.permissions import signed_in
from hotline.tenants.kernel.errors import NotFound
from hotline.tenants.notifications import service
from hotline.tenants.notifications.delivery import notice_channel


@strawberry.type
class NotificationSubscriptions:
    @strawberry.subscription(
        permission_classes=[signed_in], description="The signed-in user's new in-app notices."
    )
    async def notice_received(self, info: Info) -> AsyncGenerator[Notice, None]:
        actor = info.context.actor
        if actor.tenant_id is None or actor.user_id is None:
            raise NotFound("city")
        async with pubsub.subscribe(notice_channel(actor.tenant_id, actor.user_id)) as notices:
            async for notice in while_allowed(actor, notices):
                row = await service.my_notice(actor=actor, notice_id=int(notice["notice_id"]))
                if row is not None:
                    yield Notice.from_model(row)
