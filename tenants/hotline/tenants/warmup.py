"""Warm what the first request after a process start would otherwise pay for.

jieba builds its prefix dictionary on first use (1–2 s, several on a busy machine),
a city's own dictionary is layered on top of it, and the first routing imports
scikit-learn and unpickles the city's model. ``start`` does this in the background
at process start (the loading itself runs in threads), so startup is not held up and
a request that arrives meanwhile simply waits for the same lock. A failure is logged,
never fatal: the first request then loads lazily as before.
"""

from __future__ import annotations

import asyncio
import time

import structlog

from hotline.tenants.knowledge.search import warm_tokenizers

log = structlog.get_logger(__name__)


async def warm_up(*, routing: bool) -> None:
    started = time.perf_counter()
    try:
        cities = await warm_tokenizers()
        models = 0
        if routing:
            from hotline.tenants.routing.ml_service import preload_models

            models = await preload_models()
    except Exception:  # a cold cache is slower, not broken
        log.exception("warm-up failed")
        return
    log.info(
        "warmed up",
        city_dictionaries=cities,
        routing_models=models,
        seconds=round(time.perf_counter() - started, 2),
    )


def start(*, routing: bool = False) -> asyncio.Task[None]:
    """Warm up in the background; keep the task (and cancel it at shutdown)."""
    return asyncio.create_task(warm_up(routing=routing), name="hotline-warm-up")
