"""The jobs port: ``tenants`` and ``schema`` enqueue through here and never import arq.

Every job names its tenant (or says it is platform-wide); the worker sets that scope
before the job touches data (``hotline.workers.scoped``).
"""

from __future__ import annotations

from typing import Any

from arq import create_pool
from arq.connections import ArqRedis, RedisSettings
from arq.jobs import Job

from hotline.platform.redis import key as redis_key
from hotline.platform.settings import Settings, get_settings

_pools: dict[str, ArqRedis] = {}


def queue_name(settings: Settings | None = None) -> str:
    return f"{(settings or get_settings()).redis_prefix}:queue"


def redis_settings(settings: Settings | None = None) -> RedisSettings:
    return RedisSettings.from_dsn((settings or get_settings()).redis_url)


async def pool() -> ArqRedis:
    settings = get_settings()
    key = f"{settings.redis_url}|{settings.redis_prefix}"
    existing = _pools.get(key)
    if existing is None:
        existing = await create_pool(
            redis_settings(settings), default_queue_name=queue_name(settings)
        )
        _pools[key] = existing
    return existing


async def close_pools() -> None:
    while _pools:
        _, p = _pools.popitem()
        await p.aclose()


def job_key(job_id: str) -> str:
    """arq keys jobs by id across the whole Redis database, not per queue: the id it
    stores carries the deployment's prefix, so deployments sharing a Redis never meet."""
    return redis_key("job", job_id)


async def enqueue(
    function: str, *, tenant_id: int | None, job_id: str | None = None, **kwargs: Any
) -> Job | None:
    """Enqueue ``function(tenant_id=…, **kwargs)``; a repeated ``job_id`` enqueues nothing."""
    return await (await pool()).enqueue_job(
        function, tenant_id=tenant_id, _job_id=job_key(job_id) if job_id else None, **kwargs
    )
