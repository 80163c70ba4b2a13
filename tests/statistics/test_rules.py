"""The pure parts: the composite score and the ranking-weights setting's validation."""

from __future__ import annotations

import pytest

from hotline.tenants.kernel.errors import Invalid
from hotline.tenants.provinces.settings import CitySettings, _validated
from hotline.tenants.statistics.metrics import Totals, Unranked, figures, p90, score, unranked


def test_p90_is_the_nearest_rank() -> None:
    assert p90([]) is None
    assert p90([5]) == 5
    # ten values: ceil(9) = 9th → 9; eleven values: ceil(9.9) = 10th → 10
    assert p90(list(range(1, 11))) == 9
    assert p90(list(range(11, 0, -1))) == 10


def test_score_weighs_only_defined_rates() -> None:
    # 3 of 4 signed on time (0.75), nothing graded (satisfaction undefined, drops out)
    f = figures(Totals(signed=4, signed_on_time=3, cohort_valid=2, cohort_completed=1))
    assert score(f, {"signed_on_time": 1, "satisfaction": 3}) == 75.0
    # (1·0.75 + 2·0.5) / 3 · 100
    assert score(f, {"signed_on_time": 1, "completion": 2, "satisfaction": 3}) == pytest.approx(
        175 / 3
    )
    assert score(f, {"satisfaction": 3}) is None
    assert score(f, {"signed_on_time": 0, "completion": 1}) == 50.0


def test_an_unscored_entry_says_why() -> None:
    weights = {"signed_on_time": 1, "satisfaction": 3}
    assert unranked(figures(Totals(signed=4, signed_on_time=3)), weights) is None
    # work in the period, but nothing signed or graded yet: no weighted rate is defined
    assert unranked(figures(Totals(received=2, dispatched=2)), weights) is (
        Unranked.NOTHING_TO_SCORE
    )
    assert unranked(figures(Totals()), weights) is Unranked.NO_WORK_ORDERS


def test_ranking_weights_are_validated() -> None:
    assert CitySettings().ranking_weights["satisfaction"] == 3.0
    assert _validated({"ranking_weights": {"completion": 1}}) == {
        "ranking_weights": {"completion": 1.0}
    }
    for bad in ({"bogus": 1}, {"completion": -1}, {"completion": 0}, {"completion": 101}):
        with pytest.raises(Invalid):
            _validated({"ranking_weights": bad})
