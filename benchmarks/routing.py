"""Routing: held-out accuracy of the province function model per demo city and pooled,
easy vs hard requests, with and without place resolution; province training time;
scoring time per request. No database: the corpus, the catalogue and the demo trees.

- accuracy: the shipped model (corpus training set + catalogue duties) on each of the
  corpus's two held-out sets, never trained on (``heldout2`` was written before any
  model error was looked at: the honest figure). "Hard" requests hold no keyword of their own
  function or one of another function (the misleading-keyword case); the others are
  "easy".
- training: a province of C cities × N closed tickets each (default 14 × 100,000),
  texts drawn from the corpus; the province model learns from the newest
  ``province.MAX_HISTORY`` of them (the cap that bounds its training time) plus the
  corpus and the catalogue.
- scoring: one request at a time through a city's engine (urgent check, function
  ranking, place resolution, department), mean and p99.

``python -m benchmarks.routing [cities] [tickets_per_city]``
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from collections.abc import Sequence
from typing import Any

from hotline.tenants.departments.functions import catalogue
from hotline.tenants.routing import corpus
from hotline.tenants.routing import functions_model as fm
from hotline.tenants.routing.engine import Engine, evaluate
from hotline.tenants.routing.province import MAX_HISTORY, shipped_model
from hotline.tenants.seed.places_demo import demo_places

CITIES, PER_CITY = 14, 100_000


def is_hard(row: dict[str, Any]) -> bool:
    text = row["text"]
    own = catalogue()[row["function"]].keywords
    others = [k for f in catalogue().values() if f.code != row["function"] for k in f.keywords]
    return not any(k in text for k in own) or any(k in text for k in others)


def _accuracy(model: fm.FunctionModel) -> None:
    for name, rows in (("heldout", corpus.heldout()), ("heldout2", corpus.heldout2())):
        print(f"{name + ', department':36} {'n':>5} {'top-1':>7} {'top-3':>7}")
        for slug in ("jinan", "dezhou", "pooled"):
            for use_places in (True, False):
                for part in ("all", "easy", "hard"):
                    subset = [r for r in rows if part == "all" or is_hard(r) == (part == "hard")]
                    n, top1, top3 = _measure(model, slug, subset, use_places)
                    label = f"{slug} {'with' if use_places else 'without'} places, {part}"
                    print(f"{label:36} {n:5} {top1:7.1%} {top3:7.1%}")


def _measure(
    model: fm.FunctionModel, slug: str, rows: Sequence[dict[str, Any]], use_places: bool
) -> tuple[int, float, float]:
    """One city's rows (and those of no city) in its engine; pooled: every row in its
    own city's engine (rows of no city in Jinan's)."""
    groups = (
        {
            "jinan": [r for r in rows if r.get("city", "jinan") == "jinan"],
            "dezhou": [r for r in rows if r.get("city") == "dezhou"],
        }
        if slug == "pooled"
        else {slug: [r for r in rows if r.get("city", slug) == slug]}
    )
    n = right1 = right3 = 0
    for city, mine in groups.items():
        tree, places = demo_places(city)
        report = evaluate(Engine(model, tree, places, use_places=use_places), mine)
        n += report.requests
        right1 += round(report.top1 * report.requests)
        right3 += round(report.top3 * report.requests)
    return n, right1 / max(n, 1), right3 / max(n, 1)


def _training(cities: int, per_city: int) -> None:
    rng = random.Random(2026)
    pool = corpus.train()
    total = cities * per_city
    used = min(total, MAX_HISTORY)
    history = [rng.choice(pool) for _ in range(used)]
    started = time.perf_counter()
    model = fm.fit(([r["text"] for r in history], [r["function"] for r in history]))
    seconds = time.perf_counter() - started
    print(
        f"training: {cities} cities × {per_city:,} closed tickets = {total:,}; the newest "
        f"{used:,} + corpus + catalogue ({model.samples:,} texts) in {seconds:.1f} s"
    )


def _scoring(model: fm.FunctionModel, requests: int) -> None:
    tree, places = demo_places("jinan")
    engine = Engine(model, tree, places)
    rows = corpus.heldout()[:requests]
    engine.predict(rows[0]["text"])  # first call warms numpy/scipy paths
    times = []
    for row in rows:
        started = time.perf_counter()
        engine.predict(row["text"], row.get("location"))
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    print(
        f"scoring: {len(times)} requests one at a time: mean {statistics.mean(times):.2f} ms, "
        f"p50 {times[len(times) // 2]:.2f} ms, p99 {p99:.2f} ms"
    )


def main(cities: int = CITIES, per_city: int = PER_CITY, requests: int = 300) -> int:
    started = time.perf_counter()
    model = shipped_model()
    print(f"shipped model fitted in {time.perf_counter() - started:.1f} s ({model.samples} texts)")
    _accuracy(model)
    _training(cities, per_city)
    _scoring(model, requests)
    return 0


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    sys.exit(main(*args))
