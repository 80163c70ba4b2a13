"""The dashboards' GraphQL types (docs/statistics.md gives every formula)."""

from __future__ import annotations

from datetime import date
from typing import Self

import strawberry
from strawberry import relay

from hotline.schema.ids import encode_id
from hotline.tenants.statistics import calls, dashboard, metrics, topics

_BY_TYPE = {"category": "Category", "area": "Department"}


@strawberry.type(description="How many were received with one value of one dimension.")
class Breakdown:
    dimension: str = strawberry.field(description="channel, kind, priority, category or area.")
    key: str = strawberry.field(
        description="The value: an enum value, or the global id of a category or area."
    )
    count: int


@strawberry.type(
    description="Counts, rates (0–1, null when nothing was there to count) and working "
    "hours of a period; the formulas are in docs/statistics.md."
)
class StatisticsFigures:
    received: int
    received_by: list[Breakdown]
    direct_answered: int
    dispatched: int
    signed: int
    signed_on_time: int
    replied: int
    replied_on_time: int
    overdue: int = strawberry.field(description="Reply deadlines of the period missed.")
    overdue_now: int | None = strawberry.field(description="Open work past its deadline now.")
    returned: int
    extended: int
    reopened: int
    merged: int
    cancelled: int
    closed: int
    revisit_calls: int
    revisit_reached: int
    satisfied: int
    basically_satisfied: int
    unsatisfied: int
    unreachable: int
    direct_answer_rate: float | None
    signed_on_time_rate: float | None
    replied_on_time_rate: float | None
    revisit_reach_rate: float | None
    satisfaction_rate: float | None
    handling_rate: float | None
    completion_rate: float | None
    sign_hours_avg: float | None = strawberry.field(description="Working hours to sign for.")
    sign_hours_p90: float | None
    reply_hours_avg: float | None = strawberry.field(description="Working hours to reply.")
    reply_hours_p90: float | None

    @classmethod
    def from_figures(cls, f: metrics.Figures) -> Self:
        t = f.totals
        counts = {
            name: getattr(t, name) for name in metrics.COUNTS if not name.startswith("cohort")
        }
        by: list[Breakdown] = []
        for label, n in t.received_by.items():
            dimension, _, key = label.partition(":")
            if dimension in _BY_TYPE:
                key = str(encode_id(_BY_TYPE[dimension], int(key)))
            by.append(Breakdown(dimension=dimension, key=key, count=n))
        return cls(
            **counts,
            received_by=by,
            overdue_now=f.overdue_now,
            direct_answer_rate=f.direct_answer_rate,
            signed_on_time_rate=f.signed_on_time_rate,
            replied_on_time_rate=f.replied_on_time_rate,
            revisit_reach_rate=f.revisit_reach_rate,
            satisfaction_rate=f.satisfaction_rate,
            handling_rate=f.handling_rate,
            completion_rate=f.completion_rate,
            sign_hours_avg=f.sign_hours_avg,
            sign_hours_p90=f.sign_hours_p90,
            reply_hours_avg=f.reply_hours_avg,
            reply_hours_p90=f.reply_hours_p90,
        )


UnrankedReason = metrics.Unranked
strawberry.enum(
    metrics.Unranked,
    name="UnrankedReason",
    description="Why a ranking's entry has no score (docs/statistics.md, Composite score).",
)


@strawberry.type(description="A department or city in a ranking (rank 1 = best score).")
class RankedFigures:
    id: relay.GlobalID
    name: str
    rank: int = strawberry.field(
        description="The place; entries without a score follow every scored one, by name, "
        "and their place ranks nothing (see unrankedReason)."
    )
    score: float | None = strawberry.field(
        description="Composite score 0–100: the weighted mean of the weighted rates."
    )
    unranked_reason: UnrankedReason | None = strawberry.field(
        description="Null when scored; else why not: NO_WORK_ORDERS (nothing at all in the "
        "period) or NOTHING_TO_SCORE (work, but none of the weighted rates had anything to "
        "count yet)."
    )
    figures: StatisticsFigures

    @classmethod
    def from_ranked(cls, r: dashboard.Ranked, type_name: str) -> Self:
        return cls(
            id=encode_id(type_name, r.id),
            name=r.name,
            rank=r.rank,
            score=r.score,
            unranked_reason=r.unranked,
            figures=StatisticsFigures.from_figures(r.figures),
        )


@strawberry.type(description="A rate's weight in the composite score.")
class ScoreWeight:
    rate: str
    weight: float


def _weights(weights: dict[str, float]) -> list[ScoreWeight]:
    return [ScoreWeight(rate=k, weight=w) for k, w in sorted(weights.items())]


