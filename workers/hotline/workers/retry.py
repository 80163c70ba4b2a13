"""Retries for every worker task: transient failures again with backoff, permanent ones never.

arq only retries a job that raises ``arq.Retry``; any other exception fails the job for
good. :func:`retrying` turns a transient failure (``hotline.platform.faults``: network,
PostgreSQL restarts and serialization failures, Redis, S3 5xx, timeouts) into
``Retry(defer=base * 2**(try-1))`` until ``HOTLINE_JOB_MAX_TRIES``; on the last try the
original error is raised so the job's result says what went wrong. Domain errors and
anything else are permanent: raised at once, never retried.

Every task registered in ``WorkerSettings`` is wrapped (``tenant_job`` wraps for tenant
jobs; platform-wide cron tasks use ``@retrying`` directly); a test checks it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypeVar, cast

import structlog
from arq import Retry

from hotline.platform.faults import is_transient
from hotline.platform.settings import get_settings
from hotline.tenants.kernel.errors import DomainError

R = TypeVar("R")
P = ParamSpec("P")
log = structlog.get_logger(__name__)

RETRYING = "__hotline_retrying__"


def backoff_seconds(job_try: int) -> float:
    """The wait before try ``job_try + 1``: base, 2·base, 4·base, … capped."""
    settings = get_settings()
    return float(
        min(settings.job_retry_max_seconds, settings.job_retry_base_seconds * 2 ** (job_try - 1))
    )


def retrying(fn: Callable[P, Coroutine[Any, Any, R]]) -> Callable[P, Coroutine[Any, Any, R]]:
    """Wrap an arq task so that transient failures are retried with exponential backoff."""
    if getattr(fn, RETRYING, False):
        return fn

    @functools.wraps(fn)
    async def run(*args: P.args, **kwargs: P.kwargs) -> R:
        ctx = cast(dict[str, Any], args[0] if args else {})
        try:
            return await fn(*args, **kwargs)
        except Retry:
            raise
        except DomainError:
            raise
        except Exception as exc:
            if not is_transient(exc):
                raise
            job_try = int(ctx.get("job_try") or 1)
            if job_try >= get_settings().job_max_tries:
                log.warning(
                    "job.gave_up", job=fn.__name__, job_try=job_try, error=type(exc).__name__
                )
                raise
            defer = backoff_seconds(job_try)
            log.warning(
                "job.retry",
                job=fn.__name__,
                job_try=job_try,
                defer_seconds=defer,
                error=type(exc).__name__,
                detail=str(exc)[:200],
            )
            raise Retry(defer=defer) from exc

    setattr(run, RETRYING, True)
    return run
