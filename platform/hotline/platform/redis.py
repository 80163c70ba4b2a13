"""The shared Redis client and key naming: every key carries the deployment prefix.

Every call has a timeout (``HOTLINE_REDIS_TIMEOUT_SECONDS``, connect and reply), so a
paused or unreachable Redis fails fast with ``redis.exceptions.ConnectionError`` /
``TimeoutError``; callers that can degrade do (rate limits fall back to a local
limiter, pub/sub pauses, session revocation reads PostgreSQL) and the rest answer
503 (docs/operations.md). The client reconnects by itself once Redis is back.

With ``HOTLINE_REDIS_SENTINELS`` every client is a Sentinel-managed one
(:func:`client_for`): it asks the sentinels for the primary of
``HOTLINE_REDIS_SENTINEL_MASTER`` on connect, and a connection that finds the old
primary demoted or gone is dropped and re-resolved, so a failover costs the calls in
flight (which degrade as above), not a restart.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Coroutine
from typing import Any, TypeVar
from urllib.parse import parse_qs, unquote, urlsplit
from weakref import WeakKeyDictionary

from redis.asyncio import Redis
from redis.asyncio.sentinel import Sentinel

from hotline.platform.settings import Settings, get_settings

_clients: WeakKeyDictionary[asyncio.AbstractEventLoop, Redis] = WeakKeyDictionary()
R = TypeVar("R", bound=Redis)


def sentinel_nodes(settings: Settings) -> list[tuple[str, int]]:
    """``HOTLINE_REDIS_SENTINELS`` as (host, port) pairs (port 26379 when omitted)."""
    nodes = []
    for item in (part.strip() for part in settings.redis_sentinels.split(",")):
        if item:
            host, _, port = item.rpartition(":") if ":" in item else (item, "", "26379")
            nodes.append((host.strip("[]"), int(port)))
    return nodes


def url_credentials(settings: Settings) -> dict[str, Any]:
    """Database number, user and password of ``HOTLINE_REDIS_URL`` (its host is the
    sentinels' business when they are configured)."""
    parts = urlsplit(settings.redis_url)
    db = parse_qs(parts.query).get("db", [parts.path.lstrip("/") or "0"])[-1]
    return {
        "db": int(db or 0),
        "username": unquote(parts.username) if parts.username else None,
        "password": unquote(parts.password) if parts.password else None,
    }


def client_for(settings: Settings, redis_class: type[R], **kwargs: Any) -> R:
    """A client of ``redis_class`` for the configured Redis: the URL's server, or the
    primary the sentinels name. Every call has the connect and reply timeout."""
    timeouts: dict[str, Any] = {
        "socket_timeout": settings.redis_timeout_seconds,
        "socket_connect_timeout": settings.redis_timeout_seconds,
    }
    if not settings.redis_sentinels:
        direct: R = redis_class.from_url(settings.redis_url, **timeouts, **kwargs)
        return direct
    password = settings.redis_sentinel_password
    sentinel = Sentinel(  # type: ignore[no-untyped-call]
        sentinel_nodes(settings),
        sentinel_kwargs={
            **timeouts,
            "password": password.get_secret_value() if password else None,
        },
    )
    client: R = sentinel.master_for(
        settings.redis_sentinel_master,
        redis_class=redis_class,
        **url_credentials(settings),
        **timeouts,
        **kwargs,
    )
    return client


def redis_client() -> Redis:
    """One client per event loop (tests and the CLI run several loops in one process)."""
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None:
        client = client_for(get_settings(), Redis, decode_responses=True)
        _clients[loop] = client
    return client


def key(*parts: str | int) -> str:
    return ":".join([get_settings().redis_prefix, *(str(p) for p in parts)])


def tenant_key(tenant_id: int, *parts: str | int) -> str:
    """A key owned by one city: ``<prefix>:t:<tenant_id>:…``."""
    return key("t", tenant_id, *parts)


async def close_client(client: Redis) -> None:
    """Close ``client`` and, for a Sentinel-managed one, its connections to the sentinels
    (closing the client alone leaves those open)."""
    manager = getattr(client.connection_pool, "sentinel_manager", None)
    await client.aclose(close_connection_pool=True)
    for node in getattr(manager, "sentinels", ()):
        await node.aclose()


# Sends of this loop's client that nobody awaits (pubsub.announce): closing waits for them.
_background: WeakKeyDictionary[asyncio.AbstractEventLoop, set[asyncio.Task[None]]] = (
    WeakKeyDictionary()
)


def in_background(work: Coroutine[Any, Any, None]) -> None:
    """Run ``work`` — a send on this loop's client — without waiting for it, in a
    context of its own (not the caller's: its logs are not the request's);
    :func:`close_redis` lets it finish before the client closes. ``work`` handles its
    own errors (nobody is there to hear them)."""
    loop = asyncio.get_running_loop()
    task = loop.create_task(work, context=contextvars.Context())
    tasks = _background.setdefault(loop, set())
    tasks.add(task)
    task.add_done_callback(tasks.discard)


# How long closing waits for the background sends (each has the reply timeout already).
CLOSE_WAIT_SECONDS = 5.0


async def close_redis() -> None:
    """Close this loop's client, once the sends in background are done — also those
    started while waiting for the first (a request that ended meanwhile); what is still
    running after :data:`CLOSE_WAIT_SECONDS` is cancelled."""
    loop = asyncio.get_running_loop()
    while pending := _background.pop(loop, None):
        _, late = await asyncio.wait(pending, timeout=CLOSE_WAIT_SECONDS)
        for task in late:
            task.cancel()
    client = _clients.pop(loop, None)
    if client is not None:
        await close_client(client)
