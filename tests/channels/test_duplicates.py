"""The duplicate detector's rule on a hand-built set of pairs: every pair it proposes
must be a real repeat (precision 1.0 on the set), and it must find most of them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hotline.tenants.channels.duplicates import SAME_CALLER, SAME_PLACE, Facts, reason
from hotline.tenants.channels.pipeline import Submission, idempotency_key, normalize
from hotline.tenants.tickets.models import Channel

NOW = datetime(2026, 11, 30, 9, tzinfo=UTC)
CALLER, OTHER = "a" * 64, "b" * 64
LIGHTS, WATER = 11, 12
LIXIA, SHIZHONG = 101, 102
# Quancheng Square and a point ~60 m away; Baotu Spring ~1.2 km away.
SQUARE = (117.0201, 36.6612)
NEAR = (117.0207, 36.6615)
SPRING = (117.0125, 36.6617)


def facts(
    id: int,
    *,
    ago: timedelta = timedelta(hours=1),
    is_open: bool = True,
    phone: str | None = None,
    category: int | None = LIGHTS,
    area: int | None = None,
    address: str = "",
    at: tuple[float, float] | None = None,
) -> Facts:
    return Facts(
        id=id,
        received_at=NOW - ago,
        is_open=is_open,
        phone_hash=phone,
        category_id=category,
        area_id=area,
        address=address,
        lng=at[0] if at else None,
        lat=at[1] if at else None,
    )


NEW = facts(0, ago=timedelta(0), phone=CALLER, at=SQUARE, area=LIXIA)
NEW_NO_COORDS = facts(0, ago=timedelta(0), address="泉城路 1号", area=LIXIA)
# (new, old, is it really a repeat?) — labels by hand
CASES: list[tuple[Facts, Facts, bool]] = [
    (NEW, facts(1, phone=CALLER, category=WATER), True),  # the same caller, again
    (NEW, facts(2, phone=OTHER, at=NEAR), True),  # a neighbour, same lamp
    (NEW, facts(3, at=NEAR, category=WATER), False),  # same place, another problem
    (NEW, facts(4, at=SPRING), False),  # same problem, 1.2 km away
    (NEW, facts(5, phone=CALLER, is_open=False), False),  # the caller's closed ticket
    (NEW, facts(6, phone=CALLER, ago=timedelta(days=30)), False),  # long ago
    (NEW, facts(7, at=NEAR, ago=timedelta(days=8)), False),  # outside the window
    (NEW, facts(8, area=LIXIA, address="经十路88号"), False),  # written elsewhere, no coords
    (NEW_NO_COORDS, facts(9, address="泉城路1号"), True),  # same written address
    (NEW_NO_COORDS, facts(10, address="泉城路3号"), False),
    (NEW_NO_COORDS, facts(11, area=LIXIA, category=WATER), False),
    (facts(0, ago=timedelta(0), area=LIXIA), facts(12, area=LIXIA), True),  # only areas
    (facts(0, ago=timedelta(0), area=LIXIA), facts(13, area=SHIZHONG), False),
    (NEW, NEW, False),  # itself
    (NEW, facts(14, ago=-timedelta(hours=1), at=NEAR), False),  # a later ticket
]


def test_precision_and_recall_on_the_hand_built_set() -> None:
    proposed = [(old.id, truth) for new, old, truth in CASES if reason(new, old) is not None]
    true_positives = sum(truth for _, truth in proposed)
    precision = true_positives / len(proposed)
    recall = true_positives / sum(truth for *_, truth in CASES)
    assert precision == 1.0, proposed
    assert recall == 1.0


def test_the_reason_is_named() -> None:
    assert reason(NEW, CASES[0][1]) == SAME_CALLER
    assert reason(NEW, CASES[1][1]) == SAME_PLACE


def test_normalize_keeps_the_citizens_punctuation() -> None:
    """Full-width punctuation is what the citizen wrote (NFKC turned ，into ,); full-width
    digits and letters still fold to ASCII."""
    s = normalize(
        Submission(
            channel=Channel.PHONE,
            external_id=None,
            content="新湖大街夜间施工噪音扰民，已持续一周！（３号楼ＡＢ单元）",
            title="噪音：夜间施工？",
            address="德城区新湖大街１２号",
        )
    )
    assert s.content == "新湖大街夜间施工噪音扰民，已持续一周！（3号楼AB单元）"
    assert s.title == "噪音：夜间施工？"
    assert s.address == "德城区新湖大街12号"


def test_normalize_and_keys() -> None:
    s = normalize(
        Submission(
            channel=Channel.SMS,
            external_id="  m1 ",
            content="  路灯　坏了\n\n  ２号楼 ",
            citizen_phone=" ",
        )
    )
    assert (s.external_id, s.content, s.citizen_phone) == ("m1", "路灯 坏了\n2号楼", None)
    assert idempotency_key(Channel.SMS, "m1") == "sms:m1"
    long_key = idempotency_key(Channel.EMAIL, "x" * 150)
    assert len(long_key) <= 100
    assert long_key.startswith("email:sha256:")
