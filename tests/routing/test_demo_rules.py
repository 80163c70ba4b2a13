"""The demo cities' keyword rules (seed/routing_demo.py), without a database: the
keywords-alone rules are tried in the tree's order at one priority (100), so the first
category whose keyword the text holds is the suggestion. A school enrolment question
that mentions 户口 is the education bureau's, not the police's."""

from __future__ import annotations

import pytest

from hotline.tenants.seed import routing_demo


def _first_keyword_category(text: str) -> str | None:
    for cat in routing_demo._walk(routing_demo.CATEGORIES):
        if cat.departments and any(k in text for k in cat.keywords):
            return cat.name
    return None


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("孩子明年上小学，想问一下户口不在本区能不能报名", "招生入学"),
        ("户籍不在这里，孩子上初中要准备什么材料", "招生入学"),
        ("想把户口迁移到济南，需要什么手续", "户籍与证件"),
        ("身份证丢了怎么补办", "户籍与证件"),
        ("孩子刚出生，上户口要带什么", "户籍与证件"),
    ],
)
def test_keyword_rules_tell_school_enrolment_from_residence_records(
    text: str, category: str
) -> None:
    assert _first_keyword_category(text) == category
