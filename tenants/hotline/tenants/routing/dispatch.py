"""Function + place → the concrete department of this city (pure: no database).

The catalogue says at which level of the tree a function is handled (``dispatch``):
``city`` — the city department tagged with the function (of several, e.g. three
telecom operators, the one the request names); ``district`` — the district/county of
the resolved place, else the city department; ``street`` — the street office or
township of the resolved place, else its district. A function the city has no
department for is skipped, so the next likeliest function fills the ranking.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hotline.tenants.departments.functions import catalogue
from hotline.tenants.routing.places import Place, Resolution, short_names

_OPERATOR_WORDS = ("移动", "联通", "电信")


@dataclass(frozen=True)
class Node:
    id: int
    path: str
    kind: str
    name: str
    function: str | None
    depth: int = 0


class CityTree:
    """The city's active departments, indexed for dispatch."""

    def __init__(self, nodes: Sequence[Node]) -> None:
        self.nodes = list(nodes)
        self.by_id = {n.id: n for n in self.nodes}
        self.by_path = {n.path: n for n in self.nodes}
        self.by_function: dict[str, list[Node]] = {}
        for n in sorted(self.nodes, key=lambda n: (n.depth, n.id)):
            if n.function:
                self.by_function.setdefault(n.function, []).append(n)

    def function_of(self, department_id: int) -> str | None:
        node = self.by_id.get(department_id)
        return node.function if node else None

    def _on_branch(self, path: str, kind: str) -> Node | None:
        """The node of ``kind`` on the branch ending at ``path`` (itself or an ancestor)."""
        ids = [p for p in path.strip("/").split("/") if p]
        for i in range(len(ids), 0, -1):
            node = self.by_path.get("/" + "/".join(ids[:i]) + "/")
            if node is not None and node.kind == kind:
                return node
        return None

    def department(self, function: str, place: Resolution | None, text: str = "") -> Node | None:
        spec = catalogue().get(function)
        if spec is None:
            return None
        if place is not None and spec.dispatch in ("street", "district"):
            if spec.dispatch == "street":
                node = self._on_branch(place.path, "street") or self._on_branch(
                    place.path, "district"
                )
            else:
                node = self._on_branch(place.path, "district")
            if node is not None:
                return node
        candidates = [
            n for n in self.by_function.get(function, []) if n.kind in ("bureau", "utility")
        ]
        if not candidates:
            return None
        for n in candidates:
            if any(w in n.name and w in text for w in _OPERATOR_WORDS):
                return n
        return candidates[0]

    def rank(
        self,
        functions: Sequence[tuple[str, float]],
        place: Resolution | None,
        text: str,
        k: int = 3,
    ) -> list[tuple[int, float, str]]:
        """The top ``k`` departments (id, probability, function) for a function ranking."""
        out: list[tuple[int, float, str]] = []
        seen: set[int] = set()
        for function, p in functions:
            node = self.department(function, place, text)
            if node is None or node.id in seen:
                continue
            seen.add(node.id)
            out.append((node.id, p, function))
            if len(out) == k:
                break
        return out


def gazetteer_from_tree(
    tree: CityTree, landmarks: Sequence[tuple[str, int, Sequence[str]]] = ()
) -> list[Place]:
    """The places a tree implies: every district, street and community with its short
    name (unless a more general unit already uses it: 济阳 is the district, not 济阳街道),
    plus ``landmarks`` (name, unit id, aliases)."""
    places: list[Place] = []
    taken: set[str] = set()
    for node in sorted(tree.nodes, key=lambda n: (n.depth, n.id)):
        if node.kind not in ("district", "street", "community"):
            continue
        shorts = tuple(s for s in short_names(node.name, node.kind) if s not in taken)
        taken.update(shorts)
        taken.add(node.name)
        places.append(Place(node.id, node.path, node.name, node.kind, shorts))
    for name, unit_id, aliases in landmarks:
        unit = tree.by_id.get(unit_id)
        if unit is not None:
            places.append(Place(unit.id, unit.path, name, "landmark", tuple(aliases)))
    return places
