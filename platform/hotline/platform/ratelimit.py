"""A fixed-window rate limiter in Redis, shared by every replica."""

from __future__ import annotations

import time

from hotline.platform.redis import key as redis_key
from hotline.platform.redis import redis_client


async def hit(key: str, *, limit: int, window_seconds: int) -> bool:
    """Count one event against ``key``; False once more than ``limit`` fall in the window.

    Windows are aligned to the clock: one round trip per event, at the price of
    allowing up to twice ``limit`` across a window boundary.
    """
    window = int(time.time()) // window_seconds
    name = redis_key("ratelimit", key, window)
    async with redis_client().pipeline(transaction=True) as pipe:
        pipe.incr(name)
        pipe.expire(name, window_seconds + 1)
        count, _ = await pipe.execute()
    return int(count) <= limit


async def exhausted(key: str, *, limit: int, window_seconds: int) -> bool:
    """Whether ``key`` has already used up its ``limit`` in the current window (no count)."""
    window = int(time.time()) // window_seconds
    count = await redis_client().get(redis_key("ratelimit", key, window))
    return count is not None and int(count) >= limit
