"""The metrics: every formula of docs/statistics.md, as pure functions over summed rows.

A :class:`Totals` is the sum of daily rows (stored aggregates and live rows alike, the
columns of :class:`~hotline.tenants.statistics.models.DailyStat`); :func:`figures` turns
it into the dashboard's counts and rates. Nothing here reads the database: the same
functions answer for a day, a month, a department subtree, a city or a province.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from hotline.tenants.statistics import histogram

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
# Bigint columns summed as they are: the working seconds behind the exact means.
SECONDS = ("sign_seconds_sum", "reply_seconds_sum")
SUMMED = (*COUNTS, *SECONDS)
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
    # working seconds of every sign-for / reply: their sum (the exact mean) and their
    # histogram (the p90, to a bucket: histogram.py)
    sign_seconds_sum: int = 0
    reply_seconds_sum: int = 0
    received_by: dict[str, int] = field(default_factory=dict)
    sign_hist: dict[str, int] = field(default_factory=dict)
    reply_hist: dict[str, int] = field(default_factory=dict)

    def add(self, row: Mapping[str, Any]) -> None:
        for name in SUMMED:
            setattr(self, name, getattr(self, name) + int(row.get(name) or 0))
        for key, n in (row.get("received_by") or {}).items():
            self.received_by[key] = self.received_by.get(key, 0) + int(n)
        histogram.merge(self.sign_hist, row.get("sign_hist"))
        histogram.merge(self.reply_hist, row.get("reply_hist"))

    def add_time(self, stage: str, seconds: int) -> None:
        """One sign-for (``stage`` "sign") or reply's working time."""
        if stage == "sign":
            self.sign_seconds_sum += seconds
            histogram.add(self.sign_hist, seconds)
        else:
            self.reply_seconds_sum += seconds
            histogram.add(self.reply_hist, seconds)

    def as_row(self) -> dict[str, Any]:
        """The stored row's columns (maps in a canonical order: equal totals, equal rows)."""
        row: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self)}
        row["received_by"] = dict(sorted(self.received_by.items()))
        row["sign_hist"] = histogram.canonical(self.sign_hist)
        row["reply_hist"] = histogram.canonical(self.reply_hist)
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
    out.sign_hist = histogram.canonical(out.sign_hist)
    out.reply_hist = histogram.canonical(out.reply_hist)
    return out


def rate(numerator: int, denominator: int) -> float | None:
    """numerator / denominator, or None when nothing was there to count."""
    return numerator / denominator if denominator else None


def mean_of(total_seconds: int, times: Mapping[str, int]) -> float | None:
    """The exact mean: the summed seconds over the number of times in the histogram."""
    n = histogram.count(times)
    return total_seconds / n if n else None


def p90(values: list[int]) -> int | None:
    """The exact nearest-rank 90th percentile: the smallest value with at least 90 % of
    the values at or below it (``sorted[ceil(0.9 n) - 1]``); what the histogram's p90
    approximates (tests)."""
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
        sign_hours_avg=hours(mean_of(t.sign_seconds_sum, t.sign_hist)),
        sign_hours_p90=hours(histogram.p90(t.sign_hist)),
        reply_hours_avg=hours(mean_of(t.reply_seconds_sum, t.reply_hist)),
        reply_hours_p90=hours(histogram.p90(t.reply_hist)),
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


class Unranked(enum.StrEnum):
    """Why an entry of a ranking has no score: listed after the scored ones."""

    NO_WORK_ORDERS = "no_work_orders"  # nothing counted in the period at all
    NOTHING_TO_SCORE = "nothing_to_score"  # work, but no weighted rate had anything to count


def unranked(figs: Figures, weights: Mapping[str, float]) -> Unranked | None:
    """Why ``figs`` have no composite score (:func:`score`), or None when they have one."""
    if score(figs, weights) is not None:
        return None
    if any(getattr(figs.totals, name) for name in COUNTS):
        return Unranked.NOTHING_TO_SCORE
    return Unranked.NO_WORK_ORDERS
