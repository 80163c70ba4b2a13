"""The metrics: every formula of docs/statistics.md, as pure functions over summed rows.

A :class:`Totals` is the sum of daily rows (stored aggregates and live rows alike, the
columns of :class:`~hotline.tenants.statistics.models.DailyStat`); :func:`figures` turns
it into the dashboard's counts and rates. Nothing here reads the database: the same
functions answer for a day, a month, a department subtree, a city or a province.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

# Integer columns summed as they are (the order is the one of DailyStat).
COUNTS: tuple[str, ...] = (
    "received",
    "direct_answered",
    "dispatched",
    "signed",
    "signed_on_time",
    "replied",
    "replied_on_time",
    "overdue",
    "returned",
    "extended",
    "reopened",
    "merged",
    "cancelled",
    "closed",
    "revisit_calls",
    "revisit_reached",
    "satisfied",
    "basically_satisfied",
    "unsatisfied",
    "unreachable",
    "cohort_valid",
    "cohort_handled",
    "cohort_completed",
)
# Statuses that leave the work without an outcome of its own (not in the cohort).
LEFT_STATUSES = ("merged", "cancelled", "transferred", "rejected")
# Statuses at which the work was handled: answered directly, replied, under review or closed.
HANDLED_STATUSES = ("answered", "replied", "revisit", "closed")
# A top-level lead assignment still owing its reply.
ACTIVE_ASSIGNMENT = ("pending_sign", "signed", "return_requested")


@dataclass
class Totals:
    """Summed daily rows: the numerators and denominators of every metric."""

    received: int = 0
    direct_answered: int = 0
    dispatched: int = 0
    signed: int = 0
    signed_on_time: int = 0
    replied: int = 0
    replied_on_time: int = 0
    overdue: int = 0
    returned: int = 0
    extended: int = 0
    reopened: int = 0
    merged: int = 0
    cancelled: int = 0
    closed: int = 0
    revisit_calls: int = 0
    revisit_reached: int = 0
    satisfied: int = 0
    basically_satisfied: int = 0
    unsatisfied: int = 0
    unreachable: int = 0
    cohort_valid: int = 0
    cohort_handled: int = 0
    cohort_completed: int = 0
    received_by: dict[str, int] = field(default_factory=dict)
    sign_seconds: list[int] = field(default_factory=list)
    reply_seconds: list[int] = field(default_factory=list)

    def add(self, row: Mapping[str, Any]) -> None:
        for name in COUNTS:
            setattr(self, name, getattr(self, name) + int(row.get(name) or 0))
        for key, n in (row.get("received_by") or {}).items():
            self.received_by[key] = self.received_by.get(key, 0) + int(n)
        # integers already (JSON arrays of ints, or computed); extended at C speed
        self.sign_seconds.extend(row.get("sign_seconds") or ())
        self.reply_seconds.extend(row.get("reply_seconds") or ())

    def as_row(self) -> dict[str, Any]:
        """The stored row's columns (lists sorted, so equal totals give equal rows)."""
        row: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self)}
        row["received_by"] = dict(sorted(self.received_by.items()))
        row["sign_seconds"] = sorted(self.sign_seconds)
        row["reply_seconds"] = sorted(self.reply_seconds)
        return row


def total(rows: Iterable[Mapping[str, Any]]) -> Totals:
    """The sum of ``rows``, in a canonical order (equal sums compare equal)."""
    out = Totals()
    for row in rows:
        out.add(row)
        # a row's own dimensions break "received" down by channel and category too
        n = int(row.get("received") or 0)
        if n and row.get("channel"):
            key = f"channel:{row['channel']}"
            out.received_by[key] = out.received_by.get(key, 0) + n
        if n and row.get("category_id") is not None:
            key = f"category:{row['category_id']}"
            out.received_by[key] = out.received_by.get(key, 0) + n
    out.received_by = dict(sorted(out.received_by.items()))
    out.sign_seconds.sort()
    out.reply_seconds.sort()
    return out


def rate(numerator: int, denominator: int) -> float | None:
    """numerator / denominator, or None when nothing was there to count."""
    return numerator / denominator if denominator else None


def mean(values: list[int]) -> float | None:
    return sum(values) / len(values) if values else None


def p90(values: list[int]) -> int | None:
    """The nearest-rank 90th percentile: the smallest value with at least 90 % of the
    values at or below it (``sorted[ceil(0.9 n) - 1]``)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[math.ceil(0.9 * len(ordered)) - 1]


def hours(seconds: float | None) -> float | None:
    return None if seconds is None else seconds / 3600


@dataclass(frozen=True)
class Figures:
    """The dashboard of one city, subtree, department or province over a period."""

    totals: Totals
    overdue_now: int | None  # open work past its reply deadline right now (live)
    direct_answer_rate: float | None
    signed_on_time_rate: float | None
    replied_on_time_rate: float | None
    revisit_reach_rate: float | None
    satisfaction_rate: float | None
    handling_rate: float | None
    completion_rate: float | None
    sign_hours_avg: float | None
    sign_hours_p90: float | None
    reply_hours_avg: float | None
    reply_hours_p90: float | None

    def rates(self) -> dict[str, float | None]:
        """The rates a composite score may weigh, by their setting names."""
        return {
            "signed_on_time": self.signed_on_time_rate,
            "replied_on_time": self.replied_on_time_rate,
            "satisfaction": self.satisfaction_rate,
            "handling": self.handling_rate,
            "completion": self.completion_rate,
            "revisit_reach": self.revisit_reach_rate,
            "direct_answer": self.direct_answer_rate,
        }


def figures(totals: Totals, *, overdue_now: int | None = None) -> Figures:
    t = totals
    graded = t.satisfied + t.basically_satisfied + t.unsatisfied  # unreachable outside
    return Figures(
        totals=t,
        overdue_now=overdue_now,
        direct_answer_rate=rate(t.direct_answered, t.received),
        signed_on_time_rate=rate(t.signed_on_time, t.signed),
        replied_on_time_rate=rate(t.replied_on_time, t.replied),
        revisit_reach_rate=rate(t.revisit_reached, t.revisit_calls),
        satisfaction_rate=rate(t.satisfied + t.basically_satisfied, graded),
        handling_rate=rate(t.cohort_handled, t.cohort_valid),
        completion_rate=rate(t.cohort_completed, t.cohort_valid),
        sign_hours_avg=hours(mean(t.sign_seconds)),
        sign_hours_p90=hours(p90(t.sign_seconds)),
        reply_hours_avg=hours(mean(t.reply_seconds)),
        reply_hours_p90=hours(p90(t.reply_seconds)),
    )


def score(figs: Figures, weights: Mapping[str, float]) -> float | None:
    """The composite score, 0–100: the weighted mean of the weighted rates that are
    defined (a rate with nothing to count drops out with its weight); None if none is."""
    rates = figs.rates()
    used = [
        (w, rates[name]) for name, w in weights.items() if w > 0 and rates.get(name) is not None
    ]
    weight = sum(w for w, _ in used)
    if not weight:
        return None
    return 100 * sum(w * r for w, r in used if r is not None) / weight
