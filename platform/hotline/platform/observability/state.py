"""The deployment's state as gauges: written by the worker, exported by the API's ``/metrics``.

The relay (every few seconds) writes the outbox lag, the dead letters and the job
queue lengths; each city's minute sweep writes its open and overdue work orders and
its evidence processing queue. They go to one Redis hash (``<prefix>:metrics:state``),
one field per source with the time it was written, so every API replica exports the
same values however many workers there are, and a scrape costs one ``HGETALL``, never
a table scan. A source silent for :data:`STALE_SECONDS` (a deactivated city) is
dropped; ``hotline_state_age_seconds`` lets an alert see a stopped sweep or relay.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Mapping
from typing import cast

from prometheus_client import CollectorRegistry, Gauge

from hotline.platform.redis import key, redis_client

STALE_SECONDS = 900.0

REGISTRY = CollectorRegistry(auto_describe=True)
OUTBOX_LAG = Gauge(
    "hotline_outbox_oldest_due_seconds",
    "Age of the oldest outbox message due for delivery (0: none waiting).",
    registry=REGISTRY,
)
OUTBOX_DEAD = Gauge(
    "hotline_outbox_dead_letters", "Outbox messages out of attempts.", registry=REGISTRY
)
QUEUE_JOBS = Gauge(
    "hotline_queue_jobs", "Jobs waiting in each arq queue.", ["queue"], registry=REGISTRY
)
OPEN = Gauge(
    "hotline_work_orders_open",
    "Open work orders per city (from the sweep).",
    ["city"],
    registry=REGISTRY,
)
OVERDUE = Gauge(
    "hotline_work_orders_overdue",
    "Open work orders past their reply deadline per city (from the sweep).",
    ["city"],
    registry=REGISTRY,
)
EVIDENCE_QUEUE = Gauge(
    "hotline_evidence_queue",
    "Evidence items waiting to be verified or processed per city (from the sweep).",
    ["city"],
    registry=REGISTRY,
)
AGE = Gauge(
    "hotline_state_age_seconds",
    "Seconds since the relay (source=outbox) or a city's sweep (source=city) last wrote.",
    ["source", "city"],
    registry=REGISTRY,
)


def _hash() -> str:
    return key("metrics", "state")


async def _write(field: str, value: Mapping[str, object]) -> None:
    text = json.dumps({**value, "at": time.time()})
    await cast(Awaitable[int], redis_client().hset(_hash(), field, text))


async def publish_outbox(*, oldest_due_seconds: float, dead: int, queues: dict[str, int]) -> None:
    value = {"oldest_due_seconds": oldest_due_seconds, "dead": dead, "queues": queues}
    await _write("outbox", value)


async def publish_city(city: str, *, open_: int, overdue: int, evidence_queue: int) -> None:
    value = {"open": open_, "overdue": overdue, "evidence_queue": evidence_queue}
    await _write(f"city:{city}", value)


def _clear() -> None:
    for gauge in (QUEUE_JOBS, OPEN, OVERDUE, EVIDENCE_QUEUE, AGE):
        gauge.clear()
    OUTBOX_LAG.set(0)
    OUTBOX_DEAD.set(0)


async def refresh() -> CollectorRegistry:
    """Load the state into :data:`REGISTRY` (unchanged if Redis does not answer)."""
    try:
        raw = await cast(Awaitable[dict[str, str]], redis_client().hgetall(_hash()))
    except Exception:  # Redis away: the process metrics are still served
        return REGISTRY
    now = time.time()
    _clear()
    for field, text in raw.items():
        try:
            value = json.loads(text)
            age = max(0.0, now - float(value["at"]))
        except (ValueError, KeyError, TypeError):
            continue
        if age > STALE_SECONDS:
            continue
        if field == "outbox":
            OUTBOX_LAG.set(float(value["oldest_due_seconds"]))
            OUTBOX_DEAD.set(int(value["dead"]))
            for queue, length in dict(value.get("queues") or {}).items():
                QUEUE_JOBS.labels(queue).set(int(length))
            AGE.labels("outbox", "").set(age)
        elif field.startswith("city:"):
            city = field.removeprefix("city:")
            OPEN.labels(city).set(int(value["open"]))
            OVERDUE.labels(city).set(int(value["overdue"]))
            EVIDENCE_QUEUE.labels(city).set(int(value["evidence_queue"]))
            AGE.labels("city", city).set(age)
    return REGISTRY
