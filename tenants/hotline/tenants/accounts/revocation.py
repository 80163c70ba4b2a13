"""Whether a login session (a refresh-token family, the ``sid`` of its access tokens) is
revoked: durable in PostgreSQL, cached in Redis.

``refresh_tokens.revoked_at`` is the truth: a session is open while one of its family's
rows is unrevoked. Redis caches the answer per session (``revoked`` for as long as one
of its access tokens can live, ``open`` for ``OPEN_CACHE_SECONDS``), so the common case
costs one Redis read. Revoking writes ``revoked`` over any cached ``open``; an ``open``
is only ever written if nothing is cached (``NX``), so a stale ``open`` cannot mask a
revocation written meanwhile. A Redis restart (or outage) therefore loses nothing: the
next check reads PostgreSQL again.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

import structlog
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from hotline.platform.redis import key as redis_key
from hotline.platform.redis import redis_client
from hotline.tenants.accounts.models import RefreshToken

log = structlog.get_logger(__name__)
OPEN_CACHE_SECONDS = 60
_REVOKED, _OPEN = "1", "0"
_UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError)


def _key(sid: str) -> str:
    return redis_key("session-revoked", sid)


async def _open_in_database(sid: str) -> bool:
    try:
        family = uuid.UUID(sid)
    except ValueError:
        return False
    return await RefreshToken.filter(family=family, revoked_at__isnull=True).exists()


async def is_revoked(sid: str) -> bool:
    try:
        cached = await redis_client().get(_key(sid))
    except _UNREACHABLE as exc:
        log.warning("sessions.cache_unavailable", error=type(exc).__name__)
        return not await _open_in_database(sid)
    if cached is not None:
        return bool(cached == _REVOKED)
    is_open = await _open_in_database(sid)
    try:
        if is_open:
            await redis_client().set(_key(sid), _OPEN, ex=OPEN_CACHE_SECONDS, nx=True)
        else:
            await redis_client().set(_key(sid), _REVOKED, ex=OPEN_CACHE_SECONDS)
    except _UNREACHABLE:
        pass  # the answer stands; only the cache is missing
    return not is_open


async def remember_revoked(ttls: Mapping[str, int]) -> None:
    """Cache the revocation of each session (``sid → seconds``); the database already
    has it, so an unreachable Redis only costs the next checks a database read."""
    try:
        async with redis_client().pipeline(transaction=False) as pipe:
            for sid, ttl in ttls.items():
                pipe.set(_key(sid), _REVOKED, ex=ttl)
            await pipe.execute()
    except _UNREACHABLE as exc:
        log.warning("sessions.cache_unavailable", error=type(exc).__name__)
