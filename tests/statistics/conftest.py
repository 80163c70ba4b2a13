"""The statistics tests read the shared world (tests/world.py) through ``stats_world``:
per city the world's city, its tenant admin and the district's department manager."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from hotline.tenants.kernel.access import Actor
from tests.world import City, World


@dataclass(frozen=True)
class StatsCity:
    city: City
    admin: Actor
    district_manager: Actor  # a department manager of the district (its subtree only)


@dataclass(frozen=True)
class StatsWorld:
    alpha: StatsCity
    beta: StatsCity
    gamma: StatsCity
    province_admin: Actor  # of Shandong (alpha, gamma), in province scope


def _view(city: City) -> StatsCity:
    return StatsCity(city=city, admin=city.admin, district_manager=city.district_manager)


@pytest.fixture(scope="module")
def stats_world(world: World) -> StatsWorld:
    return StatsWorld(
        alpha=_view(world.alpha),
        beta=_view(world.beta),
        gamma=_view(world.gamma),
        province_admin=world.province_admin,
    )
