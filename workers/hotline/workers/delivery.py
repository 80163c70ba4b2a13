"""Delivering one outbox message, in the message's city."""

from __future__ import annotations

from typing import Any

from hotline.tenants.notifications.delivery import deliver_outbox
from hotline.workers.scoped import tenant_job


@tenant_job
async def deliver_message(ctx: dict[str, Any], *, outbox_id: int) -> str:
    return await deliver_outbox(outbox_id=outbox_id)
