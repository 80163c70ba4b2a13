"""A fixed-window rate limiter in Redis, shared by every replica.

When Redis cannot be reached (``HOTLINE_REDIS_TIMEOUT_SECONDS``), the limits keep
holding per process: the same windows are counted in a local in-process table until
Redis answers again. Each replica then allows up to ``limit`` on its own, which is
looser than the shared count but never unlimited — and logins and lookups keep working.
"""

from __future__ import annotations

import threading
import time

import structlog
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from hotline.platform.redis import key as redis_key
from hotline.platform.redis import redis_client

log = structlog.get_logger(__name__)
_UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError)


class LocalLimiter:
    """The same fixed windows, counted in this process (the fallback)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, tuple[float, int]] = {}  # name → (expires at, count)

    def _sweep(self, now: float) -> None:
        if len(self._counts) > 10_000:
            self._counts = {k: v for k, v in self._counts.items() if v[0] > now}

    def incr(self, name: str, ttl: float) -> int:
        now = time.monotonic()
        with self._lock:
            self._sweep(now)
            expires, count = self._counts.get(name, (now + ttl, 0))
            if expires <= now:
                expires, count = now + ttl, 0
            self._counts[name] = (expires, count + 1)
            return count + 1

    def get(self, name: str) -> int:
        now = time.monotonic()
        with self._lock:
            expires, count = self._counts.get(name, (0.0, 0))
            return count if expires > now else 0


local = LocalLimiter()
_last_warning = 0.0


def _degraded(exc: BaseException) -> None:
    global _last_warning
    now = time.monotonic()
    if now - _last_warning > 60:
        _last_warning = now
        log.warning("ratelimit.local_fallback", error=type(exc).__name__)


async def hit(key: str, *, limit: int, window_seconds: int) -> bool:
    """Count one event against ``key``; False once more than ``limit`` fall in the window.

    Windows are aligned to the clock: one round trip per event, at the price of
    allowing up to twice ``limit`` across a window boundary.
    """
    window = int(time.time()) // window_seconds
    name = redis_key("ratelimit", key, window)
    try:
        async with redis_client().pipeline(transaction=True) as pipe:
            pipe.incr(name)
            pipe.expire(name, window_seconds + 1)
            count, _ = await pipe.execute()
    except _UNREACHABLE as exc:
        _degraded(exc)
        count = local.incr(name, window_seconds + 1)
    return int(count) <= limit


async def exhausted(key: str, *, limit: int, window_seconds: int) -> bool:
    """Whether ``key`` has already used up its ``limit`` in the current window (no count)."""
    window = int(time.time()) // window_seconds
    name = redis_key("ratelimit", key, window)
    try:
        count = await redis_client().get(name)
    except _UNREACHABLE as exc:
        _degraded(exc)
        return local.get(name) >= limit
    return count is not None and int(count) >= limit


# Growing delays after failures ------------------------------------------------------------


class _LocalDelays:
    """The fallback of :func:`add_failure` / :func:`delay_left` while Redis is away."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._until: dict[str, float] = {}  # name → wall-clock time the delay ends

    def set(self, name: str, until: float) -> None:
        with self._lock:
            if len(self._until) > 10_000:
                now = time.time()
                self._until = {k: v for k, v in self._until.items() if v > now}
            self._until[name] = until

    def get(self, name: str) -> float:
        with self._lock:
            return self._until.get(name, 0.0)

    def clear(self, name: str) -> None:
        with self._lock:
            self._until.pop(name, None)


_delays = _LocalDelays()


def backoff_seconds(failures: int, *, free: int, base: float, cap: float) -> float:
    """The delay after the ``failures``-th consecutive failure: none before the
    ``free``-th, then ``base`` doubling with each failure, at most ``cap``."""
    if failures < free:
        return 0.0
    return float(min(cap, base * 2 ** min(failures - free, 40)))


async def add_failure(
    key: str, *, free: int, base: float, cap: float, forget_seconds: int
) -> float:
    """Count one failure against ``key`` (forgotten ``forget_seconds`` after the last
    one) and start its delay; returns the delay in seconds (0 before the ``free``-th)."""
    count_name = redis_key("backoff", key, "n")
    until_name = redis_key("backoff", key, "until")
    try:
        async with redis_client().pipeline(transaction=True) as pipe:
            pipe.incr(count_name)
            pipe.expire(count_name, forget_seconds)
            failures, _ = await pipe.execute()
    except _UNREACHABLE as exc:
        _degraded(exc)
        failures = local.incr(count_name, forget_seconds)
    delay = backoff_seconds(int(failures), free=free, base=base, cap=cap)
    if delay > 0:
        until = time.time() + delay
        _delays.set(until_name, until)
        try:
            await redis_client().set(until_name, repr(until), ex=int(delay) + 1)
        except _UNREACHABLE as exc:
            _degraded(exc)
    return delay


async def delay_left(key: str) -> float:
    """Seconds until ``key`` may try again (0: now)."""
    until_name = redis_key("backoff", key, "until")
    try:
        raw = await redis_client().get(until_name)
        until = float(raw) if raw is not None else 0.0
    except _UNREACHABLE as exc:
        _degraded(exc)
        until = _delays.get(until_name)
    return max(0.0, until - time.time())


async def clear_failures(key: str) -> None:
    """Forget ``key``'s failures and delay (a success)."""
    names = [redis_key("backoff", key, "n"), redis_key("backoff", key, "until")]
    _delays.clear(names[1])
    try:
        await redis_client().delete(*names)
    except _UNREACHABLE as exc:
        _degraded(exc)
