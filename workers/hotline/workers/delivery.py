"""Delivering one outbox message, in the message's city."""

from __future__ import annotations

from typing import Any

from hotline.platform.outbox.lease import holding
from hotline.tenants.notifications.delivery import deliver_outbox
from hotline.workers.scoped import tenant_job


@tenant_job
async def deliver_message(ctx: dict[str, Any], *, outbox_id: int) -> str:
    """Deliver while holding the message's lease (renewed as the delivery runs); a
    message another live job holds is left to it (``busy``)."""
    async with holding(outbox_id) as held:
        if not held:
            return "busy"
        return await deliver_outbox(outbox_id=outbox_id)
