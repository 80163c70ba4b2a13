"""The city's gazetteer in the database, and the city as routing sees it.

A city's places are its tree's districts, streets and communities (derived, always
current) plus the rows of ``gazetteer_places`` its admin edits: landmarks, old names,
extra aliases (``saveGazetteerPlace``). ``city_tree`` and ``city_places`` feed the
routing engine (engine.py), through ``city_routing``: both kept per process and city
and read again only when a department or a place has changed.
"""

from __future__ import annotations

from typing import Any

from hotline.platform.db.rows import read_session
from hotline.platform.tenancy import current_tenant_id
from hotline.tenants.departments.models import Department, DepartmentKind
from hotline.tenants.kernel.access import Action, Actor, require
from hotline.tenants.kernel.errors import Invalid, NotFound
from hotline.tenants.routing import places
from hotline.tenants.routing.dispatch import CityTree, Node, gazetteer_from_tree
from hotline.tenants.routing.places_models import GazetteerPlace

KINDS = ("district", "street", "community", "landmark")
MAX_PLACES = 5000
_UNIT_KINDS = (DepartmentKind.DISTRICT, DepartmentKind.STREET, DepartmentKind.COMMUNITY)


async def city_tree() -> CityTree:
    rows = await Department.filter(is_active=True).values(
        "id", "path", "kind", "name", "function", "depth"
    )
    return CityTree(
        [
            Node(r["id"], r["path"], str(r["kind"]), r["name"], r["function"], r["depth"])
            for r in rows
        ]
    )


async def city_places(tree: CityTree) -> list[places.Place]:
    rows = await GazetteerPlace.filter(department_id__not_isnull=True).order_by("id")
    edited = [(r.name, r.department_id, tuple(r.aliases)) for r in rows if r.department_id]
    return gazetteer_from_tree(tree, edited)


# Whether the city's departments or places changed: how many rows, and the sum of their
# row versions (``xmin`` is the writing transaction's id: any insert, update — ORM,
# bulk or SQL — or delete changes one of the two). Aggregates only: no row leaves the
# server.
_CHANGED = """
SELECT (SELECT count(*) FROM departments WHERE tenant_id = $1) AS departments,
       (SELECT sum(xmin::text::bigint) FROM departments WHERE tenant_id = $1) AS d_versions,
       (SELECT count(*) FROM gazetteer_places WHERE tenant_id = $1) AS places,
       (SELECT sum(xmin::text::bigint) FROM gazetteer_places WHERE tenant_id = $1) AS p_versions
"""
_ROUTING: dict[int, tuple[tuple[Any, ...], CityTree, list[places.Place]]] = {}


async def city_routing() -> tuple[CityTree, list[places.Place]]:
    """The current city's tree and places for routing, kept per process and city: read
    and built for every routed ticket before (a real city's tree holds thousands of
    communities and villages; docs/performance.md), now only when one aggregate
    statement says they changed. Shared, so read only: nothing here or in the engine
    changes them."""
    tenant_id = current_tenant_id()
    async with read_session() as reads:
        [row] = await reads.fetch(_CHANGED, tenant_id)
    version = tuple(row.values())
    kept = _ROUTING.get(tenant_id)
    if kept is not None and kept[0] == version:
        return kept[1], kept[2]
    tree = await city_tree()
    found = await city_places(tree)
    _ROUTING[tenant_id] = (version, tree, found)
    return tree, found


async def known_names() -> list[str]:
    """Every name of the current city's gazetteer: its units with their short names,
    the edited places with their aliases, and the name-only places. What SMS place
    detection reads (``channels/places.py``): one gazetteer for routing and intake."""
    tree = await city_tree()
    names = [n for p in gazetteer_from_tree(tree) for n in (p.name, *p.aliases)]
    for name, aliases in await GazetteerPlace.all().order_by("id").values_list("name", "aliases"):
        names.append(name)
        names.extend(aliases or [])
    return names


async def add_names(*, actor: Actor, names: list[str]) -> int:
    """Name-only places (a place the city names, implying no unit): the former SMS
    list's way in; how many were new. ``saveGazetteerPlace`` adds a place with its unit."""
    require(actor, Action.ROUTING_MANAGE)
    cleaned = {n.strip() for n in names if n.strip()}
    if not cleaned or any(not 2 <= len(n) <= 50 for n in cleaned):
        raise Invalid("place names are 2 to 50 characters", field="names")
    if await GazetteerPlace.all().count() + len(cleaned) > MAX_PLACES:
        raise Invalid("a city keeps at most {max} place names", field="names", max=MAX_PLACES)
    known = set(await GazetteerPlace.filter(name__in=list(cleaned)).values_list("name", flat=True))
    for name in sorted(cleaned - known):
        await GazetteerPlace.create(name=name, kind="landmark", aliases=[], department_id=None)
    return len(cleaned - known)


async def list_places(*, actor: Actor) -> list[GazetteerPlace]:
    require(actor, Action.ROUTING_MANAGE)
    return await GazetteerPlace.all().order_by("kind", "name", "id")


def _clean_aliases(aliases: list[str]) -> list[str]:
    out = []
    for alias in aliases:
        alias = alias.strip()
        if len(alias) < 2 or len(alias) > 50:
            raise Invalid("aliases are 2-50 characters each", field="aliases")
        if alias not in out:
            out.append(alias)
    return out


async def save_place(
    *,
    actor: Actor,
    place_id: int | None,
    name: str,
    kind: str,
    aliases: list[str],
    department_id: int,
) -> GazetteerPlace:
    """Add a place (``place_id`` None) or change one; it implies the unit
    ``department_id`` (a district, street or community of this city)."""
    require(actor, Action.ROUTING_MANAGE)
    name = name.strip()
    if not 2 <= len(name) <= 100:
        raise Invalid("a place name is 2-100 characters", field="name")
    if kind not in KINDS:
        raise Invalid("kind must be among {choices}", field="kind", choices=", ".join(KINDS))
    unit = await Department.get_or_none(id=department_id)
    if unit is None:
        raise NotFound("department", field="departmentId")
    if unit.kind not in _UNIT_KINDS:
        raise Invalid("a place implies a district, street or community", field="departmentId")
    fields: dict[str, Any] = {
        "name": name,
        "kind": kind,
        "aliases": _clean_aliases(aliases),
        "department_id": unit.id,
    }
    if place_id is None:
        return await GazetteerPlace.create(**fields)
    row = await GazetteerPlace.get_or_none(id=place_id)
    if row is None:
        raise NotFound("gazetteer place", field="id")
    row.update_from_dict(fields)
    await row.save()
    return row


async def delete_place(*, actor: Actor, place_id: int) -> None:
    require(actor, Action.ROUTING_MANAGE)
    row = await GazetteerPlace.get_or_none(id=place_id)
    if row is None:
        raise NotFound("gazetteer place", field="id")
    await row.delete()


async def resolve_place(
    *, actor: Actor, text: str, location: str | None = None
) -> tuple[Department | None, tuple[str, ...]]:
    """The unit a request's text and location resolve to, and the names matched."""
    require(actor, Action.TICKET_QUEUE_READ)
    _, known = await city_routing()
    found = places.resolve(known, text, location)
    if found is None:
        return None, ()
    return await Department.get_or_none(id=found.unit_id), found.matched
