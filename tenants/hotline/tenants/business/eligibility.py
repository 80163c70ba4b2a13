"""Eligibility rules as data (docs/business.md, "Policies"): parsed once, then compiled
to SQL ("which enterprises qualify") and evaluated in Python ("why / why not") — the
two agree (tests/business/test_eligibility.py checks it over random enterprises and
rules). Pure: no database. The three forms of one rule language stay in one module so
they cannot drift apart, hence over 400 lines.

A rule is a group ``{"op": "all"|"any", "conditions": [...]}``; a condition is another
group or one of::

    {"industry_in": ["65", "C"]}          GB/T 4754-2017 divisions or sections
    {"size_in": ["small", "micro"]}       size classes
    {"area_in": [12, 40]}                 department ids: their subtrees
    {"age_years": {"min": 1, "max": 5}}   whole years since founding (either bound)
    {"capital": {"min": "5000000"}}       registered capital in yuan (either bound)
    {"tags_any": ["高新技术"]}  {"tags_all": ["专精特新", "高新技术"]}

An unknown figure (no founding date, no capital, no size class, no area) never meets a
condition. An empty ``all`` holds for everyone; an empty ``any`` for no one.

Over 400 lines on purpose: each condition's parsing, SQL and Python decisions stay in
one module so a change to one is seen beside the others it must agree with.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any

from hotline.tenants.business.models import SizeClass
from hotline.tenants.business.rules import industries
from hotline.tenants.kernel.errors import Invalid

MAX_CONDITIONS = 50
MAX_DEPTH = 4
MAX_VALUES = 100


@dataclass(frozen=True)
class IndustryIn:
    codes: tuple[str, ...]


@dataclass(frozen=True)
class SizeIn:
    classes: tuple[SizeClass, ...]


@dataclass(frozen=True)
class AreaIn:
    department_ids: tuple[int, ...]
    paths: tuple[str, ...]


@dataclass(frozen=True)
class Age:
    min_years: int | None
    max_years: int | None


@dataclass(frozen=True)
class Capital:
    min_yuan: Decimal | None
    max_yuan: Decimal | None


@dataclass(frozen=True)
class Tags:
    tags: tuple[str, ...]
    every: bool  # all of them (tags_all) or any (tags_any)


@dataclass(frozen=True)
class Group:
    every: bool  # all / any
    items: tuple[Condition, ...]


Condition = IndustryIn | SizeIn | AreaIn | Age | Capital | Tags | Group


@cache
def _known_codes() -> frozenset[str]:
    """Every division and section code an industry condition may name."""
    return frozenset(industries()) | {i.section for i in industries().values()}


def area_ids(data: Any) -> set[int]:
    """The department ids a rule names (to look their paths up before :func:`parse`)."""
    found: set[int] = set()
    if isinstance(data, dict):
        if isinstance(data.get("area_in"), list):
            found.update(i for i in data["area_in"] if isinstance(i, int))
        for item in data.get("conditions") or []:
            found |= area_ids(item)
    return found


def _list(value: Any, key: str) -> list[Any]:
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_VALUES:
        raise Invalid(
            "{key} takes a list of 1 to {max} values", field="rules", key=key, max=MAX_VALUES
        )
    return value


def _bound_int(value: Any, key: str) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 200:
        raise Invalid("{key} bounds are whole numbers 0-200", field="rules", key=key)
    return value


def _bound_money(value: Any) -> Decimal | None:
    if value is None:
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise Invalid("capital bounds are amounts in yuan", field="rules") from None
    if not amount.is_finite() or amount < 0 or amount >= Decimal("1e17"):
        raise Invalid("capital bounds are amounts in yuan", field="rules")
    return amount


def _leaf(data: dict[str, Any], paths: Mapping[int, str]) -> Condition:
    if len(data) != 1:
        raise Invalid("a condition has exactly one key", field="rules")
    key, value = next(iter(data.items()))
    if key == "industry_in":
        codes = tuple(str(c).strip().upper() for c in _list(value, key))
        known = _known_codes()
        unknown = [c for c in codes if c not in known]
        if unknown:
            raise Invalid(
                "unknown industry {code} (a GB/T 4754-2017 division)",
                field="rules",
                code=unknown[0],
            )
        return IndustryIn(codes)
    if key == "size_in":
        try:
            return SizeIn(tuple(SizeClass(str(c).lower()) for c in _list(value, key)))
        except ValueError:
            raise Invalid("unknown size class", field="rules") from None
    if key == "area_in":
        ids = _list(value, key)
        if not all(isinstance(i, int) and i in paths for i in ids):
            raise Invalid("unknown area in area_in", field="rules")
        return AreaIn(tuple(ids), tuple(paths[i] for i in ids))
    if key in ("age_years", "capital"):
        if not isinstance(value, dict) or not set(value) <= {"min", "max"} or not value:
            raise Invalid("{key} takes min and/or max", field="rules", key=key)
        if key == "age_years":
            young, old = _bound_int(value.get("min"), key), _bound_int(value.get("max"), key)
            if young is not None and old is not None and young > old:
                raise Invalid("{key}: min is above max", field="rules", key=key)
            return Age(young, old)
        low, high = _bound_money(value.get("min")), _bound_money(value.get("max"))
        if low is not None and high is not None and low > high:
            raise Invalid("{key}: min is above max", field="rules", key=key)
        return Capital(low, high)
    if key in ("tags_any", "tags_all"):
        tags = tuple(str(t).strip() for t in _list(value, key))
        if not all(1 <= len(t) <= 20 for t in tags):
            raise Invalid("tags have 1 to 20 characters", field="rules")
        return Tags(tags, every=key == "tags_all")
    raise Invalid("unknown condition {key}", field="rules", key=key)


def parse(data: Any, paths: Mapping[int, str]) -> Group:
    """The rule as conditions; ``paths`` maps the areas it names to their paths."""
    count = [0]

    def group(node: Any, depth: int) -> Group:
        if not isinstance(node, dict) or node.get("op") not in ("all", "any"):
            raise Invalid("a group has op (all or any) and a list of conditions", field="rules")
        if depth > MAX_DEPTH:
            raise Invalid("groups nest at most {max} deep", field="rules", max=MAX_DEPTH)
        items = node.get("conditions", [])
        if not isinstance(items, list) or set(node) - {"op", "conditions"}:
            raise Invalid("a group has op (all or any) and a list of conditions", field="rules")
        out: list[Condition] = []
        for item in items:
            count[0] += 1
            if count[0] > MAX_CONDITIONS:
                raise Invalid("at most {max} conditions", field="rules", max=MAX_CONDITIONS)
            if isinstance(item, dict) and "op" in item:
                out.append(group(item, depth + 1))
            elif isinstance(item, dict):
                out.append(_leaf(item, paths))
            else:
                raise Invalid("a condition is an object", field="rules")
        return Group(node["op"] == "all", tuple(out))

    return group(data, 1)


# --- SQL ------------------------------------------------------------------------------


class Sql:
    """A WHERE fragment over ``e`` (business_enterprises) and ``d`` (its area's
    department), with its parameters numbered after ``offset`` existing ones."""

    def __init__(self, offset: int = 0) -> None:
        self.params: list[Any] = []
        self._offset = offset

    def param(self, value: Any, cast: str) -> str:
        self.params.append(value)
        return f"${self._offset + len(self.params)}::{cast}"

    def compile(self, cond: Condition, as_of: date) -> str:
        if isinstance(cond, Group):
            if not cond.items:
                return "TRUE" if cond.every else "FALSE"
            joiner = " AND " if cond.every else " OR "
            return "(" + joiner.join(self.compile(c, as_of) for c in cond.items) + ")"
        if isinstance(cond, IndustryIn):
            codes = self.param(list(cond.codes), "text[]")
            return f"(e.industry = ANY({codes}) OR e.section = ANY({codes}))"
        if isinstance(cond, SizeIn):
            classes = self.param([c.value for c in cond.classes], "text[]")
            return f"coalesce(e.size_class = ANY({classes}), FALSE)"
        if isinstance(cond, AreaIn):
            patterns = self.param([p + "%" for p in cond.paths], "text[]")
            return f"coalesce(d.path LIKE ANY({patterns}), FALSE)"
        if isinstance(cond, Age):
            parts = []
            if cond.min_years is not None:
                parts.append(
                    f"e.founded_on <= {self.param(_years_before(as_of, cond.min_years), 'date')}"
                )
            if cond.max_years is not None:
                cutoff = _years_before(as_of, cond.max_years + 1)
                parts.append(f"e.founded_on > {self.param(cutoff, 'date')}")
            return "coalesce(" + " AND ".join(parts) + ", FALSE)"
        if isinstance(cond, Capital):
            parts = []
            if cond.min_yuan is not None:
                parts.append(f"e.registered_capital >= {self.param(cond.min_yuan, 'numeric')}")
            if cond.max_yuan is not None:
                parts.append(f"e.registered_capital <= {self.param(cond.max_yuan, 'numeric')}")
            return "coalesce(" + " AND ".join(parts) + ", FALSE)"
        tags = self.param(list(cond.tags), "text[]")
        return f"coalesce(e.tags {'?&' if cond.every else '?|'} {tags}, FALSE)"


def _years_before(day: date, years: int) -> date:
    """``day`` minus whole years; 29 February becomes the 28th (as PostgreSQL does)."""
    year = day.year - years
    try:
        return day.replace(year=year)
    except ValueError:
        return day.replace(year=year, day=28)


# --- Python: why and why not ---------------------------------------------------------


@dataclass(frozen=True)
class Facts:
    """What the rules read of one enterprise."""

    industry: str
    section: str
    size_class: SizeClass | None
    area_path: str | None
    founded_on: date | None
    registered_capital: Decimal | None
    tags: frozenset[str]


@dataclass(frozen=True)
class Reason:
    met: bool
    text: str  # English, for people and developers
    text_zh: str


@dataclass(frozen=True)
class Verdict:
    eligible: bool
    reasons: tuple[Reason, ...]  # one per leaf condition, in the rule's order

    @property
    def unmet(self) -> tuple[Reason, ...]:
        return tuple(r for r in self.reasons if not r.met)


def _yuan(amount: Decimal) -> str:
    return f"{amount:,.0f}"


def _leaf_reason(cond: Condition, facts: Facts, as_of: date) -> Reason:
    if isinstance(cond, IndustryIn):
        met = facts.industry in cond.codes or facts.section in cond.codes
        codes = ", ".join(cond.codes)
        return Reason(
            met,
            f"industry {facts.industry} {'is' if met else 'is not'} among {codes}",
            f"所属行业{facts.industry}{'属于' if met else '不属于'}{codes}",
        )
    if isinstance(cond, SizeIn):
        met = facts.size_class in cond.classes
        names = ", ".join(c.value for c in cond.classes)
        size = facts.size_class.value if facts.size_class else "unknown"
        return Reason(
            met,
            f"size class {size} {'is' if met else 'is not'} among {names}",
            f"企业规模{size}{'符合' if met else '不符合'}（{names}）",
        )
    if isinstance(cond, AreaIn):
        met = facts.area_path is not None and any(facts.area_path.startswith(p) for p in cond.paths)
        return Reason(
            met,
            "located in the policy's areas" if met else "not located in the policy's areas",
            "位于政策适用区域" if met else "不在政策适用区域内",
        )
    if isinstance(cond, Age):
        if facts.founded_on is None:
            return Reason(False, "founding date unknown", "成立日期不详")
        ok_min = cond.min_years is None or facts.founded_on <= _years_before(as_of, cond.min_years)
        ok_max = cond.max_years is None or facts.founded_on > _years_before(
            as_of, cond.max_years + 1
        )
        if not ok_min:
            return Reason(
                False,
                f"founded less than {cond.min_years} years ago",
                f"成立未满{cond.min_years}年",
            )
        if not ok_max:
            return Reason(
                False,
                f"founded more than {cond.max_years} years ago",
                f"成立已超过{cond.max_years}年",
            )
        return Reason(True, "enterprise age within the policy's range", "成立年限符合")
    if isinstance(cond, Capital):
        capital = facts.registered_capital
        if capital is None:
            return Reason(False, "registered capital unknown", "注册资本不详")
        if cond.min_yuan is not None and capital < cond.min_yuan:
            return Reason(
                False,
                f"registered capital below {_yuan(cond.min_yuan)} yuan",
                f"注册资本低于{_yuan(cond.min_yuan)}元",
            )
        if cond.max_yuan is not None and capital > cond.max_yuan:
            return Reason(
                False,
                f"registered capital above {_yuan(cond.max_yuan)} yuan",
                f"注册资本高于{_yuan(cond.max_yuan)}元",
            )
        return Reason(True, "registered capital within the policy's range", "注册资本符合")
    assert isinstance(cond, Tags)
    wanted = set(cond.tags)
    met = wanted <= facts.tags if cond.every else bool(wanted & facts.tags)
    names = "、".join(cond.tags)
    if cond.every:
        return Reason(
            met,
            f"{'has' if met else 'lacks'} every tag of {names}",
            f"{'具备' if met else '不具备'}全部标签：{names}",
        )
    return Reason(
        met,
        f"{'has one' if met else 'has none'} of the tags {names}",
        f"{'具备以下标签之一' if met else '不具备以下任一标签'}：{names}",
    )


def _met(cond: Condition, facts: Facts, as_of: date) -> bool:
    """Whether a leaf condition holds: the same decisions as :func:`_leaf_reason`, without
    the words (``policies_for`` tests thousands of policies and words only the shown)."""
    if isinstance(cond, IndustryIn):
        return facts.industry in cond.codes or facts.section in cond.codes
    if isinstance(cond, SizeIn):
        return facts.size_class in cond.classes
    if isinstance(cond, AreaIn):
        return facts.area_path is not None and any(
            facts.area_path.startswith(p) for p in cond.paths
        )
    if isinstance(cond, Age):
        return facts.founded_on is not None and (
            (cond.min_years is None or facts.founded_on <= _years_before(as_of, cond.min_years))
            and (
                cond.max_years is None
                or facts.founded_on > _years_before(as_of, cond.max_years + 1)
            )
        )
    if isinstance(cond, Capital):
        capital = facts.registered_capital
        return capital is not None and (
            (cond.min_yuan is None or capital >= cond.min_yuan)
            and (cond.max_yuan is None or capital <= cond.max_yuan)
        )
    assert isinstance(cond, Tags)
    wanted = set(cond.tags)
    return wanted <= facts.tags if cond.every else bool(wanted & facts.tags)


def holds(cond: Condition, facts: Facts, as_of: date) -> bool:
    """Whether one leaf condition holds (:func:`quick`'s decision for a leaf)."""
    return _met(cond, facts, as_of)


def flat(rule: Group) -> tuple[Condition, ...] | None:
    """The leaves of an ``all`` group of leaves only (the common rule shape), else None:
    for such a rule ``quick`` is (no leaf unmet, the number of unmet leaves)."""
    if not rule.every or any(isinstance(c, Group) for c in rule.items):
        return None
    return rule.items


def quick(rule: Group, facts: Facts, as_of: date) -> tuple[bool, int]:
    """(eligible, unmet leaf conditions) — :func:`evaluate` without its reasons."""
    unmet = 0

    def walk(cond: Condition) -> bool:
        nonlocal unmet
        if isinstance(cond, Group):
            results = [walk(c) for c in cond.items]
            return all(results) if cond.every else any(results)
        met = _met(cond, facts, as_of)
        unmet += not met
        return met

    return walk(rule), unmet


def evaluate(rule: Group, facts: Facts, as_of: date) -> Verdict:
    """Whether the enterprise qualifies, with a reason for every leaf condition."""
    reasons: list[Reason] = []

    def walk(cond: Condition) -> bool:
        if isinstance(cond, Group):
            results = [walk(c) for c in cond.items]  # every leaf gets its reason
            return all(results) if cond.every else any(results)
        reason = _leaf_reason(cond, facts, as_of)
        reasons.append(reason)
        return reason.met

    return Verdict(walk(rule), tuple(reasons))


def compile_where(rule: Group, as_of: date, offset: int = 0) -> tuple[str, Sequence[Any]]:
    sql = Sql(offset)
    return sql.compile(rule, as_of), sql.params
