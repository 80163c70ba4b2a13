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

from hotline.platform.outbox.store import renew_leases
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


async def _renew(ids: list[int], owner: str, period: float) -> None:
    client = redis_client()
    while ids:
        await asyncio.sleep(period / 3)
        try:
            async with client.pipeline(transaction=False) as pipe:
                for outbox_id in ids:
                    pipe.eval(_EXTEND, 1, _lock_key(outbox_id), owner, str(int(period * 1000)))
                await pipe.execute()
            ids = await renew_leases(ids)  # settled or postponed: nothing left to hold
        except Exception as exc:  # a missed renewal only risks a second delivery
            log.warning("outbox.lease_not_renewed", outbox_ids=ids[:5], error=repr(exc))


@contextlib.asynccontextmanager
async def holding(outbox_ids: list[int]) -> AsyncIterator[list[int]]:
    """Yields the messages of ``outbox_ids`` this job now holds (renewing their leases
    while the block runs); those another live job holds are left out — the caller
    leaves them alone. One Redis round trip to take, one to release."""
    period = get_settings().outbox_lease_seconds
    owner = secrets.token_hex(8)
    client = redis_client()
    async with client.pipeline(transaction=False) as pipe:
        for outbox_id in outbox_ids:
            pipe.set(_lock_key(outbox_id), owner, nx=True, px=int(period * 1000))
        taken = await pipe.execute()
    held = [i for i, ok in zip(outbox_ids, taken, strict=True) if ok]
    if not held:
        yield []
        return
    await renew_leases(held)
    renewing = asyncio.create_task(_renew(list(held), owner, period))
    try:
        yield held
    finally:
        renewing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await renewing
        with contextlib.suppress(Exception):
            async with client.pipeline(transaction=False) as pipe:
                for outbox_id in held:
                    pipe.eval(_RELEASE, 1, _lock_key(outbox_id), owner)
                await pipe.execute()
