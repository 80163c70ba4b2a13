"""The shared Redis client and key naming: every key carries the deployment prefix."""

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
        client = Redis.from_url(get_settings().redis_url, decode_responses=True)
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
