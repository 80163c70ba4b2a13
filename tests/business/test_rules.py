"""The registry's pure rules: USCC check characters, the industry table, the national
size classes and row validation."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotline.tenants.business.models import EnterpriseStatus, SizeClass
from hotline.tenants.business.rows import BadFile, EnterpriseRow, Rejected, decode, validate
from hotline.tenants.business.rules import (
    industries,
    industry,
    make_uscc,
    normalize_uscc,
    size_class,
)
from hotline.tenants.kernel.errors import Invalid

VALID = "91110000600037341L"  # a published code (Beijing)
_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def test_a_published_uscc_is_valid_and_normalized() -> None:
    assert normalize_uscc(VALID) == VALID
    assert normalize_uscc(" 9111 0000 6000 3734 1l ".replace(" ", "")) == VALID


@pytest.mark.parametrize(
    "bad", ["91110000600037341A", "91110000600037341", "", "9111000060003734IL"]
)
def test_a_corrupted_uscc_is_refused(bad: str) -> None:
    with pytest.raises(Invalid) as raised:
        normalize_uscc(bad)
    assert raised.value.field == "uscc"


@given(st.text(alphabet=_CHARS, min_size=8, max_size=8), st.sampled_from(["370100", "320100"]))
def test_made_codes_validate_and_any_changed_check_character_fails(org: str, region: str) -> None:
    code = make_uscc(f"91{region}{org}{org[0]}")
    assert normalize_uscc(code) == code
    for other in _CHARS:
        if other != code[-1]:
            with pytest.raises(Invalid):
                normalize_uscc(code[:-1] + other)


def test_industry_table_has_every_gbt_4754_2017_division() -> None:
    table = industries()
    assert len(table) == 97
    assert {i.section for i in table.values()} == set("ABCDEFGHIJKLMNOPQRST")
    assert industry("65").name_zh == "软件和信息技术服务业"
    assert industry("65").section == "I"
    with pytest.raises(Invalid):
        industry("99")


@pytest.mark.parametrize(
    ("division", "employees", "revenue_wan", "expected"),
    [
        ("39", 1000, 40000, SizeClass.LARGE),  # industry: both bounds of large
        ("39", 999, 40000, SizeClass.MEDIUM),
        ("39", 300, 2000, SizeClass.MEDIUM),
        ("39", 20, 300, SizeClass.SMALL),
        ("39", 19, 50000, SizeClass.MICRO),  # either figure below small's bound
        ("52", 50, 500, SizeClass.MEDIUM),  # retail
        ("52", 9, 100, SizeClass.MICRO),
        ("65", 10, 50, SizeClass.SMALL),  # software
        ("01", None, 20000, SizeClass.LARGE),  # agriculture: revenue only
        ("72", 300, None, SizeClass.LARGE),  # business services: employees (no assets)
        ("83", 99, None, SizeClass.SMALL),  # other industries: employees
        ("39", 500, None, None),  # a needed figure unknown
    ],
)
def test_size_classes_follow_the_2017_rule(
    division: str, employees: int | None, revenue_wan: int | None, expected: SizeClass | None
) -> None:
    revenue = None if revenue_wan is None else Decimal(revenue_wan) * 10000
    assert size_class(division, employees=employees, revenue=revenue) is expected


HEADER = [
    "统一社会信用代码",
    "企业名称",
    "法定代表人",
    "行业代码",
    "从业人数",
    "营业收入",
    "所属区域",
    "注册资本",
    "成立日期",
    "经营状态",
    "标签",
]


def _rows(*data: list[str]) -> list[EnterpriseRow | Rejected]:
    return list(validate([HEADER, *data], areas={"历下区": 7}, today=date(2026, 11, 30)))


def test_rows_validated_with_reasons() -> None:
    good = make_uscc("91370100MA0000001")
    results = _rows(
        [
            good,
            "泉城软件有限公司",
            "张三",
            "65",
            "120",
            "30000000",
            "历下区",
            "5000000",
            "2015-03-05",
            "存续",
            "高新技术;专精特新",
        ],
        [
            good[:-1] + ("0" if good[-1] != "0" else "1"),
            "坏码公司",
            "",
            "65",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
        ],
        [make_uscc("91370100MA0000002"), "未知行业", "", "99", "", "", "", "", "", "", ""],
        [good, "重复", "", "65", "", "", "", "", "", "", ""],
        [make_uscc("91370100MA0000003"), "长" * 201, "", "65", "", "", "", "", "", "", ""],
        [make_uscc("91370100MA0000004"), "未来", "", "65", "", "", "", "", "2099-01-01", "", ""],
        [make_uscc("91370100MA0000005"), "没区", "", "65", "", "", "槐荫区", "", "", "", ""],
    )
    first = results[0]
    assert isinstance(first, EnterpriseRow)
    assert first.size_class is SizeClass.MEDIUM  # software: 120 people, 30 million yuan
    assert first.area_id == 7
    assert first.status is EnterpriseStatus.ACTIVE
    assert first.tags == ("高新技术", "专精特新")
    assert first.registered_capital == Decimal("5000000.00")
    reasons = [(r.line, r.field, r.reason) for r in results[1:] if isinstance(r, Rejected)]
    assert reasons == [
        (3, "uscc", "not a valid unified social credit code"),
        (4, "industry", "unknown industry 99 (a GB/T 4754-2017 division)"),
        (5, "uscc", "duplicate of row 2"),
        (6, "name", "the name must be 1-200 characters"),
        (7, "foundedOn", "the founding date is in the future"),
        (8, "area", "unknown area 槐荫区"),
    ]


def test_missing_required_column_is_a_bad_file() -> None:
    with pytest.raises(BadFile):
        list(validate([["企业名称", "行业代码"], ["x", "65"]], areas={}, today=date(2026, 1, 1)))


def test_csv_encodings() -> None:
    text = "统一社会信用代码,企业名称\n"
    assert decode(text.encode("utf-8")) == (text, "utf-8")
    assert decode(b"\xef\xbb\xbf" + text.encode("utf-8")) == (text, "utf-8")
    assert decode(text.encode("gbk")) == (text, "gbk")


@given(
    st.text(alphabet="0123456789", min_size=8, max_size=8),
    st.text(alphabet=_CHARS + "IOSVZ", min_size=10, max_size=10),
)
def test_the_canonical_fast_path_agrees_with_stdnum(head: str, tail: str) -> None:
    from stdnum.cn import uscc

    code = head + tail
    try:
        ours = normalize_uscc(code) == code
    except Invalid:
        ours = False
    assert ours == uscc.is_valid(code)
