"""One city's routing, assembled (pure: no database): urgent check, function ranking
(the province model, blended with the city's own model when it has history), place
resolution, and function + place → department. The service builds one per city
from the database; the CLI, the benchmark and the tests build them from data.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hotline.tenants.routing import functions_model as fm
from hotline.tenants.routing import places as gazetteer
from hotline.tenants.routing import urgent
from hotline.tenants.routing.dispatch import CityTree
from hotline.tenants.routing.places import Place, Resolution


@dataclass(frozen=True)
class Prediction:
    functions: fm.Ranked  # best first
    departments: list[tuple[int, float, str]]  # (department id, probability, function)
    place: Resolution | None
    urgent: str | None


@dataclass
class Engine:
    model: fm.FunctionModel
    tree: CityTree
    places: list[Place]
    city_pipeline: Any = None  # the city's own department classifier, if any
    city_samples: int = 0
    city_version: int | None = None  # the city model's, stored with a suggestion
    use_places: bool = True

    def predict_many(
        self, texts: Sequence[str], locations: Sequence[str | None] | None = None
    ) -> list[Prediction]:
        locations = locations if locations is not None else [None] * len(texts)
        ranked = self.model.rank(texts)
        city: list[fm.Ranked | None] = [None] * len(texts)
        weight = fm.city_weight(self.city_samples) if self.city_pipeline is not None else 0.0
        if weight > 0:
            from hotline.tenants.routing import classifier

            per_text = classifier.top_k(
                self.city_pipeline, texts, k=len(self.city_pipeline.classes_)
            )
            city = [fm.by_function(r, self.tree.function_of) for r in per_text]
        out = []
        for text, location, province, own in zip(texts, locations, ranked, city, strict=True):
            functions = fm.blend(province, own, weight)
            place = gazetteer.resolve(self.places, text, location) if self.use_places else None
            out.append(
                Prediction(
                    functions=functions,
                    departments=self.tree.rank(functions, place, text),
                    place=place,
                    urgent=urgent.detect(text),
                )
            )
        return out

    def predict(self, text: str, location: str | None = None) -> Prediction:
        return self.predict_many([text], [location])[0]


@dataclass
class Report:
    requests: int = 0
    top1: float = 0.0  # department, as a dispatcher sees it
    top3: float = 0.0
    function_top1: float = 0.0
    function_top3: float = 0.0
    per_function: dict[str, dict[str, float]] = field(default_factory=dict)
    confusions: list[tuple[str, str, int]] = field(default_factory=list)
    place_checked: int = 0
    place_accuracy: float | None = None

    def lines(self) -> list[str]:
        out = [
            f"{self.requests} requests: department top-1 {self.top1:.1%}, top-3 {self.top3:.1%}; "
            f"function top-1 {self.function_top1:.1%}, top-3 {self.function_top3:.1%}",
        ]
        if self.place_accuracy is not None:
            out.append(
                f"place resolution: {self.place_accuracy:.1%} of {self.place_checked} "
                "requests with an expected place"
            )
        out.append("per function (n, top-1, top-3):")
        for code, s in sorted(self.per_function.items()):
            out.append(f"  {code:20} {int(s['n']):5} {s['top1']:7.1%} {s['top3']:7.1%}")
        if self.confusions:
            out.append("most confused (expected → suggested first, count):")
            for expected, got, count in self.confusions[:10]:
                out.append(f"  {expected} → {got}: {count}")
        return out


def _expected_department(engine: Engine, row: Mapping[str, Any], text: str) -> int | None:
    name = row.get("expected_department") or row.get("department")
    if name:
        for node in engine.tree.nodes:
            if node.name == name:
                return node.id
        return None
    function = str(row.get("expected_function") or row.get("function"))
    place_name = row.get("place") or row.get("expected_place")
    place: Resolution | None = None
    if place_name:
        matches = [p for p in engine.places if p.name == place_name]
        if matches:
            # of several units with this name, the one the request's own words point at
            within = gazetteer.resolve(matches, text, row.get("location")) or Resolution(
                matches[0].unit_id, matches[0].path, ()
            )
            place = within
    found = engine.tree.department(function, place, text)
    return found.id if found else None


def place_matches(engine: Engine, expected: str | None, got: Resolution | None) -> bool:
    """Resolved to the expected unit, or to a unit inside it (a community of the
    expected street dispatches the same); ``expected`` None: resolved to nothing."""
    if expected is None or got is None:
        return expected is None and got is None
    units = [n for n in engine.tree.nodes if n.name == expected]
    return any(got.path.startswith(u.path) for u in units)


def evaluate(engine: Engine, rows: Iterable[Mapping[str, Any]]) -> Report:
    """Top-1/top-3 per function, the confusion pairs and the place-resolution accuracy
    of ``engine`` on labelled rows: ``text``, optional ``location``, ``expected_function``
    (or ``function``), optional ``expected_department`` (a name; else derived from the
    function and the row's ``place``), optional ``expected_place``/``place``."""
    rows = list(rows)
    predictions = engine.predict_many(
        [str(r["text"]) for r in rows], [r.get("location") for r in rows]
    )
    report = Report(requests=len(rows))
    if not rows:
        return report
    hits: dict[str, list[tuple[bool, bool]]] = defaultdict(list)
    confusions: Counter[tuple[str, str]] = Counter()
    d1 = d3 = f1 = f3 = 0
    place_ok = place_n = 0
    for row, p in zip(rows, predictions, strict=True):
        function = str(row.get("expected_function") or row.get("function"))
        top_functions = [f for f, _ in p.functions[:3]]
        f1 += bool(top_functions) and top_functions[0] == function
        f3 += function in top_functions
        expected = _expected_department(engine, row, str(row["text"]))
        ids = [d for d, _, _ in p.departments]
        ok1 = bool(ids) and ids[0] == expected
        ok3 = expected in ids
        d1 += ok1
        d3 += ok3
        hits[function].append((ok1, ok3))
        if not ok1 and p.departments:
            confusions[(function, p.departments[0][2])] += 1
        if "expected_place" in row or "place" in row:
            place_n += 1
            place_ok += place_matches(engine, row.get("expected_place", row.get("place")), p.place)
    n = len(rows)
    report.top1, report.top3 = d1 / n, d3 / n
    report.function_top1, report.function_top3 = f1 / n, f3 / n
    report.per_function = {
        code: {
            "n": len(v),
            "top1": sum(a for a, _ in v) / len(v),
            "top3": sum(b for _, b in v) / len(v),
        }
        for code, v in hits.items()
    }
    report.confusions = [(e, g, c) for (e, g), c in confusions.most_common()]
    if place_n:
        report.place_checked = place_n
        report.place_accuracy = place_ok / place_n
    return report
