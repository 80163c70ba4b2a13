"""The demo's typical cases and history texts as data, no database (the seeded page is
checked in test_demo.py): each case publishes as written, points at a department and a
category the city has, and the history's generator is reproducible and names its city."""

from __future__ import annotations

import pytest

from hotline.tenants.seed.cases_demo import CASES
from hotline.tenants.seed.places_demo import CITIES, ROADS, demo_tree
from hotline.tenants.seed.routing_demo import CATEGORIES, Cat
from hotline.tenants.seed.tickets_demo import generate
from hotline.tenants.statistics.redaction import redact
from hotline.tenants.tickets.models import Kind


def _codes(nodes: tuple[Cat, ...]) -> set[str]:
    return {c for n in nodes for c in {n.code} | _codes(n.children)}


@pytest.mark.parametrize("slug", sorted(CASES))
def test_each_case_publishes_as_written_and_points_at_the_citys_tree(slug: str) -> None:
    _, departments = demo_tree(CITIES[slug])
    categories = _codes(CATEGORIES)
    for case in CASES[slug]:
        for text in (case.title, case.content, case.reply):
            # redaction would mark a numeral before 楼/号 or a name after 我是/业主
            assert redact(text) == text, text
        assert case.department in departments, case.department
        assert case.category in categories, case.category
        assert case.kind in {k.value for k in Kind}
        assert len(case.title) <= 200


@pytest.mark.parametrize("slug", sorted(CITIES))
def test_history_texts_are_reproducible_whole_sentences_of_the_city(slug: str) -> None:
    city = CITIES[slug]
    first = generate(per_topic=20, seed=7, city=city, noise=False)
    assert first == generate(per_topic=20, seed=7, city=city, noise=False)
    assert all(t.content.endswith(("。", "！", "？")) for t in first)
    other = next(s for s in CITIES if s != slug)
    foreign = set(ROADS[other]) - set(ROADS[slug])
    for ticket in first:
        said = ticket.content
        for road in sorted(ROADS[slug], key=len, reverse=True):  # 德州火车站 before 火车站
            said = said.replace(road, "□")
        assert not [r for r in foreign if r in said], ticket.content
