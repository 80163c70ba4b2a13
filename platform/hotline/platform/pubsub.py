"""Fan-out of small JSON notices over Redis pub/sub (GraphQL subscriptions feed on it).

Best effort and at-most-once: a subscriber that is not connected misses the notice, so
notices only say *what changed* ("ticket 12's timeline grew") and subscribers re-read
the data. Channel names come from ``hotline.platform.redis.tenant_key`` so they carry
the city.

When Redis goes away under a subscriber, its notices pause: :meth:`Notices.get` keeps
answering "nothing yet" while it reconnects in the background of each call, and the
subscription resumes once Redis is back (notices published meanwhile are lost, as for
any subscriber that was not connected).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from weakref import WeakKeyDictionary

import structlog
from redis.asyncio.client import PubSub
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from hotline.platform.redis import in_background, redis_client

log = structlog.get_logger(__name__)
_LOST = (RedisConnectionError, RedisTimeoutError, OSError)
RECONNECT_SECONDS = 1.0


async def publish(channel: str, payload: dict[str, Any]) -> int:
    """Send ``payload`` to every current subscriber of ``channel``; returns how many."""
    return int(await redis_client().publish(channel, json.dumps(payload, default=str)))


async def publish_many(notices: list[tuple[str, dict[str, Any]]]) -> None:
    """:func:`publish` each ``(channel, payload)``, all in one round trip (a pipeline)."""
    if not notices:
        return
    async with redis_client().pipeline(transaction=False) as pipe:
        for channel, payload in notices:
            pipe.publish(channel, json.dumps(payload, default=str))
        await pipe.execute()


# Notices given to :func:`announce` and not yet sent, per event loop (sent in order).
_unsent: WeakKeyDictionary[asyncio.AbstractEventLoop, list[tuple[str, dict[str, Any]]]] = (
    WeakKeyDictionary()
)
# Beyond this many unsent notices (Redis slow or away) the oldest are dropped: they are
# best effort, and a subscriber that misses one re-reads on the next.
MAX_UNSENT = 10_000
_dropped: WeakKeyDictionary[asyncio.AbstractEventLoop, int] = WeakKeyDictionary()


def announce(notices: list[tuple[str, dict[str, Any]]]) -> None:
    """:func:`publish_many` without waiting: the caller (a request that has committed)
    goes on at once, and one sender per event loop sends everything announced meanwhile
    in one round trip, in the order announced. A failure is logged, not raised."""
    if not notices:
        return
    loop = asyncio.get_running_loop()
    unsent = _unsent.get(loop)
    if unsent is not None:  # the loop's sender is running: it takes these next
        unsent.extend(notices)
        if len(unsent) > MAX_UNSENT:
            _dropped[loop] = _dropped.get(loop, 0) + len(unsent) - MAX_UNSENT
            del unsent[:-MAX_UNSENT]
        return
    in_background(_send_unsent(loop))
    _unsent[loop] = list(notices)


async def _send_unsent(loop: asyncio.AbstractEventLoop) -> None:
    try:
        while batch := _unsent[loop]:
            _unsent[loop] = []
            try:
                await publish_many(batch)
            except Exception as exc:  # committed already; a lost notice only delays a view
                log.warning("could not announce changes", notices=len(batch), error=repr(exc))
            if dropped := _dropped.pop(loop, 0):
                log.warning("dropped unsent notices", notices=dropped)
    finally:
        _unsent.pop(loop, None)


class Notices:
    """The notices of one channel; iterate, or :meth:`get` with a timeout."""

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self._pubsub: PubSub | None = None

    async def connect(self) -> None:
        pubsub = redis_client().pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(self.channel)
        except BaseException:
            await pubsub.aclose()  # type: ignore[no-untyped-call]
            raise
        self._pubsub = pubsub

    async def close(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is None:
            return
        try:
            await pubsub.unsubscribe(self.channel)
        except _LOST:
            pass
        finally:
            await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def get(self, wait: float) -> dict[str, Any] | None:
        """The next notice, or None when ``wait`` seconds pass without one (also while
        Redis is unreachable: the subscription pauses and reconnects)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while (remaining := deadline - loop.time()) > 0:
            try:
                if self._pubsub is None:
                    await self.connect()
                    log.info("pubsub.resumed", channel=self.channel)
                assert self._pubsub is not None
                message = await self._pubsub.get_message(timeout=remaining)
            except _LOST as exc:
                if self._pubsub is not None:
                    log.warning("pubsub.paused", channel=self.channel, error=type(exc).__name__)
                    await self.close()
                await asyncio.sleep(min(RECONNECT_SECONDS, max(0.0, deadline - loop.time())))
                continue
            if message is None or message.get("type") != "message":
                continue
            data = json.loads(message["data"])
            if isinstance(data, dict):
                return data
        return None

    def __aiter__(self) -> Notices:
        return self

    async def __anext__(self) -> dict[str, Any]:
        while True:
            notice = await self.get(wait=30.0)
            if notice is not None:
                return notice


@asynccontextmanager
async def subscribe(channel: str) -> AsyncIterator[Notices]:
    """Subscribed on entry (so a caller can read the current state *after* subscribing
    and miss nothing); yields the notices published from then on."""
    notices = Notices(channel)
    await notices.connect()
    try:
        yield notices
    finally:
        await notices.close()
