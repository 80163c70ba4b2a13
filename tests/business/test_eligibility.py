"""Eligibility: the SQL compilation and the Python evaluation of random rules agree over
random enterprises (including unknown figures and 29 February); reasons and near misses
read as the issue asks; notify-on-publish tells each eligible enterprise exactly once,
also when a run is interrupted and re-run."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hotline.platform.tenancy import Scope, use_scope
from hotline.tenants.business import eligibility
from hotline.tenants.business.models import (
    Enterprise,
    EnterpriseMember,
    Policy,
    PolicyNotice,
    PolicyStatus,
    SizeClass,
)
from hotline.tenants.business.notify import notify_policy
from hotline.tenants.business.policies import eligible_sql
from hotline.tenants.business.rules import make_uscc
from hotline.tenants.kernel.roles import Role
from tests.business.conftest import BizWorld
from tests.tickets_api.conftest import City, add_person

INDUSTRIES = [("65", "I"), ("64", "I"), ("39", "C"), ("52", "F"), ("01", "A")]
TAGS = ["高新技术", "专精特新", "外贸", "科技型"]
DAYS = st.dates(min_value=date(1990, 1, 1), max_value=date(2030, 12, 31))


def facts_strategy(areas: list[tuple[int, str] | None]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "industry": st.sampled_from(INDUSTRIES),
            "size_class": st.none() | st.sampled_from(list(SizeClass)),
            "area": st.sampled_from(areas),
            "founded_on": st.none()
            | DAYS
            | st.sampled_from([date(2020, 2, 29), date(2024, 2, 29), date(2021, 2, 28)]),
            "capital": st.none()
            | st.sampled_from([Decimal(0), Decimal(1_000_000), Decimal(5_000_000)])
            | st.decimals(min_value=0, max_value=10_000_000, places=2),
            "tags": st.frozensets(st.sampled_from(TAGS), max_size=3),
        }
    )


def leaf(area_ids: list[int]) -> st.SearchStrategy[dict[str, Any]]:
    bound = st.none() | st.integers(0, 40)
    money = st.none() | st.sampled_from([0, 1_000_000, 5_000_000, "4999999.99"])
    return st.one_of(
        st.builds(
            lambda c: {"industry_in": c},
            st.lists(st.sampled_from(["65", "64", "39", "I", "C", "F"]), min_size=1, max_size=3),
        ),
        st.builds(
            lambda c: {"size_in": c},
            st.lists(st.sampled_from([s.value for s in SizeClass]), min_size=1, max_size=2),
        ),
        st.builds(
            lambda a: {"area_in": a}, st.lists(st.sampled_from(area_ids), min_size=1, max_size=2)
        ),
        st.builds(
            lambda lo, hi: {
                "age_years": {k: v for k, v in (("min", lo), ("max", hi)) if v is not None}
            },
            bound,
            bound,
        ).filter(lambda d: d["age_years"] and _ordered(d["age_years"])),
        st.builds(
            lambda lo, hi: {
                "capital": {k: v for k, v in (("min", lo), ("max", hi)) if v is not None}
            },
            money,
            money,
        ).filter(lambda d: d["capital"] and _ordered(d["capital"])),
        st.builds(
            lambda t, every: {"tags_all" if every else "tags_any": t},
            st.lists(st.sampled_from(TAGS), min_size=1, max_size=2),
            st.booleans(),
        ),
    )


def _ordered(bounds: dict[str, Any]) -> bool:
    return (
        "min" not in bounds
        or "max" not in bounds
        or Decimal(str(bounds["min"])) <= Decimal(str(bounds["max"]))
    )


def rules(area_ids: list[int]) -> st.SearchStrategy[dict[str, Any]]:
    return st.recursive(
        st.builds(
            lambda op, c: {"op": op, "conditions": c},
            st.sampled_from(["all", "any"]),
            st.lists(leaf(area_ids), max_size=4),
        ),
        lambda inner: st.builds(
            lambda op, c: {"op": op, "conditions": c},
            st.sampled_from(["all", "any"]),
            st.lists(inner | leaf(area_ids), max_size=3),
        ),
        max_leaves=8,
    )


def areas_of(city: City) -> list[tuple[int, str] | None]:
    return [None, *[(d.id, d.path) for d in (city.center, city.district, city.street, city.bureau)]]


async def test_sql_and_python_agree(biz: BizWorld) -> None:
    """Hypothesis draws the cases (it cannot drive a coroutine inside the running event
    loop), then each is checked against the database."""
    city = biz.alpha.city
    areas = areas_of(city)
    paths = {a[0]: a[1] for a in areas if a is not None}

    @settings(
        max_examples=120,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        st.lists(facts_strategy(areas), min_size=1, max_size=8),
        rules(sorted(paths)),
        DAYS | st.sampled_from([date(2028, 2, 29), date(2027, 2, 28)]),
    )
    def draw(facts: list[dict[str, Any]], data: dict[str, Any], as_of: date) -> None:
        cases.append((facts, data, as_of))

    async def check(facts: list[dict[str, Any]], data: dict[str, Any], as_of: date) -> None:
        rule = eligibility.parse(data, paths)
        with use_scope(city.scope()):
            made = []
            for n, f in enumerate(facts):
                made.append(
                    await Enterprise.create(
                        uscc=make_uscc(f"91370100PB{n:07d}"),
                        name=f"p{n}",
                        industry=f["industry"][0],
                        section=f["industry"][1],
                        size_class=f["size_class"],
                        area_id=f["area"][0] if f["area"] else None,
                        founded_on=f["founded_on"],
                        registered_capital=f["capital"],
                        tags=sorted(f["tags"]),
                    )
                )
            try:
                sql, params = eligible_sql(rule, as_of, "e.id")
                params.append([e.id for e in made])
                rows = await Enterprise._meta.db.execute_query_dict(
                    f"{sql} AND e.id = ANY(${len(params)}::bigint[])", params
                )
            finally:
                await Enterprise.filter(id__in=[e.id for e in made]).delete()
        by_sql = {r["id"] for r in rows}
        by_python = set()
        for e, f in zip(made, facts, strict=True):
            known = eligibility.Facts(
                industry=f["industry"][0],
                section=f["industry"][1],
                size_class=f["size_class"],
                area_path=f["area"][1] if f["area"] else None,
                founded_on=f["founded_on"],
                registered_capital=None
                if f["capital"] is None
                else Decimal(f["capital"]).quantize(Decimal("0.01")),
                tags=f["tags"],
            )
            verdict = eligibility.evaluate(rule, known, as_of)
            # the words-free fast path of policiesForEnterprise decides the same
            assert eligibility.quick(rule, known, as_of) == (verdict.eligible, len(verdict.unmet))
            leaves = eligibility.flat(rule)
            if leaves is not None:  # its all-of-leaves path, leaf by leaf
                unmet = sum(not eligibility.holds(c, known, as_of) for c in leaves)
                assert (unmet == 0, unmet) == (verdict.eligible, len(verdict.unmet))
            if verdict.eligible:
                by_python.add(e.id)
        assert by_sql == by_python, (facts, data, as_of)
        outcomes.add((bool(by_sql), len(by_sql) == len(made)))

    cases: list[tuple[list[dict[str, Any]], dict[str, Any], date]] = []
    draw()
    assert len(cases) >= 100
    outcomes: set[tuple[bool, bool]] = set()
    for facts, data, as_of in cases:
        await check(facts, data, as_of)
    # the cases were not trivial: some matched none, some all, some a part
    assert outcomes == {(False, False), (True, True), (True, False)}


def test_reasons_and_near_misses() -> None:
    rule = eligibility.parse(
        {
            "op": "all",
            "conditions": [
                {"industry_in": ["I"]},
                {"capital": {"min": 5_000_000}},
                {"age_years": {"min": 2}},
            ],
        },
        {},
    )
    facts = eligibility.Facts(
        industry="65",
        section="I",
        size_class=SizeClass.SMALL,
        area_path=None,
        founded_on=date(2020, 1, 1),
        registered_capital=Decimal(3_000_000),
        tags=frozenset(),
    )
    verdict = eligibility.evaluate(rule, facts, date(2026, 11, 30))
    assert not verdict.eligible
    assert [r.text for r in verdict.unmet] == ["registered capital below 5,000,000 yuan"]
    assert [r.text_zh for r in verdict.unmet] == ["注册资本低于5,000,000元"]
    assert [r.met for r in verdict.reasons] == [True, False, True]


def test_tag_reasons_read_as_sentences() -> None:
    """Once "has of the tags …" (a word missing) for a met condition."""
    facts = eligibility.Facts(
        industry="65",
        section="I",
        size_class=SizeClass.SMALL,
        area_path=None,
        founded_on=date(2020, 1, 1),
        registered_capital=Decimal(3_000_000),
        tags=frozenset({"高新技术"}),
    )
    texts = {}
    for tags in (["高新技术", "专精特新"], ["外贸"]):
        rule = eligibility.parse({"op": "all", "conditions": [{"tags_any": tags}]}, {})
        [reason] = eligibility.evaluate(rule, facts, date(2026, 11, 30)).reasons
        texts[reason.met] = (reason.text, reason.text_zh)
    assert texts == {
        True: ("has one of the tags 高新技术、专精特新", "具备以下标签之一：高新技术、专精特新"),
        False: ("has none of the tags 外贸", "不具备以下任一标签：外贸"),
    }


@pytest.mark.parametrize(
    "bad",
    [
        {"op": "some", "conditions": []},
        {"op": "all", "conditions": [{"industry_in": ["99"]}]},
        {"op": "all", "conditions": [{"capital": {"min": 10, "max": 5}}]},
        {"op": "all", "conditions": [{"area_in": [123456]}]},
        {"op": "all", "conditions": [{"size_in": ["huge"]}]},
        {"op": "all", "conditions": [{"colour": "red"}]},
    ],
)
def test_bad_rules_are_refused(bad: dict[str, Any]) -> None:
    from hotline.tenants.kernel.errors import Invalid

    with pytest.raises(Invalid) as raised:
        eligibility.parse(bad, {})
    assert raised.value.field == "rules"


async def test_notify_once_each_under_a_rerun(biz: BizWorld) -> None:
    city = biz.beta.city
    with use_scope(city.scope()):
        eligible = []
        for n in range(7):
            enterprise = await Enterprise.create(
                uscc=make_uscc(f"91320100NT{n:07d}"),
                name=f"notify {n}",
                industry="39",
                section="C",
                registered_capital=Decimal(6_000_000 if n % 2 == 0 else 1_000_000),
                tags=["外贸"],
            )
            if n % 2 == 0:
                eligible.append(enterprise)
    for n, enterprise in enumerate(eligible[:2]):
        await add_person(city, f"notify-{n}", Role.ENTERPRISE_USER)
        with use_scope(city.scope()):
            await EnterpriseMember.create(
                enterprise_id=enterprise.id,
                user_id=city.users[f"notify-{n}"],
                role=Role.ENTERPRISE_USER,
            )
    with use_scope(city.scope()):
        policy = await Policy.create(
            title="外贸企业稳岗补贴",
            body="…",
            department_id=city.bureau.id,
            rules={
                "op": "all",
                "conditions": [
                    {"industry_in": ["C"]},
                    {"capital": {"min": 5_000_000}},
                    {"tags_any": ["外贸"]},
                ],
            },
            status=PolicyStatus.PUBLISHED,
        )
        first = await notify_policy(policy.id, batch=2, max_batches=1)  # interrupted
        rest = await notify_policy(policy.id, batch=2)
        again = await notify_policy(policy.id, batch=2)
        notices = await PolicyNotice.filter(policy_id=policy.id).values_list(
            "enterprise_id", flat=True
        )
        count = (await Policy.get(id=policy.id)).notified
    assert first >= 1
    assert first + rest == len(eligible)
    assert again == 0
    assert sorted(notices) == sorted(e.id for e in eligible)
    assert count == len(eligible)
    with use_scope(Scope.platform()):
        rows = await Enterprise._meta.db.execute_query_dict(
            "SELECT send_key FROM outbox WHERE send_key LIKE $1",
            [f"policy:{city.tenant.id}:{policy.id}:%"],
        )
    assert sorted(r["send_key"] for r in rows) == sorted(
        f"policy:{city.tenant.id}:{policy.id}:{city.users[f'notify-{n}']}" for n in range(2)
    )
