"""Urgent matters that go to the duty room at once, whatever a model says (pure).

Four kinds a 12345 center dispatches immediately: a gas leak, fallen or sparking power
lines, a missing manhole cover, people trapped. Each is a pair of word lists that must
both occur (the thing and what is wrong with it) or one unambiguous phrase; a request
about a gas *bill* or a *noisy* cover does not qualify. Recall is measured on the
corpus's own held-out set (``corpus/urgent_heldout.jsonl``, tests/routing).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    kind: str
    phrases: tuple[str, ...] = ()  # any one of these alone
    things: tuple[str, ...] = ()  # …or one of these together with one of
    states: tuple[str, ...] = ()  # these, within the same sentence


RULES: tuple[Rule, ...] = (
    Rule(
        "gas_leak",
        phrases=("煤气味", "燃气味", "天然气味", "液化气味"),
        things=("燃气", "煤气", "天然气", "液化气", "气罐", "燃气管"),
        states=(
            "泄漏",
            "漏气",
            "泄露",
            "漏了",
            "往外冒",
            "嘶嘶",
            "挖断",
            "关不上",
            "味儿大",
            "臭鸡蛋味",
            "气味",
        ),
    ),
    Rule(
        "fallen_wires",
        things=("电线", "电缆", "高压线", "电线杆", "变压器"),
        states=(
            "断落",
            "掉在地上",
            "掉下来",
            "耷拉到地上",
            "落地",
            "刮断",
            "火花",
            "着火",
            "带电",
            "在往下掉",
            "搭在",
        ),
    ),
    Rule(
        "missing_manhole_cover",
        phrases=("井盖没了", "井盖丢失", "没有井盖", "井盖被偷", "井盖丢了"),
        things=("井盖", "井口", "窨井", "检查井", "污水井", "雨水井"),
        states=(
            "没了",
            "丢失",
            "丢了",
            "被偷",
            "偷走",
            "缺失",
            "碎了",
            "翻了",
            "冲走",
            "一个洞",
            "大洞",
            "敞着",
        ),
    ),
    Rule(
        "people_trapped",
        phrases=(
            "被困",
            "困在",
            "困着",
            "出不去了",
            "压着人",
            "掉下去了",
            "上不来",
            "还在屋里",
            "车里还有人",
            "里面还有人",
        ),
        things=("电梯",),
        states=("困", "出不来", "关在里面"),
    ),
)
_SENTENCES = re.compile(r"[。！？!?；;\n]")
# A sentence about what might happen or happened before is not an emergency now.
_NOT_NOW = ("会不会", "万一", "担心", "困过", "多次困", "去年", "上次", "以前")


def detect(text: str) -> str | None:
    """The urgent kind of ``text`` (gas_leak, fallen_wires, missing_manhole_cover,
    people_trapped), or None."""
    for sentence in _SENTENCES.split(text):
        if any(word in sentence for word in _NOT_NOW):
            continue
        for rule in RULES:
            if any(p in sentence for p in rule.phrases):
                return rule.kind
            if any(t in sentence for t in rule.things) and any(s in sentence for s in rule.states):
                return rule.kind
    return None
