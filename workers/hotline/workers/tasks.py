"""Worker tasks. Each one parses its arguments, calls one service function, and returns."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hotline.platform import clock, outbox
from hotline.platform.db import partitions
from hotline.platform.settings import get_settings
from hotline.platform.tenancy import current_scope
from hotline.tenants.accounts.sessions import purge_expired_refresh_tokens
from hotline.workers.retry import retrying
from hotline.workers.scoped import tenant_job


@tenant_job
async def ping(ctx: dict[str, Any]) -> dict[str, Any]:
    """Answers with the scope the job ran in: proves the worker sets the tenant context."""
    scope = current_scope()
    return {"scope": scope.kind.value, "tenant_id": scope.tenant_id, "job_try": ctx.get("job_try")}


@retrying
async def purge_expired_sessions(ctx: dict[str, Any]) -> int:
    """Nightly: drop refresh tokens past their expiry (platform-wide, no tenant rows)."""
    return await purge_expired_refresh_tokens()


@retrying
async def maintain_partitions(ctx: dict[str, Any]) -> int:
    """Nightly: the coming months' partitions of the monthly tables, and retention."""
    settings = get_settings()
    done = await partitions.maintain(
        months_ahead=settings.partition_months_ahead,
        retention={
            table: int(getattr(settings, setting)) for table, setting in partitions.MONTHLY.items()
        },
    )
    return sum(d.made for d in done)


@retrying
async def archive_outbox(ctx: dict[str, Any]) -> int:
    """Every ten minutes: delivered outbox messages older than
    ``HOTLINE_OUTBOX_ARCHIVE_AFTER_MINUTES`` move to the monthly ``outbox_delivered``."""
    minutes = get_settings().outbox_archive_after_minutes
    if minutes <= 0:  # off while a release that never reads the archive still serves
        return 0
    after = timedelta(minutes=minutes)
    return await outbox.archive_delivered(older_than=clock.now() - after)
