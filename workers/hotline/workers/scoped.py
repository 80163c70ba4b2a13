"""Every job receives ``tenant_id`` and runs inside that city's scope."""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from hotline.platform.tenancy import Scope, use_scope
from hotline.tenants.provinces.models import Province, Tenant
from hotline.workers.retry import retrying

R = TypeVar("R")


def tenant_job(
    fn: Callable[..., Coroutine[Any, Any, R]],
) -> Callable[..., Coroutine[Any, Any, R]]:
    """Wrap an arq task: look the city up, set its scope, then run the task; transient
    failures are retried with backoff (``hotline.workers.retry``). A job with no city
    but a ``province_id`` (a province-wide export) runs in that province's scope."""

    @functools.wraps(fn)
    async def run(
        ctx: dict[str, Any], *, tenant_id: int | None, province_id: int | None = None, **kwargs: Any
    ) -> R:
        if tenant_id is None and province_id is not None:
            with use_scope(Scope.platform()):
                province = await Province.get(id=province_id)
            with use_scope(Scope.province(province.id)):
                return await fn(ctx, **kwargs)
        if tenant_id is None:
            with use_scope(Scope.platform()):
                return await fn(ctx, **kwargs)
        with use_scope(Scope.platform()):
            tenant = await Tenant.get(id=tenant_id)
        with use_scope(Scope.city(tenant.id, tenant.province_id)):
            return await fn(ctx, **kwargs)

    return retrying(run)
