"""Place resolution (pure: no database): a request's text and location → the city's
administrative unit (district/county, street/township, community) it concerns.

A city's gazetteer lists its units with their names, the short names callers use
(历下, 陵县 for 陵城区) and well-known places that imply them (大学城 → 长清区平安街道,
芙蓉街 → 泉城路街道). Every place points at a unit of the department tree, known here by
its materialized path, so a match on a community also supports its street and district.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# Kinds of place, most general first; a landmark counts as specific as the unit it names.
KINDS = ("district", "street", "community", "landmark")
_SUFFIXES = {
    "district": ("新区", "区", "县", "市"),
    "street": ("街道", "镇", "乡"),
    "community": ("社区", "村"),
}
# Short names that are ordinary words (天桥: a footbridge; 市中: "in the city").
_NOT_SHORT = frozenset({"天桥", "市中", "高新", "北园", "花园", "平安", "明湖", "城区"})


@dataclass(frozen=True)
class Place:
    unit_id: int  # the department (tree node) the place implies
    path: str  # that node's materialized path, "/1/5/23/"
    name: str
    kind: str
    aliases: tuple[str, ...] = ()

    def terms(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


@dataclass(frozen=True)
class Resolution:
    unit_id: int
    path: str
    matched: tuple[str, ...]  # the names found, location's first


def short_names(name: str, kind: str) -> tuple[str, ...]:
    """The name without its administrative suffix (历下区 → 历下, 泉城路街道 → 泉城路),
    when what remains is 2+ characters and not an ordinary word."""
    for suffix in _SUFFIXES.get(kind, ()):
        if name.endswith(suffix):
            short = name[: -len(suffix)]
            if len(short) >= 2 and short not in _NOT_SHORT:
                return (short,)
            return ()
    return ()


@dataclass(frozen=True)
class _Hit:
    place: Place
    term: str
    in_location: bool
    start: int


def _hits(text: str, places: Sequence[Place], in_location: bool) -> list[_Hit]:
    """Every term found, longest first; a term inside a longer one found at an
    overlapping position is dropped (明湖 inside 大明湖)."""
    found: list[_Hit] = []
    candidates = sorted(
        ((term, place) for place in places for term in place.terms() if term),
        key=lambda tp: -len(tp[0]),
    )
    taken: list[tuple[int, int]] = []
    for term, place in candidates:
        start = text.find(term)
        while start != -1:
            end = start + len(term)
            overlaps = any(s < end and start < e and (e - s) > len(term) for s, e in taken)
            if not overlaps:
                taken.append((start, end))
                found.append(_Hit(place, term, in_location, start))
                break
            start = text.find(term, start + 1)
    return found


def _ancestors(path: str) -> list[str]:
    ids = [p for p in path.strip("/").split("/") if p]
    return ["/" + "/".join(ids[: i + 1]) + "/" for i in range(len(ids))]


def resolve(places: Sequence[Place], text: str, location: str | None = None) -> Resolution | None:
    """The most specific unit the request's location and text agree on, or None.

    Every candidate unit is scored by the hits that support it (a hit on the unit or on
    a unit containing it: 德城区运河街道红星社区 supports the community three times); the
    location weighs more than the text; among equal scores the deeper unit wins. Two
    different units with the same best score (市中街道 in two county-level cities, no
    other clue) resolve to their common ancestor, or to nothing when that is the root.
    """
    hits = _hits(location or "", places, True) + _hits(text, places, False)
    if not hits:
        return None
    best: list[tuple[float, int, Place]] = []
    for hit in hits:
        unit_branch = set(_ancestors(hit.place.path))
        score = 0.0
        for other in hits:
            if other.place.path in unit_branch:  # the unit itself or one containing it
                score += 2.0 if other.in_location else 1.0
        depth = len(unit_branch)
        best.append((score, depth, hit.place))
    best.sort(key=lambda t: (-t[0], -t[1]))
    top_score, top_depth, top = best[0]
    rivals = {p.path for s, d, p in best if s == top_score and d == top_depth}
    matched = tuple(dict.fromkeys(h.term for h in hits))
    if len(rivals) == 1:
        return Resolution(top.unit_id, top.path, matched)
    common = _common_prefix(rivals)
    if common.count("/") <= 2:  # only the city's root in common
        return None
    for _, _, place in best:
        if place.path == common:
            return Resolution(place.unit_id, place.path, matched)
    return Resolution(int(common.strip("/").split("/")[-1]), common, matched)


def _common_prefix(paths: Iterable[str]) -> str:
    parts = [p.strip("/").split("/") for p in paths]
    common: list[str] = []
    for column in zip(*parts, strict=False):
        if len(set(column)) != 1:
            break
        common.append(column[0])
    return "/" + "/".join(common) + "/" if common else "/"
