"""The business extension's jobs: a registry import, run in its city's scope."""

from __future__ import annotations

from typing import Any

from hotline.tenants.business import notify
from hotline.tenants.business.registry_import import run_import
from hotline.workers.scoped import tenant_job


@tenant_job
async def import_enterprises(ctx: dict[str, Any], *, import_id: int) -> int:
    """Validate and upsert one uploaded registry file (re-running a finished one is a no-op)."""
    row = await run_import(import_id)
    return row.inserted + row.updated


@tenant_job
async def notify_policy(ctx: dict[str, Any], *, policy_id: int) -> int:
    """Tell a published policy's eligible enterprises, once each (re-run safe)."""
    return await notify.notify_policy(policy_id)
