"""Every job receives ``tenant_id`` and runs inside that city's scope."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from hotline.platform.tenancy import Scope, use_scope
from hotline.tenants.provinces.models import Tenant

R = TypeVar("R")


def tenant_job(
    fn: Callable[..., Awaitable[R]],
) -> Callable[..., Awaitable[R]]:
    """Wrap an arq task: look the city up, set its scope, then run the task."""

    @functools.wraps(fn)
    async def run(ctx: dict[str, Any], *, tenant_id: int | None, **kwargs: Any) -> R:
        if tenant_id is None:
            with use_scope(Scope.platform()):
                return await fn(ctx, **kwargs)
        with use_scope(Scope.platform()):
            tenant = await Tenant.get(id=tenant_id)
        with use_scope(Scope.city(tenant.id, tenant.province_id)):
            return await fn(ctx, **kwargs)

    return run
