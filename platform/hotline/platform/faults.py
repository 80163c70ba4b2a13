"""Which failures are worth trying again: the network, a restarting database, a busy store.

A *transient* failure says nothing about the work itself (the same call may well succeed
a second later): a refused or reset connection, a timeout, PostgreSQL dropping the
connection or aborting a transaction for serialization/deadlock, Redis going away, an
object store answering 5xx. Everything else — our typed domain errors, validation, a
programming error — is *permanent*: trying again gives the same answer.

The worker retries transient failures with backoff (``hotline.workers.retry``); the API
answers 503 for them instead of "Unexpected error".
"""

from __future__ import annotations

import asyncpg.exceptions as pg
import redis.exceptions as redis_errors
from minio.error import InvalidResponseError, S3Error, ServerError

# PostgreSQL: connection lost/refused (class 08), serialization and deadlock (40001,
# 40P01), server shutting down or starting (57P01-57P03), too many connections (53300).
_PG_TRANSIENT: tuple[type[BaseException], ...] = (
    pg.PostgresConnectionError,
    pg.TransactionRollbackError,
    pg.CannotConnectNowError,
    pg.AdminShutdownError,
    pg.CrashShutdownError,
    pg.TooManyConnectionsError,
    pg.ConnectionDoesNotExistError,
)
_REDIS_TRANSIENT: tuple[type[BaseException], ...] = (
    redis_errors.ConnectionError,
    redis_errors.TimeoutError,
    redis_errors.BusyLoadingError,
    redis_errors.TryAgainError,
    redis_errors.ClusterDownError,
)


def _one_is_transient(exc: BaseException) -> bool:
    if isinstance(exc, (OSError, *_PG_TRANSIENT, *_REDIS_TRANSIENT)):
        # OSError covers ConnectionError, TimeoutError (asyncio's too) and socket errors.
        return True
    if isinstance(exc, pg.InterfaceError):
        # asyncpg's "connection was closed in the middle of operation" and pool shutdowns
        return "closed" in str(exc) or "connection" in str(exc).lower()
    if isinstance(exc, ServerError):
        return exc.status_code >= 500
    if isinstance(exc, InvalidResponseError):
        return str(exc).startswith("non-XML response from server; Response code: 5")
    if isinstance(exc, S3Error):
        status = getattr(exc.response, "status", 0) or 0
        return status >= 500 or exc.code in {"SlowDown", "ServiceUnavailable", "InternalError"}
    return False


def is_transient(exc: BaseException) -> bool:
    """True when ``exc`` (or what it was raised from) is a transient failure.

    Wrappers such as Tortoise's ``OperationalError`` keep the driver's error as their
    cause (``raise … from exc``), so the ``__cause__`` chain is looked at; an error merely
    raised *while handling* another (``__context__``) is judged on its own.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if _one_is_transient(current):
            return True
        current = current.__cause__
    return False
