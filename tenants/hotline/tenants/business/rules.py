"""Pure rules of the registry: USCC (GB 32100-2015), GB/T 4754-2017 industries and the
national size classes (docs/business.md, "Size classes"). No database here."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from importlib.resources import files

from stdnum.cn import uscc as stdnum_uscc
from stdnum.exceptions import ValidationError

from hotline.tenants.business.models import SizeClass
from hotline.tenants.kernel.errors import Invalid

_CANONICAL = re.compile(r"^\d{8}[0-9A-HJ-NPQRTUWXY]{10}$")  # stdnum's format check


def normalize_uscc(text: str) -> str:
    """The canonical 18-character USCC, or Invalid on ``uscc`` (bad length, characters
    or check character). A code already in canonical form (what registry exports hold)
    only has its check character computed; anything else is cleaned by stdnum first."""
    if _CANONICAL.match(text):
        if str(stdnum_uscc.calc_check_digit(text[:-1])) == text[-1]:
            return text
        raise Invalid("not a valid unified social credit code", field="uscc")
    try:
        return str(stdnum_uscc.validate(text))
    except ValidationError as exc:
        raise Invalid("not a valid unified social credit code", field="uscc") from exc


def make_uscc(body: str) -> str:
    """``body`` (17 characters) with its check character: demo data and tests."""
    return body + str(stdnum_uscc.calc_check_digit(body))


@dataclass(frozen=True)
class Industry:
    section: str
    division: str
    name_zh: str
    name_en: str


@cache
def industries() -> dict[str, Industry]:
    """GB/T 4754-2017 divisions by code ("65"), shipped as ``industries.csv``."""
    text = files("hotline.tenants.business").joinpath("industries.csv").read_text("utf-8")
    rows = csv.DictReader(io.StringIO(text))
    return {
        r["division"]: Industry(r["section"], r["division"], r["name_zh"], r["name_en"])
        for r in rows
    }


def industry(code: str, *, field: str = "industry") -> Industry:
    found = industries().get(code.strip())
    if found is None:
        raise Invalid("unknown industry {code} (a GB/T 4754-2017 division)", field=field, code=code)
    return found


# 统计上大中小微型企业划分办法 (2017): per industry group, the lower bounds of large,
# medium and small as (employees, revenue in 10,000 yuan); None = not a criterion.
# Where the rule names total assets (construction, real estate, leasing and business
# services), the registry holds none, so only the other criterion is used.
Bound = tuple[int | None, int | None]
_BOUNDS: dict[str, tuple[Bound, Bound, Bound]] = {
    "agriculture": ((None, 20000), (None, 500), (None, 50)),
    "industry": ((1000, 40000), (300, 2000), (20, 300)),
    "construction": ((None, 80000), (None, 6000), (None, 300)),
    "wholesale": ((200, 40000), (20, 5000), (5, 1000)),
    "retail": ((300, 20000), (50, 500), (10, 100)),
    "transport": ((1000, 30000), (300, 3000), (20, 200)),
    "storage": ((200, 30000), (100, 1000), (20, 100)),
    "postal": ((1000, 30000), (300, 2000), (20, 100)),
    "hospitality": ((300, 10000), (100, 2000), (10, 100)),
    "telecom": ((2000, 100000), (100, 1000), (10, 100)),
    "software": ((300, 10000), (100, 1000), (10, 50)),
    "real_estate": ((None, 200000), (None, 1000), (None, 100)),
    "leasing": ((300, None), (100, None), (10, None)),
    "other": ((300, None), (100, None), (10, None)),
}
_GROUP_OF_SECTION = {"A": "agriculture", "B": "industry", "C": "industry", "D": "industry"}
_GROUP_OF_DIVISION = {
    **{d: "construction" for d in ("47", "48", "49", "50")},
    "51": "wholesale",
    "52": "retail",
    **{d: "transport" for d in ("53", "54", "55", "56", "57", "58")},
    "59": "storage",
    "60": "postal",
    "61": "hospitality",
    "62": "hospitality",
    "63": "telecom",
    "64": "telecom",
    "65": "software",
    "70": "real_estate",
    "71": "leasing",
    "72": "leasing",
}


def size_group(division: str) -> str:
    found = industry(division)
    return _GROUP_OF_DIVISION.get(division) or _GROUP_OF_SECTION.get(found.section, "other")


def _meets(bound: Bound, employees: int | None, revenue_wan: Decimal | None) -> bool | None:
    """Whether both criteria reach ``bound``; None when a needed figure is unknown."""
    for limit, value in ((bound[0], employees), (bound[1], revenue_wan)):
        if limit is None:
            continue
        if value is None:
            return None
        if value < limit:
            return False
    return True


def size_class(
    division: str, *, employees: int | None, revenue: Decimal | None
) -> SizeClass | None:
    """Large, medium or small when every criterion of the group reaches that class's lower
    bound; micro when one falls below the small bound; None when a needed figure is
    missing (revenue in yuan a year)."""
    large, medium, small = _BOUNDS[size_group(division)]
    revenue_wan = None if revenue is None else revenue / 10000
    for klass, bound in (
        (SizeClass.LARGE, large),
        (SizeClass.MEDIUM, medium),
        (SizeClass.SMALL, small),
    ):
        met = _meets(bound, employees, revenue_wan)
        if met is None:
            return None
        if met:
            return klass
    return SizeClass.MICRO
