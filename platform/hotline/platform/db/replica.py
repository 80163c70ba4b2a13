"""Read replicas: which reads may be served by a streaming replica, and when not.

A read goes to the replica only when all of these hold (otherwise the primary serves it):

- a replica is configured (``HOTLINE_DATABASE_REPLICA_URL``);
- the code runs inside :func:`replica_reads` — the schema opens it for query operations
  whose root fields are all statistics, search or list fields — and not inside
  :func:`primary_only` (mutations, subscriptions, a caller who just wrote);
- no transaction is open (a read inside a transaction is part of a write);
- the replica's replay lag, measured when :func:`replica_reads` is entered (at most once
  per ``HOTLINE_DATABASE_REPLICA_CHECK_SECONDS`` per process), is within
  ``HOTLINE_DATABASE_REPLICA_MAX_LAG_SECONDS``; an unreachable replica counts as lagging.

That decision is **pinned** for the block (the request): the process-wide health that
other requests keep measuring never moves a request between replica and primary
half-way, so a dashboard's reads never mix the two servers' snapshots.

ORM reads are routed by :class:`ReplicaRouter` (Tortoise's router hook; writes always go
to the model's own connection); raw SQL asks :func:`read_connection`. The replica's pool
has the same ``setup`` hook as the primary's (:func:`hotline.platform.db.config.apply_scope`),
so row-level security holds there too.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from typing import Any

import structlog
from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient, TransactionalDBClient

from hotline.platform.observability import metrics

log = structlog.get_logger(__name__)

REPLICA = "replica"

# The block's decision, taken once when ``replica_reads`` is entered: None outside one.
_pinned: ContextVar[bool | None] = ContextVar("hotline_replica_pinned", default=None)
_primary: ContextVar[bool] = ContextVar("hotline_primary_only", default=False)

# The replica is fresh when it has replayed everything the primary had written when we
# asked it; otherwise its lag is the age of the last transaction it replayed.
PRIMARY_LSN = "SELECT pg_current_wal_lsn()::text AS lsn"
REPLICA_LAG = """
SELECT CASE
    WHEN NOT pg_is_in_recovery() THEN 0.0
    WHEN pg_last_wal_replay_lsn() >= $1::text::pg_lsn THEN 0.0
    ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8,
                  'Infinity'::float8)
END AS lag
"""


class ReplicaHealth:
    """The last measured lag of this process's replica (``inf``: unknown or down)."""

    def __init__(self, *, max_lag: float, interval: float) -> None:
        self.max_lag = max_lag
        self.interval = interval
        self.lag = math.inf
        self._checked = -math.inf
        self._lock = asyncio.Lock()

    @property
    def fresh(self) -> bool:
        return self.lag <= self.max_lag

    async def refresh_if_due(self) -> None:
        if time.monotonic() - self._checked < self.interval:
            return
        async with self._lock:
            if time.monotonic() - self._checked < self.interval:
                return  # another task measured while we waited
            self.lag = await self._measure()
            self._checked = time.monotonic()
            metrics.DB_REPLICA_LAG.set(self.lag)

    async def _measure(self) -> float:
        try:
            primary = connections.get("default")
            [row] = await primary.execute_query_dict(PRIMARY_LSN)
            [lag] = await connections.get(REPLICA).execute_query_dict(REPLICA_LAG, [row["lsn"]])
            return float(lag["lag"])
        except Exception as exc:  # an unreachable replica serves nothing
            log.warning("replica.unreachable", error=type(exc).__name__, detail=str(exc)[:200])
            return math.inf


_health: ReplicaHealth | None = None


def configure(*, max_lag: float, interval: float) -> None:
    """Called by ``init_orm`` when a replica is configured."""
    global _health
    _health = ReplicaHealth(max_lag=max_lag, interval=interval)


def disable() -> None:
    global _health
    _health = None


def health() -> ReplicaHealth | None:
    return _health


def _in_transaction() -> bool:
    return isinstance(connections.get("default"), TransactionalDBClient)


def routed() -> bool:
    """Whether a read issued now goes to the replica: the block's pinned decision, unless
    the read is under ``primary_only`` or inside a transaction."""
    return (
        _health is not None and bool(_pinned.get()) and not _primary.get() and not _in_transaction()
    )


@asynccontextmanager
async def replica_reads() -> AsyncIterator[None]:
    """Reads in this block may be served by the replica (see the module's rules). Whether
    they are is decided here, once, from the replica's health now, and holds for the whole
    block; a nested block keeps the outer decision."""
    if _health is None or _primary.get() or _pinned.get() is not None:
        yield
        return
    await _health.refresh_if_due()
    token = _pinned.set(_health.fresh)
    try:
        yield
    finally:
        _pinned.reset(token)


@contextmanager
def primary_only() -> Iterator[None]:
    """Everything in this block reads from the primary, even inside ``replica_reads``."""
    token = _primary.set(True)
    try:
        yield
    finally:
        _primary.reset(token)


def read_connection() -> BaseDBAsyncClient:
    """The connection a raw read should use now: the replica when routed, else the
    default one (the current transaction's, inside one)."""
    client: BaseDBAsyncClient = connections.get(REPLICA if routed() else "default")
    return client


def read_transaction() -> Any:
    """A transaction for a multi-statement read (one connection, the scope set once): on
    the replica when reads are routed there now, else on the default connection."""
    from tortoise.transactions import in_transaction

    return in_transaction(REPLICA if routed() else "default")


class ReplicaRouter:
    """Tortoise router: reads to the replica when :func:`routed`; writes never."""

    def db_for_read(self, model: type[Any]) -> str | None:
        return REPLICA if routed() else None

    def db_for_write(self, model: type[Any]) -> str | None:
        return None
