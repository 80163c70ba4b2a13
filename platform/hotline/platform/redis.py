"""The shared Redis client and key naming: every key carries the deployment prefix.

Every call has a timeout (``HOTLINE_REDIS_TIMEOUT_SECONDS``, connect and reply), so a
paused or unreachable Redis fails fast with ``redis.exceptions.ConnectionError`` /
``TimeoutError``; callers that can degrade do (rate limits fall back to a local
limiter, pub/sub pauses, session revocation reads PostgreSQL) and the rest answer
503 (docs/operations.md). The client reconnects by itself once Redis is back.
"""

from __future__ import annotations

import asyncio
from weakref import WeakKeyDictionary

from redis.asyncio import Redis

from hotline.platform.settings import get_settings

_clients: WeakKeyDictionary[asyncio.AbstractEventLoop, Redis] = WeakKeyDictionary()


def redis_client() -> Redis:
    """One client per event loop (tests and the CLI run several loops in one process)."""
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None:
        settings = get_settings()
        client = Redis.from_url(
            settings.redis_url,
            decode_responses=True,
            socket_timeout=settings.redis_timeout_seconds,
            socket_connect_timeout=settings.redis_timeout_seconds,
        )
        _clients[loop] = client
    return client


def key(*parts: str | int) -> str:
    return ":".join([get_settings().redis_prefix, *(str(p) for p in parts)])


def tenant_key(tenant_id: int, *parts: str | int) -> str:
    """A key owned by one city: ``<prefix>:t:<tenant_id>:…``."""
    return key("t", tenant_id, *parts)


async def close_redis() -> None:
    loop = asyncio.get_running_loop()
    client = _clients.pop(loop, None)
    if client is not None:
        await client.aclose()
