"""The province catalogue covers the demo cities' trees; place resolution on a hand-built
set of addresses and landmarks; urgent detection on its own held-out set (no database)."""

from __future__ import annotations

import pytest

from hotline.tenants.departments.functions import catalogue, routable
from hotline.tenants.routing import corpus, places, urgent
from hotline.tenants.routing.dispatch import CityTree
from hotline.tenants.seed.places_demo import CITIES, demo_places, demo_tree


@pytest.mark.parametrize("slug", ["jinan", "dezhou"])
def test_every_department_of_the_demo_cities_has_a_catalogue_function(slug: str) -> None:
    tree, _ = demo_tree(CITIES[slug])
    untagged = [n.name for n in tree.nodes if not n.function]
    unknown = [n.name for n in tree.nodes if n.function and n.function not in catalogue()]
    assert untagged == []
    assert unknown == []
    assert len(tree.nodes) > 80  # districts, streets, communities, bureaus, utilities


@pytest.mark.parametrize("slug", ["jinan", "dezhou"])
def test_every_routable_function_reaches_a_department_of_the_demo_cities(slug: str) -> None:
    tree, _ = demo_places(slug)
    for function in routable():
        bureau = tree.department(function.code, None)
        assert bureau is not None or function.dispatch == "street", function.code
    # a street office matter with a place goes to that street, a district one to the
    # district; a city one ignores the place
    street = next(n for n in tree.nodes if n.kind == "street")
    place = places.Resolution(street.id, street.path, ())
    assert tree.department("street_office", place) == street
    district = tree.by_path["/".join(street.path.split("/")[:3]) + "/"]
    assert district.kind == "district"
    assert tree.department("urban_management", place) == district
    assert tree.department("tax", place).name.startswith("国家税务总局")  # type: ignore[union-attr]


def test_demo_names_are_what_a_shandong_city_calls_them() -> None:
    names = {n.name for slug in CITIES for n in demo_tree(CITIES[slug])[0].nodes}
    for name in (
        "德州市医疗保障局",
        "国网德州供电公司",
        "德州市公共交通集团",
        "国家税务总局济南市税务局",
        "济南市公安局交通警察支队",
        "德州市热力有限公司(供热)",
        "济南能源集团(供热)",
        "济南市自然资源和规划局",
    ):
        assert name in names


def test_the_telecom_operator_named_in_the_request_is_picked() -> None:
    tree, _ = demo_places("jinan")
    assert "联通" in tree.department("telecom", None, "联通宽带断了").name  # type: ignore[union-attr]
    assert "电信" in tree.department("telecom", None, "电信的座机有杂音").name  # type: ignore[union-attr]


# The hand-built set (corpus/places_heldout.jsonl): 45 addresses and mentions of both
# demo cities — districts by short and old names (陵县), streets, communities,
# landmarks (大学城, 德州东站, 董子园), ambiguous names (市中街道 is in two county-level
# cities) and ordinary words that are also place names (天桥, 市中心).
PLACE_ACCURACY = 0.95


def _resolved(slug: str, row: dict[str, object]) -> tuple[CityTree, places.Resolution | None]:
    tree, gazetteer = demo_places(slug)
    found = places.resolve(gazetteer, str(row["text"]), row.get("location"))  # type: ignore[arg-type]
    return tree, found


def test_place_resolution_on_the_hand_built_set() -> None:
    rows = corpus.places_heldout()
    assert len(rows) >= 40
    right = []
    for row in rows:
        tree, found = _resolved(str(row["city"]), row)
        expected = row["expected_place"]
        if expected is None:
            right.append(found is None)
            continue
        units = [n for n in tree.nodes if n.name == expected]
        # the unit itself or one inside it (芙蓉街 is a community of 泉城路街道)
        right.append(found is not None and any(found.path.startswith(u.path) for u in units))
    assert sum(right) / len(rows) >= PLACE_ACCURACY


def test_place_resolution_details() -> None:
    tree, gazetteer = demo_places("dezhou")

    def name(text: str, location: str | None = None) -> str | None:
        found = places.resolve(gazetteer, text, location)
        return tree.by_id[found.unit_id].name if found else None

    assert name("市中街道的路灯坏了") is None  # in 禹城市 and in 乐陵市: no guess
    assert name("乐陵市中街道路灯坏了") == "市中街道"
    assert tree.by_id[places.resolve(gazetteer, "乐陵市中街道").unit_id].path.startswith(  # type: ignore[union-attr]
        next(n.path for n in tree.nodes if n.name == "乐陵市")
    )
    assert name("陵县这边停水") == "陵城区"
    # the location beats a place merely mentioned in the text
    assert name("我在新湖街道上班，家里停电了", location="德城区运河街道红星社区") == "红星社区"


def test_urgent_detection_recall_on_its_own_held_out_set() -> None:
    rows = corpus.urgent_heldout()
    positives = [r for r in rows if r["urgent"]]
    negatives = [r for r in rows if not r["urgent"]]
    assert len(positives) >= 30
    assert len(negatives) >= 30
    caught = sum(urgent.detect(r["text"]) is not None for r in positives)
    false_alarms = sum(urgent.detect(r["text"]) is not None for r in negatives)
    assert caught / len(positives) >= 0.95
    assert false_alarms <= 1
    assert urgent.detect("楼道里一股很浓的煤气味") == "gas_leak"
    assert urgent.detect("电梯停在两层中间，里面困着人") == "people_trapped"
    assert urgent.detect("这个月燃气费怎么这么多") is None
