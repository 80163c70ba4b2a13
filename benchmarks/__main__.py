"""``make bench``: every benchmark prints ratios against a baseline measured in the same run.

``python -m benchmarks --smoke`` runs the sizes that only check a benchmark still works
(today: the statistics benchmark's; the others have no smaller size yet)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import partial

from benchmarks import evidence, statistics, tickets, workers

# Each entry runs one benchmark and returns its exit status.
BENCHMARKS: list[Callable[[], int]] = [
    evidence.main,
    workers.main,
    tickets.main,
    statistics.main,
]
SMOKE: list[Callable[[], int]] = [partial(statistics.main, smoke=True)]


def main(argv: list[str] | None = None) -> int:
    chosen = SMOKE if "--smoke" in (sys.argv[1:] if argv is None else argv) else BENCHMARKS
    return max((bench() for bench in chosen), default=0)


if __name__ == "__main__":
    sys.exit(main())
