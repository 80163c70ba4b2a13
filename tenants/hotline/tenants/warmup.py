"""Warm what the first request after a process start would otherwise pay for.

jieba builds its prefix dictionary on first use (1–2 s, several on a busy machine),
a city's own dictionary is layered on top of it, and the first routing imports
scikit-learn and unpickles the city's model. Then what is alive is frozen out of the
garbage collector's walks (``HOTLINE_GC_FREEZE``). ``start`` does this in the background
at process start (the loading itself runs in threads), so startup is not held up and
a request that arrives meanwhile simply waits for the same lock. A failure is logged,
never fatal: the first request then loads lazily as before.
"""

from __future__ import annotations

import asyncio
import gc
import time

import structlog

from hotline.platform.settings import get_settings
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
    frozen = freeze_long_lived() if get_settings().gc_freeze else 0
    log.info(
        "warmed up",
        city_dictionaries=cities,
        routing_models=models,
        seconds=round(time.perf_counter() - started, 2),
        frozen_objects=frozen,
    )


def freeze_long_lived() -> int:
    """Collect once, then keep everything alive now (modules, dictionaries, models) out
    of later collections; returns how many objects that is. Objects made later are
    collected as usual; a cycle among the frozen ones that dies later is not (none of
    significance: what is alive after the warm-up lives as long as the process)."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def start(*, routing: bool = False) -> asyncio.Task[None]:
    """Warm up in the background; keep the task (and cancel it at shutdown)."""
    return asyncio.create_task(warm_up(routing=routing), name="hotline-warm-up")
