"""The jobs port: ``tenants`` and ``schema`` enqueue through here and never import arq.

Every job names its tenant (or says it is platform-wide); the worker sets that scope
before the job touches data (``hotline.workers.scoped``).
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass, field
from typing import Any

import structlog
from arq.connections import ArqRedis, RedisSettings
from arq.jobs import Job
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from hotline.platform.observability import tracing
from hotline.platform.redis import client_for, close_client, sentinel_nodes, url_credentials
from hotline.platform.redis import key as redis_key
from hotline.platform.settings import Settings, get_settings

_pools: dict[str, ArqRedis] = {}
_UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError)
log = structlog.get_logger(__name__)


# Bulk work (evidence media, model training, statistics, provisional-deadline recomputes)
# goes to its own queue when HOTLINE_BULK_QUEUE is on, so a burst of it never delays
# routing and notifications: ``hotline worker --queue bulk`` runs it, the default
# worker the latency-sensitive rest (docs/operations.md, "Queues").
BULK_FUNCTIONS = frozenset(
    {
        "verify_evidence",
        "process_evidence",
        "train_routing",
        "refresh_statistics",
        "recompute_provisional_deadlines",
        "run_export",
        "import_enterprises",
        "notify_policy",
    }
)


def queue_name(settings: Settings | None = None, *, bulk: bool = False) -> str:
    base = f"{(settings or get_settings()).redis_prefix}:queue"
    return f"{base}:bulk" if bulk else base


def queue_for(function: str, settings: Settings | None = None) -> str:
    """The queue a job of ``function`` goes to: one queue unless HOTLINE_BULK_QUEUE."""
    s = settings or get_settings()
    return queue_name(s, bulk=s.bulk_queue and function in BULK_FUNCTIONS)


def redis_settings(settings: Settings | None = None) -> RedisSettings:
    """arq's connection settings for the worker: the URL's server, or through the
    sentinels (``HOTLINE_REDIS_SENTINELS``) the primary they name."""
    s = settings or get_settings()
    conf = RedisSettings.from_dsn(s.redis_url)
    conf.conn_timeout = max(1, math.ceil(s.redis_timeout_seconds))
    if s.redis_sentinels:
        creds = url_credentials(s)
        conf.host = sentinel_nodes(s)
        conf.sentinel = True
        conf.sentinel_master = s.redis_sentinel_master
        conf.database = creds["db"]
        conf.username = creds["username"]
        conf.password = creds["password"]
    return conf


async def pool() -> ArqRedis:
    """The enqueueing client (one per Redis URL and prefix). Unlike arq's ``create_pool``
    it connects lazily and gives every call a timeout (``HOTLINE_REDIS_TIMEOUT_SECONDS``),
    so enqueueing on a paused or absent Redis fails fast (the API answers 503)."""
    settings = get_settings()
    key = f"{settings.redis_url}|{settings.redis_sentinels}|{settings.redis_prefix}"
    existing = _pools.get(key)
    if existing is None:
        existing = client_for(settings, ArqRedis)
        existing.default_queue_name = queue_name(settings)
        _pools[key] = existing
    return existing


async def close_pools() -> None:
    while _pools:
        _, p = _pools.popitem()
        # a pool opened under an event loop that has since ended (one asyncio.run after
        # another, as the benchmarks run) has nothing left to close
        with contextlib.suppress(RuntimeError):
            await close_client(p)


def job_key(job_id: str) -> str:
    """arq keys jobs by id across the whole Redis database, not per queue: the id it
    stores carries the deployment's prefix, so deployments sharing a Redis never meet."""
    return redis_key("job", job_id)


async def enqueue(
    function: str, *, tenant_id: int | None, job_id: str | None = None, **kwargs: Any
) -> Job | None:
    """Enqueue ``function(tenant_id=…, **kwargs)``; a repeated ``job_id`` enqueues nothing.
    With traces on, the job carries the current trace context (``otel``) and continues the
    trace in the worker (``hotline.workers.retry``)."""
    context = tracing.carrier()
    if context:
        kwargs[tracing.JOB_KWARG] = context
    return await (await pool()).enqueue_job(
        function,
        tenant_id=tenant_id,
        _job_id=job_key(job_id) if job_id else None,
        _queue_name=queue_for(function),
        **kwargs,
    )


@dataclass(frozen=True)
class Recorded:
    """A job a committed row still waits for: what the stale-job sweep enqueues again."""

    function: str
    job_id: str  # stable: the row's own id, so arq runs it once however often it is sent
    kwargs: dict[str, Any] = field(default_factory=dict)


async def enqueue_recorded(
    function: str, *, tenant_id: int | None, job_id: str, **kwargs: Any
) -> bool:
    """Enqueue the job of a row already committed as waiting (an export, a registry
    import, a policy's notices): True if it went to the queue now. Redis unreachable
    between the commit and here is no error to the person who asked — the row stays
    waiting and the stale-job sweep (``hotline.workers.requeue``) enqueues it again
    under the same stable ``job_id``, which arq runs once (docs/operations.md, "Queues")."""
    try:
        await enqueue(function, tenant_id=tenant_id, job_id=job_id, **kwargs)
    except _UNREACHABLE as exc:
        log.warning("jobs.enqueue_deferred", function=function, job_id=job_id, error=repr(exc))
        return False
    return True
