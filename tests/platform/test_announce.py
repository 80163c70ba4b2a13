"""Notices handed over without waiting (``pubsub.announce``, the live pushes after a
commit): they arrive in the order announced, many announcements share a round trip, and
closing the client waits for what is still unsent. (A send while Redis is away:
``test_redis_outage``.)"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from redis.asyncio import Redis

from hotline.platform import pubsub
from hotline.platform.redis import close_redis
from hotline.platform.settings import Settings


async def _received(raw: Any, count: int) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    async with asyncio.timeout(10):
        while len(got) < count:
            message = await raw.get_message(ignore_subscribe_messages=True, timeout=1)
            if message is not None:
                got.append(json.loads(message["data"]))
    return got


async def test_announced_notices_arrive_in_order_and_close_waits_for_them(db: Settings) -> None:
    channel = f"announce:{uuid.uuid4().hex}"  # PUBLISH reaches every database of the server
    listener = Redis.from_url(db.redis_url, decode_responses=True)
    raw = listener.pubsub()
    await raw.subscribe(channel)
    try:
        for n in range(30):  # thirty changes committing one after another
            pubsub.announce([(channel, {"n": n})])
        assert [m["n"] for m in await _received(raw, 30)] == list(range(30))

        async def last_request_then_shutdown() -> None:
            pubsub.announce([(channel, {"n": "last"})])
            await close_redis()  # the client closes after the send, not before

        # a process of its own, whose loop ends (cancelling what is left) after closing
        await asyncio.to_thread(asyncio.run, last_request_then_shutdown())
        assert await _received(raw, 1) == [{"n": "last"}]
    finally:
        await raw.aclose()
        await listener.aclose()
