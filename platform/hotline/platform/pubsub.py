"""Fan-out of small JSON notices over Redis pub/sub (GraphQL subscriptions feed on it).

Best effort and at-most-once: a subscriber that is not connected misses the notice, so
notices only say *what changed* ("ticket 12's timeline grew") and subscribers re-read
the data. Channel names come from ``hotline.platform.redis.tenant_key`` so they carry
the city.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from hotline.platform.redis import redis_client


async def publish(channel: str, payload: dict[str, Any]) -> int:
    """Send ``payload`` to every current subscriber of ``channel``; returns how many."""
    return int(await redis_client().publish(channel, json.dumps(payload, default=str)))


@asynccontextmanager
async def subscribe(channel: str) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
    """Subscribed on entry (so a caller can read the current state *after* subscribing
    and miss nothing); yields the iterator of the notices published from then on."""
    pubsub = redis_client().pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(channel)

    async def notices() -> AsyncIterator[dict[str, Any]]:
        while True:
            message = await pubsub.get_message(timeout=30.0)
            if message is None or message.get("type") != "message":
                continue
            data = json.loads(message["data"])
            if isinstance(data, dict):
                yield data

    try:
        yield notices()
    finally:
        await pubsub.unsubscribe(channel)
        await pubsub.aclose()  # type: ignore[no-untyped-call]
