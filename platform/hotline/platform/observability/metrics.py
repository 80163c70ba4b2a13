"""Prometheus metrics of the API and the workers (prometheus-client).

Per-process metrics (request latency, errors, jobs, the database pool) live in the
default registry. With several processes behind one port (``hotline serve --workers N``)
set ``PROMETHEUS_MULTIPROC_DIR`` to an empty directory before the processes start:
prometheus-client then keeps every process's values in files there and
:func:`exposition` merges them (docs/operations.md, "Metrics").

The deployment's state (outbox lag, dead letters, open and overdue work orders per
city, the evidence queue) is not measured per process: the worker's relay and sweep
write it to Redis (:mod:`hotline.platform.observability.state`) and ``/metrics`` of the
API exports it, so a scrape never scans a table.
"""

from __future__ import annotations

import os
import re
import threading
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

__all__ = ["CONTENT_TYPE_LATEST", "exposition"]

# Request latencies: a fast read is ~5-20 ms, a deadline is 30 s.
_LATENCY = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_JOB_LATENCY = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)

GRAPHQL_SECONDS = Histogram(
    "hotline_graphql_request_seconds",
    "GraphQL operations by operation name, type and outcome (ok | error).",
    ["operation", "type", "outcome"],
    buckets=_LATENCY,
)
GRAPHQL_ERRORS = Counter(
    "hotline_graphql_errors_total",
    "GraphQL errors by code: top-level errors (where=response) and payload errors"
    " (where=payload, the typed errors of a mutation's `errors` list).",
    ["code", "where"],
)
DB_POOL = Gauge(
    "hotline_db_pool_connections",
    "The runtime PostgreSQL pool: in_use, idle, max, and waiting (acquirers queued).",
    ["state"],
    multiprocess_mode="livesum",
)
DB_REPLICA_LAG = Gauge(
    "hotline_db_replica_lag_seconds",
    "The read replica's replay lag as this process last measured it (+Inf: unreachable);"
    " above HOTLINE_DATABASE_REPLICA_MAX_LAG_SECONDS its reads go to the primary.",
    multiprocess_mode="max",
)
JOB_SECONDS = Histogram(
    "hotline_job_seconds",
    "Background jobs by task and outcome (ok | retry | failed).",
    ["task", "outcome"],
    buckets=_JOB_LATENCY,
)
JOB_FAILURES = Counter(
    "hotline_job_failures_total",
    "Background job failures by task and kind (transient: retried; permanent; gave_up).",
    ["task", "kind"],
)

# Operation names come from clients: only well-formed names, and at most this many
# distinct ones per process, become label values (the rest count as "other").
MAX_OPERATIONS = 300
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_operations: set[str] = set()
_operations_lock = threading.Lock()


def operation_label(name: str | None) -> str:
    if not name:
        return "anonymous"
    if name in _operations:
        return name
    if not _NAME.match(name):
        return "other"
    with _operations_lock:
        if len(_operations) >= MAX_OPERATIONS:
            return "other"
        _operations.add(name)
    return name


def sample_db_pool() -> None:
    """Read the runtime pool's sizes into ``DB_POOL`` (a few attribute reads)."""
    try:
        from tortoise import connections

        pool: Any = getattr(connections.get("default"), "_pool", None)
    except Exception:  # no ORM in this process (yet)
        return
    if pool is None:
        return
    size, idle = pool.get_size(), pool.get_idle_size()
    queue = getattr(pool, "_queue", None)
    # asyncpg keeps acquirers waiting for a free connection as the queue's getters
    waiting = len(getattr(queue, "_getters", ()) or ())
    DB_POOL.labels("in_use").set(size - idle)
    DB_POOL.labels("idle").set(idle)
    DB_POOL.labels("max").set(pool.get_max_size())
    DB_POOL.labels("waiting").set(waiting)


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def exposition(*extra: CollectorRegistry) -> bytes:
    """The text exposition: this process (or every process of the multiprocess
    directory) and the ``extra`` registries (the deployment state)."""
    if multiprocess_dir():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        text = generate_latest(registry)
    else:
        text = generate_latest()
    return text + b"".join(generate_latest(r) for r in extra)
