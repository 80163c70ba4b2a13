"""``make bench``: every benchmark prints ratios against a baseline measured in the same run.

``python -m benchmarks --smoke`` (or ``BENCH_SIZE=tiny``; ``make bench-smoke``) runs every
benchmark at a tiny size in well under a minute: CI runs it so that none can rot. Its
figures are printed, never asserted (too small and too noisy to mean much).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from benchmarks import (
    business,
    channels,
    evidence,
    exports,
    load,
    observability,
    plans,
    routing,
    statistics,
    sweep_scale,
    tickets,
    workers,
)


@dataclass(frozen=True)
class Bench:
    name: str
    full: Callable[[], int]
    tiny: Callable[[], int]
    in_full_run: bool = True  # False: only when named (its own make target)


BENCHMARKS: list[Bench] = [
    Bench("evidence", evidence.main, lambda: evidence.main(photos=3)),
    Bench(
        "workers",
        workers.main,
        lambda: workers.main(tickets=2_000, messages=100, latency_samples=10),
    ),
    Bench(
        "tickets", tickets.main, lambda: tickets.main(creations=10, inbox_queries=10, backlog=1_000)
    ),
    Bench("statistics", statistics.main, lambda: statistics.main(smoke=True)),
    Bench("routing", routing.main, lambda: routing.main(cities=2, per_city=500, requests=20)),
    Bench("business", business.main, lambda: business.main(smoke=True)),
    Bench("exports", exports.main, lambda: exports.main(smoke=True)),
    Bench("channels", channels.main, lambda: channels.main(tickets=10)),
    Bench("observability", observability.main, lambda: observability.main(requests=12)),
    Bench("sweep_scale", sweep_scale.main, lambda: sweep_scale.main(smoke=True)),
    Bench("plans", plans.main, lambda: plans.main(smoke=True)),
    # make bench-load: minutes per configuration, so not part of a plain make bench
    Bench("load", load.main, lambda: load.main(smoke=True), in_full_run=False),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "--smoke", action="store_true", help="every benchmark at a tiny size (CI's smoke test)"
    )
    parser.add_argument("only", nargs="*", help="run only these benchmarks (by name)")
    args = parser.parse_args(argv)
    smoke = args.smoke or os.environ.get("BENCH_SIZE", "") == "tiny"
    unknown = set(args.only) - {b.name for b in BENCHMARKS}
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    status = 0
    for bench in BENCHMARKS:
        if args.only and bench.name not in args.only:
            continue
        if not (args.only or smoke or bench.in_full_run):
            continue
        started = time.perf_counter()
        print(f"\n=== {bench.name}{' (smoke size)' if smoke else ''} ===", flush=True)
        status = max(status, (bench.tiny if smoke else bench.full)())
        print(f"=== {bench.name}: {time.perf_counter() - started:.1f} s ===", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
