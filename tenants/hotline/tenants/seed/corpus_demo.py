"""Routing's demo data: the catalogue mirrored, the gazetteer landmarks, and the
shipped corpus's training requests as closed history (docs/routing.md).

The history's lead department of each request is what the city's tree makes of its
function and place (routing/dispatch.py), so the demo cities' models learn the caller
language of the corpus, not only the generated tickets. The held-out requests are
never seeded: they stay the measure.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hotline.tenants.departments.functions import catalogue
from hotline.tenants.routing import corpus, gazetteer
from hotline.tenants.routing import places as resolver
from hotline.tenants.routing.places_models import GazetteerPlace, RoutingFunction
from hotline.tenants.seed.places_demo import LANDMARKS
from hotline.tenants.seed.tickets_demo import _INSERT_LEADS, _INSERT_TICKETS


async def sync_catalogue() -> int:
    """Mirror departments/functions.json into ``routing_functions`` (platform scope);
    answers how many rows were added or changed."""
    changed = 0
    for f in catalogue().values():
        values: dict[str, Any] = {
            "name": f.name,
            "dispatch": f.dispatch,
            "duties": f.duties,
            "keywords": list(f.keywords),
            "routable": f.routable,
        }
        row = await RoutingFunction.get_or_none(code=f.code)
        if row is None:
            await RoutingFunction.create(code=f.code, **values)
            changed += 1
        elif any(getattr(row, k) != v for k, v in values.items()):
            row.update_from_dict(values)
            await row.save()
            changed += 1
    return changed


async def seed_gazetteer(slug: str, codes: dict[str, int]) -> int:
    """The city's landmarks as editable gazetteer rows (current city scope)."""
    added = 0
    for name, code, aliases in LANDMARKS.get(slug, ()):
        unit = codes.get(code)
        if unit is None or await GazetteerPlace.exists(name=name, department_id=unit):
            continue
        await GazetteerPlace.create(
            name=name, kind="landmark", aliases=list(aliases), department_id=unit
        )
        added += 1
    return added


async def seed_corpus_tickets(*, tenant_id: int, province_id: int, slug: str) -> int:
    """The corpus's training requests of this city (and those of no city) as closed
    tickets led by the department the tree gives their function and place."""
    from hotline.tenants.tickets.models import Ticket

    tree = await gazetteer.city_tree()
    places = await gazetteer.city_places(tree)
    contents: list[str] = []
    leads: list[int] = []
    for row in corpus.train():
        if row.get("city", slug) != slug:
            continue
        place = resolver.resolve(places, row["text"])
        node = tree.department(row["function"], place, row["text"])
        if node is None:
            continue
        contents.append(row["text"])
        leads.append(node.id)
    if not contents:
        return 0
    start = datetime(2026, 3, 2, 9, tzinfo=UTC)
    numbers = [f"CORP{tenant_id % 10000:04d}{i:08d}" for i in range(len(contents))]
    db = Ticket._meta.db
    rows = await db.execute_query_dict(
        _INSERT_TICKETS,
        [
            tenant_id,
            province_id,
            numbers,
            contents,
            [start + timedelta(minutes=11 * i) for i in range(len(contents))],
            [None] * len(contents),
        ],
    )
    by_number = {r["number"]: r["id"] for r in rows}
    await db.execute_query(
        _INSERT_LEADS, [tenant_id, province_id, [by_number[n] for n in numbers], leads]
    )
    return len(contents)
