"""Retries for every worker task: transient failures again with backoff, permanent ones never.

arq only retries a job that raises ``arq.Retry``; any other exception fails the job for
good. :func:`retrying` turns a transient failure (``hotline.platform.faults``: network,
PostgreSQL restarts and serialization failures, Redis, S3 5xx, timeouts) into
``Retry(defer=base * 2**(try-1))`` until ``HOTLINE_JOB_MAX_TRIES``; on the last try the
original error is raised so the job's result says what went wrong. Domain errors and
anything else are permanent: raised at once, never retried.

Every task registered in ``WorkerSettings`` is wrapped (``tenant_job`` wraps for tenant
jobs; platform-wide cron tasks use ``@retrying`` directly); a test checks it. The wrapper
is also where every job is measured (``hotline_job_seconds`` by task and outcome,
``hotline_job_failures_total``) and, with traces on, continues the trace that enqueued it
(the ``otel`` keyword argument, ``hotline.platform.jobs.enqueue``).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypeVar, cast

import structlog
from arq import Retry

from hotline.platform.faults import is_transient
from hotline.platform.observability import metrics, tracing
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

    task = fn.__name__

    @functools.wraps(fn)
    async def run(*args: P.args, **kwargs: P.kwargs) -> R:
        parent = kwargs.pop(tracing.JOB_KWARG, None)
        started = time.perf_counter()
        outcome = "failed"
        try:
            with tracing.span(
                f"job {task}",
                parent=parent if isinstance(parent, dict) else None,
                kind=tracing.CONSUMER,
                attributes={"hotline.job": task},
            ):
                result = await _attempt(fn, task, *args, **kwargs)
            outcome = "ok"
            return result
        except Retry:
            outcome = "retry"
            raise
        finally:
            metrics.JOB_SECONDS.labels(task, outcome).observe(time.perf_counter() - started)
            metrics.sample_db_pool()

    setattr(run, RETRYING, True)
    return run


async def _attempt(
    fn: Callable[..., Coroutine[Any, Any, R]], task: str, *args: Any, **kwargs: Any
) -> R:
    ctx = cast(dict[str, Any], args[0] if args else {})
    try:
        return await fn(*args, **kwargs)
    except Retry:
        raise
    except DomainError:
        metrics.JOB_FAILURES.labels(task, "permanent").inc()
        raise
    except Exception as exc:
        if not is_transient(exc):
            metrics.JOB_FAILURES.labels(task, "permanent").inc()
            raise
        job_try = int(ctx.get("job_try") or 1)
        if job_try >= get_settings().job_max_tries:
            metrics.JOB_FAILURES.labels(task, "gave_up").inc()
            log.warning("job.gave_up", job=task, job_try=job_try, error=type(exc).__name__)
            raise
        metrics.JOB_FAILURES.labels(task, "transient").inc()
        defer = backoff_seconds(job_try)
        log.warning(
            "job.retry",
            job=task,
            job_try=job_try,
            defer_seconds=defer,
            error=type(exc).__name__,
            detail=str(exc)[:200],
        )
        raise Retry(defer=defer) from exc
