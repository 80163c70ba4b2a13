"""Does a message name a place? Kept simple on purpose: a name of the city's gazetteer —
routing's one (``routing/gazetteer.py``: the tree's districts, streets and communities,
the places and aliases the city edits with ``saveGazetteerPlace``), each also without
its 区/县/街道/镇/乡/村/社区 suffix — or the common shapes of a Chinese address (…路,
…街, …小区, 12号, …)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from hotline.tenants.kernel.access import Action, Actor, require
from hotline.tenants.routing import gazetteer
from hotline.tenants.tickets import access

_SUFFIXES = ("街道办事处", "街道", "社区", "区", "县", "市", "镇", "乡", "村")
_ADDRESS = re.compile(
    r"[\u4e00-\u9fff]{1,10}(路|街|巷|胡同|大道|小区|花园|公寓|社区|村|广场|大厦|公园|市场|学校|医院)"
    r"|\d+\s*(号楼|号|栋|单元|幢)"
)


def variants(name: str) -> set[str]:
    """A place name and its short form (历下区 → 历下), never shorter than 2 characters."""
    name = name.strip()
    found = {name} if len(name) >= 2 else set()
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            found.add(name[: -len(suffix)])
    return found


def has_address(text: str) -> bool:
    """The shape of a Chinese address (…路, 12号, …): a place without the gazetteer."""
    return _ADDRESS.search(text) is not None


def names_place(text: str, names: Iterable[str]) -> bool:
    if has_address(text):
        return True
    return any(v in text for name in names for v in variants(name))


async def place_names() -> list[str]:
    """The current city's place names: routing's gazetteer (its units with their short
    names, the places and aliases edited with ``saveGazetteerPlace``, name-only places)."""
    return await gazetteer.known_names()


async def add_place_names(*, actor: Actor, names: list[str]) -> int:
    """Deprecated (``addPlaceNames``): name-only places in routing's gazetteer."""
    require(actor, Action.ROUTING_MANAGE)
    with access.city_scope(actor):
        return await gazetteer.add_names(actor=actor, names=names)
