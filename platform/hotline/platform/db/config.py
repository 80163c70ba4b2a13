"""Tortoise configuration assembled from the parts' declared ORM apps.

Each part declares its models in the ``hotline.orm_apps`` entry-point group, so
``platform`` builds the configuration without importing any part above it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import asyncpg

from hotline.platform.db import replica
from hotline.platform.db.pooling import TransactionPooledConnection, scope_setup
from hotline.platform.db.replica import REPLICA, ReplicaRouter
from hotline.platform.settings import Settings
from hotline.platform.tenancy import current_scope, rls_settings_sql


@dataclass(frozen=True)
class OrmApp:
    label: str
    models: list[str]
    migrations: str | None = None
    order: int = field(default=100)


def orm_apps() -> list[OrmApp]:
    apps = [ep.load() for ep in entry_points(group="hotline.orm_apps")]
    for app in apps:
        if not isinstance(app, OrmApp):
            raise TypeError(f"hotline.orm_apps entry {app!r} is not an OrmApp")
    return sorted(apps, key=lambda a: (a.order, a.label))


def credentials(url: str) -> dict[str, Any]:
    """asyncpg keyword arguments from a ``postgres://`` URL (``?host=/socket/dir`` too)."""
    parts = urlsplit(url)
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    host = query.pop("host", None) or parts.hostname or "127.0.0.1"
    return {
        "host": unquote(host),
        "port": parts.port or int(query.pop("port", "5432")),
        "user": unquote(parts.username or "postgres"),
        "password": unquote(parts.password) if parts.password else None,
        "database": unquote(parts.path.lstrip("/")) or "postgres",
    }


async def apply_scope(connection: asyncpg.Connection) -> None:
    """Pool ``setup`` hook: every acquire resets the session and sets the RLS variables
    from the task's scope, in one round trip (simple-query protocol).

    This is the only place the database scope is set (docs/architecture.md §9) — for a
    direct connection or a session-mode pooler; behind a transaction-mode PgBouncer its
    twin :func:`hotline.platform.db.pooling.scope_setup` sets it ``LOCAL`` instead. All
    four variables are written on every acquire, so nothing of an earlier task's scope
    survives.
    """
    await connection.execute("RESET ALL; " + rls_settings_sql(current_scope()))


async def release_connection(connection: asyncpg.Connection) -> None:
    """Pool ``reset`` hook: the next acquire resets the session anyway (above), so a
    clean connection goes back as it is; one left inside a transaction (a cancelled
    task) gets asyncpg's full reset, which rolls it back."""
    if connection.is_in_transaction():
        await connection.reset()


def tortoise_config(
    settings: Settings, *, url: str | None = None, app_scoped: bool = True
) -> dict[str, Any]:
    """The Tortoise config; ``app_scoped`` adds the RLS hook (runtime), off for migrations."""
    creds = credentials(url or settings.app_database_url())
    creds["minsize"] = settings.database_pool_min
    creds["maxsize"] = settings.database_pool_max
    creds["server_settings"] = {"application_name": "hotline", "timezone": "UTC"}
    transaction_pooled = app_scoped and settings.database_pooling == "transaction"
    if transaction_pooled:
        # a transaction-mode pooler (docs/operations.md "PgBouncer"): each acquire is a
        # transaction with its scope and timeout SET LOCAL (hotline.platform.db.pooling);
        # no startup parameter PgBouncer does not track, no prepared-statement cache
        timeout_ms = int(settings.database_statement_timeout_seconds * 1000)
        creds["connection_class"] = TransactionPooledConnection
        creds["statement_cache_size"] = 0
        creds["setup"] = scope_setup(statement_timeout_ms=timeout_ms, read_only=False)
        creds["reset"] = release_connection
    elif app_scoped:
        # the runtime's statements end after this (RESET ALL on acquire keeps it: a
        # startup parameter is the session's default)
        timeout_ms = int(settings.database_statement_timeout_seconds * 1000)
        creds["server_settings"]["statement_timeout"] = str(timeout_ms)
        creds["setup"] = apply_scope
        creds["reset"] = release_connection
    apps: dict[str, Any] = {}
    for app in orm_apps():
        entry: dict[str, Any] = {"models": app.models, "default_connection": "default"}
        if app.migrations:
            entry["migrations"] = app.migrations
        apps[app.label] = entry
    connections: dict[str, Any] = {
        "default": {"engine": "tortoise.backends.asyncpg", "credentials": creds}
    }
    config: dict[str, Any] = {
        "connections": connections,
        "apps": apps,
        "use_tz": True,
        "timezone": "UTC",
    }
    if app_scoped and url is None and settings.database_replica_url:
        # the same pool, hooks (RLS scope on every acquire) and timeouts, on the replica
        replica = {**creds, **credentials(settings.database_replica_url)}
        if transaction_pooled:
            replica["setup"] = scope_setup(statement_timeout_ms=timeout_ms, read_only=True)
        else:
            replica["server_settings"] = {
                **creds["server_settings"],
                "default_transaction_read_only": "on",
            }
        connections[REPLICA] = {"engine": "tortoise.backends.asyncpg", "credentials": replica}
        config["routers"] = [ReplicaRouter]
    return config


async def init_orm(settings: Settings) -> None:
    """Initialise Tortoise for a long-running process (API, worker, CLI, tests).

    Tortoise 1.x keeps its state in a context variable; the global fallback makes it
    visible to tasks that do not descend from the one that ran ``init`` (uvicorn's
    request tasks are siblings of its lifespan task; so are arq's job tasks).
    """
    from tortoise import Tortoise

    await Tortoise.init(config=tortoise_config(settings), _enable_global_fallback=True)
    if settings.database_replica_url:
        replica.configure(
            max_lag=settings.database_replica_max_lag_seconds,
            interval=settings.database_replica_check_seconds,
        )
    else:
        replica.disable()
