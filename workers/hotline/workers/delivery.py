"""Delivering outbox messages, in the messages' city: a batch per job (one message per job
for jobs enqueued before batches existed)."""

from __future__ import annotations

from typing import Any

from hotline.tenants.notifications.delivery import deliver_batch as deliver_outbox_batch
from hotline.tenants.notifications.delivery import deliver_outbox
from hotline.workers.scoped import tenant_job


@tenant_job
async def deliver_message(ctx: dict[str, Any], *, outbox_id: int) -> str:
    return await deliver_outbox(outbox_id=outbox_id)


@tenant_job
async def deliver_batch(ctx: dict[str, Any], *, outbox_ids: list[int]) -> dict[str, int]:
    return await deliver_outbox_batch(outbox_ids=outbox_ids)
