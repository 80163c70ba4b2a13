"""Process start warms the search: after the API's startup jieba's dictionary and the
cities' own dictionaries are loaded, before any search asks for them."""

from __future__ import annotations

import gc
import os

from hotline.platform.settings import Settings, reset_settings
from hotline.schema.app import create_app
from hotline.tenants.knowledge import search, segmentation
from hotline.tenants.warmup import warm_up

from .conftest import World


async def test_api_startup_loads_jieba_and_the_city_dictionaries(
    db: Settings, world: World
) -> None:
    city = world.alpha
    admin = await world.actor(city.admin, city)
    await search.add_dictionary_words(actor=admin, words=["芙蓉街", "曲水亭街"])
    segmentation.forget()
    assert not segmentation.base_loaded()
    assert not segmentation.city_loaded(city.id)
    app = create_app(db, manage_orm=False)
    async with app.router.lifespan_context(app):
        await app.state.warmup
        assert segmentation.base_loaded()
        assert segmentation.city_loaded(city.id)
        assert not segmentation.city_loaded(world.gamma.id)  # no words: the base one


async def test_the_worker_warm_up_with_no_routing_model_yet(db: Settings, world: World) -> None:
    segmentation.forget()
    await warm_up(routing=True)  # no city has a model yet: only the dictionaries load
    assert segmentation.base_loaded()
    assert segmentation.city_loaded(world.alpha.id)


async def test_the_warm_up_freezes_what_is_alive_then(db: Settings, world: World) -> None:
    """A serving process (HOTLINE_GC_FREEZE, on by default) keeps what the warm-up left
    alive out of the collector's walks: a full collection of a warmed process walked
    hundreds of thousands of objects with the event loop stopped."""
    saved = os.environ.get("HOTLINE_GC_FREEZE")
    os.environ["HOTLINE_GC_FREEZE"] = "true"
    reset_settings()
    gc.unfreeze()
    try:
        await warm_up(routing=False)
        assert gc.get_freeze_count() > 10_000  # modules and jieba's dictionary at least
        frozen = gc.get_freeze_count()
        gc.collect()
        assert gc.get_freeze_count() == frozen  # later collections leave them be
    finally:
        gc.unfreeze()
        if saved is None:
            del os.environ["HOTLINE_GC_FREEZE"]
        else:
            os.environ["HOTLINE_GC_FREEZE"] = saved
        reset_settings()
    await warm_up(routing=False)  # the suite's own setting: nothing frozen
    assert gc.get_freeze_count() == 0
