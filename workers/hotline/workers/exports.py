"""Exports: one job per requested export, in the requester's city (docs/statistics.md,
"Exports"). Long: a month of a province is millions of rows (see the settings' timeout)."""

from __future__ import annotations

from typing import Any

from hotline.tenants.statistics import exports
from hotline.workers.scoped import tenant_job

TIMEOUT_SECONDS = 3600


@tenant_job
async def run_export(ctx: dict[str, Any], *, export_id: int) -> int:
    """Write the export into the object store; the rows written (0 if already done)."""
    return await exports.run_export(export_id)
