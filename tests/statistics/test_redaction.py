"""Published cases carry no personal data: names, 11-digit mobiles, 18-digit ID
numbers, exact addresses, plates, e-mails — checked on hand-written texts and on
generated ones (hypothesis), with the patterns that must not survive."""

from __future__ import annotations

import re

from hypothesis import example, given, settings
from hypothesis import strategies as st

from hotline.tenants.statistics.redaction import coarse_address, redact

MOBILE = re.compile(r"1[3-9]\d{9}")
ID_NUMBER = re.compile(r"\d{17}[\dXx]")
PLATE = re.compile(r"[鲁京沪苏][A-Z][A-Z0-9]{5}")
HOUSE = re.compile(r"\d+(号楼|号|单元|室|栋)")


def _clean(text: str) -> None:
    digits = re.sub(r"[\s-]", "", text)
    assert not MOBILE.search(digits), text
    assert not ID_NUMBER.search(digits), text
    assert not PLATE.search(text), text
    assert not HOUSE.search(text), text
    assert not re.search(r"\d{7,}", digits), text


def test_a_complaint_by_hand() -> None:
    text = (
        "市民张三（身份证370102199003071234，手机138 1234 5678，另一号码+86-139-0000-1111）"
        "反映历下区泉城路1号3单元502室楼下鲁A12345长期占用消防通道，邻居王女士也多次反映；"
        "我叫李小明，座机0531-86012345，邮箱zhangsan@example.com，新能源车鲁AD12345。"
    )
    out = redact(text, names=["张三"], addresses=["历下区泉城路1号3单元502室"])
    for gone in (
        "张三",
        "370102199003071234",
        "5678",
        "1111",
        "泉城路1号",
        "鲁A12345",
        "鲁AD12345",
        "王女士",
        "李小明",
        "86012345",
        "zhangsan@",
    ):
        assert gone not in out, (gone, out)
    _clean(out)
    assert "占用消防通道" in out  # the substance stays
    assert "[身份证号]" in out
    assert "[电话]" in out
    assert "[车牌]" in out


def test_addresses_keep_the_road_but_not_the_house() -> None:
    assert coarse_address("历下区泉城路1号3单元502室") == "历下区泉城路*号*单元*室"
    out = redact("阳光小区5号楼2单元门口垃圾堆积")
    assert out == "阳光小区*号楼*单元门口垃圾堆积"


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.from_regex(r"1[3-9]\d{9}", fullmatch=True),
            st.from_regex(
                r"[1-6]\d{5}(19|20)\d{2}(0[1-9]|1[0-2])[0-2]\d\d{3}[\dX]", fullmatch=True
            ),
            st.from_regex(r"[鲁京沪苏][A-HJ-NP-Z][A-HJ-NP-Z0-9]{5}", fullmatch=True),
            st.from_regex(r"[一-龥]{2,4}路\d{1,4}号(\d{1,2}单元)?(\d{3,4}室)?", fullmatch=True),
            st.sampled_from(["反映", "噪音扰民", "，", "。", "路灯不亮", " ", "小区门口", "电话"]),
        ),
        max_size=12,
    )
)
# found by hypothesis: seven digits split by a space, next to other digits
@example(["一一路1号", "370102199003071234", "٠000 1000٠", "370102199003071234"])
def test_generated_texts_lose_every_pattern(parts: list[str]) -> None:
    _clean(redact("".join(parts)))
