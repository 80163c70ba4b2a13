"""Holding an outbox message while one job delivers it.

The relay's claim is a short lease on the row (``next_attempt_at`` pushed a lease
period ahead). The delivery job takes a Redis lock on the message for the same period,
so two jobs for one message (a row handed out again while its first job still waited in
a long queue) never send at once, and renews both every third of the lease while it
works. A worker that vanishes renews nothing: after one lease the lock is gone, the row
is due again and the relay hands it to a new job.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator

import structlog

from hotline.platform.outbox.store import renew_lease
from hotline.platform.redis import key as redis_key
from hotline.platform.redis import redis_client
from hotline.platform.settings import get_settings

log = structlog.get_logger(__name__)

# Extend the lock only while we still own it (compare-and-expire).
_EXTEND = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


def _lock_key(outbox_id: int) -> str:
    return redis_key("outbox-lease", outbox_id)


async def _renew(outbox_id: int, owner: str, period: float) -> None:
    client = redis_client()
    while True:
        await asyncio.sleep(period / 3)
        try:
            await client.eval(_EXTEND, 1, _lock_key(outbox_id), owner, str(int(period * 1000)))  # type: ignore[misc]
            if not await renew_lease(outbox_id):
                return  # settled or postponed: nothing left to hold
        except Exception as exc:  # a missed renewal only risks a second delivery
            log.warning("outbox.lease_not_renewed", outbox_id=outbox_id, error=repr(exc))


@contextlib.asynccontextmanager
async def holding(outbox_id: int) -> AsyncIterator[bool]:
    """Yields True while this job holds the message (renewing its lease), False when
    another live job holds it (the caller then leaves it alone)."""
    period = get_settings().outbox_lease_seconds
    owner = secrets.token_hex(8)
    client = redis_client()
    if not await client.set(_lock_key(outbox_id), owner, nx=True, px=int(period * 1000)):
        yield False
        return
    await renew_lease(outbox_id)
    renewing = asyncio.create_task(_renew(outbox_id, owner, period))
    try:
        yield True
    finally:
        renewing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await renewing
        with contextlib.suppress(Exception):
            await client.eval(_RELEASE, 1, _lock_key(outbox_id), owner)  # type: ignore[misc]
