"""The province-wide function classifier (pure: no database).

It learns *functions* (the catalogue's codes), not a city's department ids, so every
city's history counts for every other city, and a city with no history at all is
served from its first day by what the province knows: the shipped corpus
(``corpus/train.jsonl``) and the catalogue's duties and keywords. The recipe is the
city classifier's (``classifier.build_pipeline``: character n-grams, a linear SVM with
sigmoid-calibrated probabilities); ``reliability`` measures what those probabilities
are worth on held-out requests, per threshold, before a city trusts them to
auto-dispatch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hotline.tenants.departments.functions import routable
from hotline.tenants.routing import classifier, corpus

ALGORITHM = "province-functions:" + classifier.ALGORITHM
THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95)

Ranked = list[tuple[str, float]]


def catalogue_documents() -> tuple[list[str], list[str]]:
    """Each routable function's duties, and each of its keywords, as a labelled text:
    what lets a function no city has history for still be predicted."""
    texts: list[str] = []
    labels: list[str] = []
    for f in routable():
        texts.append(f"{f.name}：{f.duties}")
        labels.append(f.code)
        for sentence in f.duties.split("，"):
            texts.append(sentence)
            labels.append(f.code)
        for keyword in f.keywords:
            texts.append(keyword)
            labels.append(f.code)
    return texts, labels


def corpus_documents(
    rows: Iterable[Mapping[str, Any]] | None = None,
) -> tuple[list[str], list[str]]:
    rows = corpus.train() if rows is None else rows
    texts, labels = [], []
    for row in rows:
        texts.append(str(row["text"]))
        labels.append(str(row["function"]))
    return texts, labels


@dataclass
class FunctionModel:
    pipeline: Any
    samples: int
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def functions(self) -> list[str]:
        return [str(c) for c in self.pipeline.classes_]

    def rank(self, texts: Sequence[str]) -> list[Ranked]:
        """Per text, every function with its probability, best first."""
        probabilities = classifier.calibrated_proba(self.pipeline, list(texts))
        classes = self.pipeline.classes_
        out: list[Ranked] = []
        for row in probabilities:
            order = np.argsort(row)[::-1]
            out.append([(str(classes[i]), float(row[i])) for i in order])
        return out


def fit(
    history: tuple[Sequence[str], Sequence[str]] = ((), ()),
    *,
    with_corpus: bool = True,
    with_catalogue: bool = True,
) -> FunctionModel:
    """A function model on ``history`` (texts, function codes: every city's closed
    tickets) plus the shipped corpus and the catalogue."""
    texts, labels = list(history[0]), list(history[1])
    if with_corpus:
        t, y = corpus_documents()
        texts += t
        labels += y
    if with_catalogue:
        t, y = catalogue_documents()
        texts += t
        labels += y
    pipeline = classifier.build_pipeline().fit(texts, labels)
    return FunctionModel(pipeline=pipeline, samples=len(texts))


@dataclass(frozen=True)
class ReliabilityPoint:
    threshold: float
    precision: float | None  # of the top-1 among requests at or above the threshold
    coverage: float  # share of requests at or above it (what auto-dispatch would take)


def reliability(
    ranked: Sequence[Ranked], expected: Sequence[str], thresholds: Sequence[float] = THRESHOLDS
) -> dict[str, Any]:
    """The reliability curve of the top-1 probability on labelled requests: per
    threshold, the measured precision and coverage; per confidence bin (tenths), the
    mean confidence against the accuracy (a calibrated model has them close)."""
    pairs = [(r[0][1], r[0][0] == y) for r, y in zip(ranked, expected, strict=True) if r]
    points = []
    for t in thresholds:
        above = [ok for p, ok in pairs if p >= t]
        points.append(
            ReliabilityPoint(
                threshold=t,
                precision=round(sum(above) / len(above), 4) if above else None,
                coverage=round(len(above) / len(pairs), 4) if pairs else 0.0,
            ).__dict__
        )
    bins = []
    for low in np.arange(0.0, 1.0, 0.1):
        inside = [(p, ok) for p, ok in pairs if low <= p < low + 0.1 or (low >= 0.9 and p == 1.0)]
        if inside:
            bins.append(
                {
                    "low": round(float(low), 1),
                    "confidence": round(sum(p for p, _ in inside) / len(inside), 4),
                    "accuracy": round(sum(ok for _, ok in inside) / len(inside), 4),
                    "count": len(inside),
                }
            )
    return {"thresholds": points, "bins": bins, "samples": len(pairs)}


def accuracy(ranked: Sequence[Ranked], expected: Sequence[str]) -> tuple[float, float]:
    top1 = sum(bool(r) and r[0][0] == y for r, y in zip(ranked, expected, strict=True))
    top3 = sum(y in {c for c, _ in r[:3]} for r, y in zip(ranked, expected, strict=True))
    n = max(len(expected), 1)
    return top1 / n, top3 / n


def blend(province: Ranked, city: Ranked | None, city_weight: float) -> Ranked:
    """The province's function probabilities mixed with a city model's (its department
    probabilities summed per function), ``city_weight`` in [0, 1]."""
    if not city or city_weight <= 0:
        return province
    scores: dict[str, float] = {f: (1 - city_weight) * p for f, p in province}
    for f, p in city:
        scores[f] = scores.get(f, 0.0) + city_weight * p
    return sorted(scores.items(), key=lambda kv: -kv[1])


def city_weight(city_samples: int, *, half: int = 2000, cap: float = 0.6) -> float:
    """How much a city's own model counts: nothing without history, half of ``cap`` at
    ``half`` closed tickets, approaching ``cap`` with more."""
    if city_samples <= 0:
        return 0.0
    return cap * city_samples / (city_samples + half)


def by_function(
    ranked_departments: Sequence[tuple[int, float]], function_of: Callable[[int], str | None]
) -> Ranked:
    """A city model's department ranking summed per function."""
    scores: dict[str, float] = {}
    for department, p in ranked_departments:
        f = function_of(department)
        if f:
            scores[f] = scores.get(f, 0.0) + p
    return sorted(scores.items(), key=lambda kv: -kv[1])
