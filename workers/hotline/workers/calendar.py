"""Re-time provisional deadlines after a province publishes a year (one job per city)."""

from __future__ import annotations

from typing import Any

from hotline.tenants.tickets.recompute import recompute_provisional
from hotline.workers.scoped import tenant_job


@tenant_job
async def recompute_provisional_deadlines(ctx: dict[str, Any], *, year: int) -> int:
    return await recompute_provisional(year=year)
