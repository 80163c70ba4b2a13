"""Redaction of a case's text before it is published (docs/statistics.md, "Public
disclosure"): pure functions, no database.

What goes: 18-digit resident ID numbers, mobile and landline numbers, e-mail addresses,
vehicle plates, house numbers of addresses (the road or community stays: "泉城路1号3单元
502室" → "泉城路*号*单元*室"), the citizen's own name and address wherever they appear,
names given with a title or an introduction (张先生, 王女士, 我叫李明, 姓名：赵六), and
any remaining run of seven or more digits. Each rule replaces with a marker, never with
an empty string, so the sentence still reads.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

ID_MARK = "[身份证号]"
PHONE_MARK = "[电话]"
EMAIL_MARK = "[邮箱]"
PLATE_MARK = "[车牌]"
NAME_MARK = "某某"
ADDRESS_MARK = "[地址]"

_CJK = "\u4e00-\u9fff"
# 18-digit resident identity numbers (the last may be X), and 15-digit old ones
_ID = re.compile(r"(?<![0-9A-Za-z])(?:\d{17}[\dXx]|\d{15})(?![0-9A-Za-z])")
# mobiles: 1[3-9]x xxxx xxxx, with +86 / 0086 and spaces or dashes between groups
_MOBILE = re.compile(r"(?<!\d)(?:(?:\+|00)?86[\s-]?)?1[3-9]\d(?:[\s-]?\d{4}){2}(?!\d)")
# landlines: 0531-86012345, (0531)86012345, 053186012345; extensions too
_LANDLINE = re.compile(
    r"(?<!\d)(?:\(?0\d{2,3}\)?[\s-]?)?[2-9]\d{6,7}(?:[\s-]?(?:转|ext)\d{1,6})?(?!\d)"
)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# plates: province abbreviation + letter + 5 (or 6, new energy) letters/digits
_PLATE = re.compile(
    r"[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼使领]"
    r"\s?[A-HJ-NP-Za-hj-np-z][\s·•.-]?[A-HJ-NP-Za-hj-np-z0-9]{5,6}"
)
# house numbers: digits (or Chinese numerals) before an address unit
_HOUSE = re.compile(
    r"(?:\d+|[一二三四五六七八九十百零〇]+)(?:-\d+)*\s*"
    r"(?=号楼|号院|号|栋|幢|单元|室|户|层|楼|弄|巷|排|组)"
)
_TITLED = re.compile(rf"[{_CJK}](?=先生|女士|小姐|师傅|阿姨|大爷|大妈|大姐|大哥|老师)")
_INTRODUCED = re.compile(
    rf"(我叫|我是|本人|名叫|姓名[:：]?|联系人[:：]?|户主[:：]?|业主)\s*[{_CJK}]{{2,3}}"
)
# seven digits or more, however spaced or hyphenated ("0001 000", "86-01-2345"): a number
_LONG_DIGITS = re.compile(r"\d(?:[\s-]?\d){6,}")


def _names(text: str, names: Iterable[str]) -> str:
    for name in sorted({n.strip() for n in names if n and len(n.strip()) >= 2}, key=len):
        text = text.replace(name, NAME_MARK)
        # the family name with a title: 张先生 for 张三
        text = re.sub(
            re.escape(name[0]) + r"(?=先生|女士|小姐|师傅|阿姨|大爷|大妈|老师)", "某", text
        )
    return text


def redact(text: str, *, names: Iterable[str] = (), addresses: Iterable[str] = ()) -> str:
    """``text`` without personal data; ``names`` and ``addresses`` are the case's own
    (the citizen's name, the ticket's address), removed wherever they appear."""
    out = text
    for address in sorted({a.strip() for a in addresses if a and len(a.strip()) >= 4}, key=len):
        out = out.replace(address, ADDRESS_MARK)
    out = _names(out, names)
    out = _EMAIL.sub(EMAIL_MARK, out)
    out = _ID.sub(ID_MARK, out)
    out = _MOBILE.sub(PHONE_MARK, out)
    out = _PLATE.sub(PLATE_MARK, out)
    out = _LANDLINE.sub(PHONE_MARK, out)
    out = _INTRODUCED.sub(lambda m: m.group(1) + NAME_MARK, out)
    out = _TITLED.sub("某", out)
    out = _HOUSE.sub("*", out)
    return _LONG_DIGITS.sub("*", out)


def coarse_address(address: str) -> str:
    """An address without its house numbers (what a published case may show)."""
    return _HOUSE.sub("*", address)
