"""Does a message name a place? Kept simple on purpose (the routing gazetteer is a
separate piece): the city's district, street and community names — with and without
their 区/县/街道/镇/乡/村/社区 suffix — the names the city adds (``channel_place_names``),
and the common shapes of a Chinese address (…路, …街, …小区, 12号, …)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from hotline.tenants.channels.models import PlaceName
from hotline.tenants.departments.models import Department, DepartmentKind
from hotline.tenants.kernel.access import Action, Actor, require
from hotline.tenants.kernel.errors import Invalid
from hotline.tenants.tickets import access

_SUFFIXES = ("街道办事处", "街道", "社区", "区", "县", "市", "镇", "乡", "村")
_ADDRESS = re.compile(
    r"[\u4e00-\u9fff]{1,10}(路|街|巷|胡同|大道|小区|花园|公寓|社区|村|广场|大厦|公园|市场|学校|医院)"
    r"|\d+\s*(号楼|号|栋|单元|幢)"
)
_PLACE_KINDS = (DepartmentKind.DISTRICT, DepartmentKind.STREET, DepartmentKind.COMMUNITY)
MAX_PLACE_NAMES = 2000


def variants(name: str) -> set[str]:
    """A place name and its short form (历下区 → 历下), never shorter than 2 characters."""
    name = name.strip()
    found = {name} if len(name) >= 2 else set()
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            found.add(name[: -len(suffix)])
    return found


def names_place(text: str, names: Iterable[str]) -> bool:
    if _ADDRESS.search(text):
        return True
    return any(v in text for name in names for v in variants(name))


async def place_names() -> list[str]:
    """The current city's place names: its area departments and its own list."""
    departments = await Department.filter(kind__in=list(_PLACE_KINDS), is_active=True)
    added = await PlaceName.all()
    return [d.name for d in departments] + [p.name for p in added]


async def add_place_names(*, actor: Actor, names: list[str]) -> int:
    """Extend the city's gazetteer; the number of names that were new."""
    require(actor, Action.ROUTING_MANAGE)
    cleaned = {n.strip() for n in names if n.strip()}
    if not cleaned or any(len(n) > 50 for n in cleaned):
        raise Invalid("place names are 1 to 50 characters", field="names")
    with access.city_scope(actor):
        if await PlaceName.all().count() + len(cleaned) > MAX_PLACE_NAMES:
            raise Invalid(
                "a city keeps at most {max} place names", field="names", max=MAX_PLACE_NAMES
            )
        known = set(await PlaceName.filter(name__in=list(cleaned)).values_list("name", flat=True))
        for name in sorted(cleaned - known):
            await PlaceName.create(name=name)
    return len(cleaned - known)