@strawberry.type(
    description="Call-center figures (docs/statistics.md, Calls): rates 0–1, times in seconds."
)
class CallFigures:
    offered: int = strawberry.field(description="Calls queued for a seat (all but IVR-only).")
    answered: int
    abandoned: int
    overflow: int
    ivr: int = strawberry.field(description="Calls served by the voice menu alone.")
    connection_rate: float | None = strawberry.field(description="answered / offered.")
    abandon_rate: float | None = strawberry.field(description="abandoned / offered.")
    average_speed_of_answer: float | None = strawberry.field(
        description="Mean seconds from the call's start to its answer, over answered calls."
    )
    average_handle_time: float | None = strawberry.field(
        description="Mean seconds from answer to end, over answered calls that ended."
    )

    @classmethod
    def from_figures(cls, f: calls.CallFigures) -> Self:
        t = f.totals
        return cls(
            offered=t.offered,
            answered=t.answered,
            abandoned=t.abandoned,
            overflow=t.overflow,
            ivr=t.ivr,
            connection_rate=f.connection_rate,
            abandon_rate=f.abandon_rate,
            average_speed_of_answer=f.average_speed_of_answer,
            average_handle_time=f.average_handle_time,
        )


@strawberry.type(description="The call figures of one day, queue or seat group.")
class CallGroup:
    key: str = strawberry.field(description="The day (ISO), queue or seat group ('' = none).")
    figures: CallFigures


def _groups(groups: list[tuple[str, calls.CallFigures]]) -> list[CallGroup]:
    return [CallGroup(key=k, figures=CallFigures.from_figures(f)) for k, f in groups]


@strawberry.type(description="The call center's figures of a period, whole and broken down.")
class CallStatistics:
    figures: CallFigures
    by_day: list[CallGroup]
    by_queue: list[CallGroup]
    by_seat_group: list[CallGroup]

    @classmethod
    def from_report(cls, r: calls.CallReport | None) -> Self | None:
        if r is None:
            return None
        return cls(
            figures=CallFigures.from_figures(r.figures),
            by_day=_groups(r.by_day),
            by_queue=_groups(r.by_queue),
            by_seat_group=_groups(r.by_seat_group),
        )


@strawberry.type(description="A city's figures over a period, whole or one department subtree.")
class CityStatistics:
    first: date = strawberry.field(name="from")
    last: date = strawberry.field(name="to")
    department_id: relay.GlobalID | None
    figures: StatisticsFigures
    department_ranking: list[RankedFigures]
    weights: list[ScoreWeight]
    calls: CallStatistics | None = strawberry.field(
        description="The call center's figures (null for a department subtree)."
    )

    @classmethod
    def from_report(cls, r: dashboard.CityReport) -> Self:
        return cls(
            first=r.first,
            last=r.last,
            department_id=None
            if r.department_id is None
            else encode_id("Department", r.department_id),
            figures=StatisticsFigures.from_figures(r.figures),
            department_ranking=[RankedFigures.from_ranked(d, "Department") for d in r.departments],
            weights=_weights(r.weights),
            calls=CallStatistics.from_report(r.calls),
        )


@strawberry.type(description="Every city of the province over a period, and their ranking.")
class ProvinceStatistics:
    first: date = strawberry.field(name="from")
    last: date = strawberry.field(name="to")
    figures: StatisticsFigures
    city_ranking: list[RankedFigures]
    weights: list[ScoreWeight]
    calls: CallStatistics | None

    @classmethod
    def from_report(cls, r: dashboard.ProvinceReport) -> Self:
        return cls(
            first=r.first,
            last=r.last,
            figures=StatisticsFigures.from_figures(r.figures),
            city_ranking=[RankedFigures.from_ranked(c, "Tenant") for c in r.cities],
            weights=_weights(r.weights),
            calls=CallStatistics.from_report(r.calls),
        )


@strawberry.type(description="A category's tickets this week and the week before.")
class TopCategory:
    category_id: relay.GlobalID | None
    name: str
    count: int
    previous_count: int


@strawberry.type(description="A term's tickets this week and the week before.")
class RisingTerm:
    term: str
    count: int
    previous_count: int
    growth: float = strawberry.field(description="(count + 1) / (previousCount + 1).")


@strawberry.type(description="Hot topics of a week (docs/statistics.md, Hot topics).")
class HotTopics:
    first: date = strawberry.field(name="from")
    last: date = strawberry.field(name="to")
    top_categories: list[TopCategory]
    rising_terms: list[RisingTerm]

    @classmethod
    def from_topics(cls, t: topics.HotTopics) -> Self:
        return cls(
            first=t.first,
            last=t.last,
            top_categories=[
                TopCategory(
                    category_id=None
                    if c.category_id is None
                    else encode_id("Category", c.category_id),
                    name=c.name,
                    count=c.count,
                    previous_count=c.previous,
                )
                for c in t.categories
            ],
            rising_terms=[
                RisingTerm(term=r.term, count=r.count, previous_count=r.previous, growth=r.growth)
                for r in t.rising
            ],
        )
