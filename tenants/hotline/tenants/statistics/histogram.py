"""Working-time histograms: fixed, log-spaced buckets whose counts add up over any set
of days and departments, so a period's p90 needs no single working time
(docs/statistics.md, "Working-time histograms").

Bucket ``0`` holds times under one minute; bucket ``k ≥ 1`` holds
``EDGES[k-1] ≤ seconds < EDGES[k]``; the last one (``len(EDGES)``) is open above. The
edges are one minute times ``2^(j/8)``, rounded to whole seconds — eight buckets per
doubling, so a bucket is at most 9.86 % wider than its lower edge. A histogram is a
sparse ``{"<bucket>": count}`` (JSON object keys are text), empty buckets left out.

:func:`p90` interpolates linearly inside the bucket holding the nearest rank, so it
lies strictly inside the exact nearest-rank p90's bucket: off by less than 60 s under a
minute and by less than 9.86 % of the exact value above (the top bucket, from ~29,000
working hours on, answers its lower edge).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable, Mapping

# one minute × 2^(j/8), j = 0…166, in whole seconds (frozen: stored rows depend on them;
# migration 0007 carries the same list)
EDGES: tuple[int, ...] = tuple(round(60 * 2 ** (j / 8)) for j in range(167))
BUCKETS = len(EDGES) + 1


def bucket(seconds: int) -> int:
    """The bucket of a working time (PostgreSQL: ``width_bucket(seconds, EDGES)``)."""
    return bisect_right(EDGES, seconds)


def bounds(index: int) -> tuple[int, int | None]:
    """``[low, high)`` of a bucket; ``high`` None for the open top bucket."""
    low = 0 if index == 0 else EDGES[index - 1]
    return low, EDGES[index] if index < len(EDGES) else None


def add(histogram: dict[str, int], seconds: int) -> None:
    key = str(bucket(seconds))
    histogram[key] = histogram.get(key, 0) + 1


def merge(into: dict[str, int], other: Mapping[str, int] | None) -> None:
    for key, n in (other or {}).items():
        into[key] = into.get(key, 0) + int(n)


def of(values: Iterable[int]) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        add(out, v)
    return canonical(out)


def canonical(histogram: Mapping[str, int]) -> dict[str, int]:
    """Buckets in ascending order, empty ones left out (equal histograms, equal rows)."""
    return {k: n for k, n in sorted(histogram.items(), key=lambda kv: int(kv[0])) if n}


def count(histogram: Mapping[str, int]) -> int:
    return sum(histogram.values())


def p90(histogram: Mapping[str, int]) -> float | None:
    """The nearest-rank 90th percentile (rank ``ceil(0.9 n)``), interpolated inside its
    bucket as if the bucket's times were spread evenly, each at the middle of its share:
    ``low + width · (rank − below − ½) / in_bucket`` — strictly inside the bucket.
    None for an empty histogram."""
    n = count(histogram)
    if not n:
        return None
    rank = math.ceil(0.9 * n)
    below = 0
    for key in sorted(histogram, key=int):
        inside = histogram[key]
        if not inside:
            continue
        if below + inside >= rank:
            low, high = bounds(int(key))
            if high is None:
                return float(low)
            return low + (high - low) * (rank - below - 0.5) / inside
        below += inside
    raise AssertionError("unreachable: rank ≤ n")
