"""The demo cities' gazetteer landmarks, and their trees as routing sees them.

The gazetteer of a city is its tree's districts, streets and communities (with their
short names, derived) plus these well-known places that imply a unit: stations,
campuses, development zones, scenic spots, old names (陵县 for 陵城区). Seeding writes
them as the city's editable gazetteer rows (routing/gazetteer.py).
"""

from __future__ import annotations

from itertools import count

from hotline.tenants.routing.dispatch import CityTree, Node, gazetteer_from_tree
from hotline.tenants.routing.places import Place
from hotline.tenants.seed.data import DEZHOU, JINAN, CityDemo, Dept

# (name, department code of the unit it implies, aliases)
LANDMARKS: dict[str, tuple[tuple[str, str, tuple[str, ...]], ...]] = {
    "jinan": (
        ("大学城", "changqing-s2", ("长清大学城",)),
        ("齐鲁软件园", "hitech-s1", ("软件园",)),
        ("济南高新区", "hitech", ("高新区", "高新技术产业开发区")),
        ("泉城广场", "lixia-s1", ("宽厚里",)),
        ("济南西站", "huaiyin-s4", ("西客站", "西站")),
        ("山东大学中心校区", "licheng-s1", ()),
        ("唐冶新区", "licheng-s4", ()),
        ("百脉泉", "zhangqiu-s1", ()),
    ),
    "dezhou": (
        ("德州东站", "tianqu-s1", ("东站",)),
        ("德州学院", "tianqu-s2", ()),
        ("董子园", "decheng-s4", ()),
        ("德州天衢新区", "tianqu", ("天衢新区", "经济技术开发区", "开发区")),
        ("陵城区", "lingcheng", ("陵县",)),
        ("泉城海洋极地世界", "qihe", ("黄河国际生态城",)),
        ("新湖风景区", "decheng-s1", ()),
    ),
}

# Roads and places the demo texts name besides the tree's units and the landmarks (not
# gazetteer rows: they imply no one unit). Jinan's are what its routing corpus has always
# drawn from; Dezhou's are its own, so no Dezhou text names a Jinan road.
ROADS: dict[str, tuple[str, ...]] = {
    "jinan": ("经十路", "二环东路", "解放路", "和平路", "火车站", "人民公园", "开发区"),
    "dezhou": ("东风路", "三八路", "湖滨大道", "天衢路", "德州大道", "长河公园", "德州火车站"),
}

CITIES: dict[str, CityDemo] = {"jinan": JINAN, "dezhou": DEZHOU}


def demo_tree(city: CityDemo) -> tuple[CityTree, dict[str, int]]:
    """The city's seeded tree with stand-in ids (the center is 1), and code → id."""
    ids = count(1)
    nodes = [Node(next(ids), "/1/", "center", f"{city.name}12345热线中心", "hotline_center", 0)]
    codes = {"center": 1}

    def walk(depts: tuple[Dept, ...], parent_path: str, depth: int) -> None:
        for d in depts:
            node_id = next(ids)
            path = f"{parent_path}{node_id}/"
            nodes.append(Node(node_id, path, d.kind, d.name, d.function or None, depth))
            codes[d.code] = node_id
            walk(d.children, path, depth + 1)

    walk(city.departments, "/1/", 1)
    return CityTree(nodes), codes


def demo_places(slug: str) -> tuple[CityTree, list[Place]]:
    tree, codes = demo_tree(CITIES[slug])
    landmarks = [(name, codes[code], aliases) for name, code, aliases in LANDMARKS[slug]]
    return tree, gazetteer_from_tree(tree, landmarks)
