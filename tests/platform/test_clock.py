"""The one clock: travel moves both readings, freeze stops both (caches age by it)."""

from __future__ import annotations

import time
from datetime import timedelta

from hotline.platform import clock


def test_freeze_stops_now_and_the_cache_clock() -> None:
    with clock.freeze():
        wall, ticks = clock.now(), clock.monotonic()
        time.sleep(0.02)
        assert clock.now() == wall
        assert clock.monotonic() == ticks
    assert clock.monotonic() > ticks


def test_travel_ages_caches_too() -> None:
    before = clock.monotonic()
    with clock.travel(timedelta(minutes=5)):
        assert clock.monotonic() - before >= 300
        with clock.freeze():
            assert clock.now() - clock.now() == timedelta(0)
            assert clock.monotonic() - before >= 300
