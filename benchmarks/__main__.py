"""``make bench``: every benchmark prints ratios against a baseline measured in the same run."""

from __future__ import annotations

import sys
from collections.abc import Callable

from benchmarks import evidence, tickets, workers

# Each entry runs one benchmark and returns its exit status.
BENCHMARKS: list[Callable[[], int]] = [
    evidence.main,
    workers.main,
    tickets.main,
]


def main() -> int:
    return max((bench() for bench in BENCHMARKS), default=0)


if __name__ == "__main__":
    sys.exit(main())
