"""Worker tasks. Each one parses its arguments, calls one service function, and returns."""

from __future__ import annotations

from typing import Any

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
