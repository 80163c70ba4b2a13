"""The business extension's demo (docs/business.md): per city a registry of a few
hundred enterprises with valid USCCs (the check character computed by python-stdnum)
across industries and districts, two service managers with portfolios, an enterprise
admin, and two published policies whose eligible enterprises are notified. The demo
enterprise (the one ``<city>_enterprise`` administers, portfolio of ``<city>_manager2``)
is made to qualify for one policy and to miss the other by one condition, so
``policiesForEnterprise`` shows both a match with its reasons and a near miss with why
not. Idempotent: a city that has enterprises already is left as it is."""

from __future__ import annotations

import dataclasses
import random
from datetime import date, timedelta
from decimal import Decimal

from hotline.platform.tenancy import Scope, use_scope
from hotline.tenants.accounts import memberships, users
from hotline.tenants.accounts.models import Membership, User
from hotline.tenants.business import notify, portfolio
from hotline.tenants.business import products as financing_products
from hotline.tenants.business.models import (
    Collateral,
    Enterprise,
    EnterpriseMember,
    EnterpriseStatus,
    Policy,
    PolicyStatus,
    SizeClass,
)
from hotline.tenants.business.registry_write import upsert
from hotline.tenants.business.rows import EnterpriseRow
from hotline.tenants.business.rules import industry, make_uscc, size_class
from hotline.tenants.departments.models import Department, DepartmentKind
from hotline.tenants.departments.service import create_department
from hotline.tenants.kernel.access import Actor
from hotline.tenants.kernel.roles import Role
from hotline.tenants.seed.data import DEMO_PASSWORD, CityDemo, business_logins

# USCC characters of an organization code (GB 32100-2015: digits and capitals but I, O,
# S, V, Z).
_CODE_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
# Common divisions of a city's registry, weighted: software, retail, wholesale, catering,
# business services, metal products, electrical machinery, construction, farming.
_INDUSTRIES = (
    ("65",) * 4
    + ("52",) * 4
    + ("51",) * 3
    + ("62",) * 3
    + ("72",) * 2
    + (
        "33",
        "38",
        "39",
        "48",
        "01",
        "70",
        "74",
    )
)
_SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚"
_WORDS = ("泉城", "齐鲁", "华润", "鲁信", "恒信", "汇丰", "海岱", "明湖", "舜耕", "德润")
_TRADES = {"65": "软件", "52": "商贸", "51": "贸易", "62": "餐饮", "72": "咨询", "33": "五金"}
_TAGS = ("高新技术", "专精特新", "科技型中小企业", "外贸", "个体转企")


def _uscc(rng: random.Random, city_code: str) -> str:
    org = "".join(rng.choice(_CODE_CHARS) for _ in range(8))
    return make_uscc(f"91{city_code}{org}{rng.choice(_CODE_CHARS)}")


def registry(city: CityDemo, areas: list[int], count: int, seed: int = 13) -> list[EnterpriseRow]:
    """``count`` plausible enterprises of the city, the same for the same seed."""
    rng = random.Random(f"{seed}:{city.code}")  # noqa: S311 — demo data, not secrets
    rows: dict[str, EnterpriseRow] = {}
    while len(rows) < count:
        division = rng.choice(_INDUSTRIES)
        employees = int(rng.lognormvariate(3, 1.3))
        revenue = Decimal(int(employees * rng.uniform(100_000, 900_000)))
        uscc = _uscc(rng, city.code)
        trade = _TRADES.get(division, "实业")
        name = f"{city.name[:2]}{rng.choice(_WORDS)}{trade}{len(rows) + 1}号有限公司"
        rows[uscc] = EnterpriseRow(
            uscc=uscc,
            name=name,
            legal_rep=rng.choice(_SURNAMES) + rng.choice(_GIVEN) + rng.choice(("", *_GIVEN)),
            industry=division,
            section=industry(division).section,
            employees=employees,
            revenue=revenue,
            size_class=size_class(division, employees=employees, revenue=revenue),
            area_id=rng.choice(areas),
            registered_capital=Decimal(rng.choice((10, 50, 100, 300, 500, 1000, 5000))) * 10_000,
            founded_on=date(2026, 1, 1) - timedelta(days=rng.randint(90, 9000)),
            status=EnterpriseStatus.ACTIVE if rng.random() < 0.95 else EnterpriseStatus.SUSPENDED,
            tags=tuple(sorted(set(rng.sample(_TAGS, rng.choice((0, 0, 1, 1, 2)))))),
        )
    return list(rows.values())


def demo_enterprise(row: EnterpriseRow, city: CityDemo) -> EnterpriseRow:
    """The demo enterprise: an active software company of five years, tagged 科技型中小企业
    (not 高新技术 nor 专精特新), so it meets one demo policy and misses the other by one
    condition. Dezhou's is smaller than Jinan's."""
    employees, revenue = (
        (85, Decimal(26_000_000)) if city.slug == "jinan" else (32, Decimal(7_500_000))
    )
    return dataclasses.replace(
        row,
        industry="65",
        section=industry("65").section,
        employees=employees,
        revenue=revenue,
        size_class=size_class("65", employees=employees, revenue=revenue),
        registered_capital=Decimal(5_000_000),
        founded_on=date(2021, 6, 1),
        status=EnterpriseStatus.ACTIVE,
        tags=("科技型中小企业",),
    )


def policies(city: CityDemo) -> list[tuple[str, str, dict[str, object]]]:
    """The city's published demo policies: title, text, eligibility rule."""
    return [
        (
            f"{city.name}高新技术企业研发费用补助",
            "对符合条件的高新技术企业，按上年度研发投入给予补助。",
            {
                "op": "all",
                "conditions": [
                    {"tags_any": ["高新技术", "专精特新"]},
                    {"capital": {"min": 1_000_000}},
                    {"age_years": {"min": 1}},
                ],
            },
        ),
        (
            f"{city.name}科技型中小企业创新券",
            "对入库的科技型中小企业购买检验检测、研发设计等科技服务，按合同金额的一定比例"
            "给予创新券补贴。",
            {
                "op": "all",
                "conditions": [
                    {"tags_any": ["科技型中小企业"]},
                    {"industry_in": ["I", "M"]},
                    {"age_years": {"min": 1}},
                ],
            },
        ),
    ]


async def _person(
    actor: Actor, username: str, display_name: str, role: Role, department_id: int | None = None
) -> User:
    with use_scope(Scope.platform()):
        user = await User.get_or_none(username=username)
        if user is None:
            user = await users.create_user(
                actor=None, username=username, display_name=display_name, password=DEMO_PASSWORD
            )
    if not await Membership.filter(user_id=user.id, role=role).exists():
        await memberships.grant_membership(
            actor=actor, user_id=user.id, role=role, department_id=department_id
        )
    return user


# Service providers of the demo: a bank, a law firm and a legal-aid center per city.
_PROVIDERS = (
    ("bank", "{city}农商银行普惠金融部"),
    ("law_firm", "{city}营商律师事务所"),
    ("legal_aid", "{city}法律援助中心"),
)


async def _providers(actor: Actor, city: CityDemo) -> dict[str, Department]:
    center = await Department.get(kind=DepartmentKind.CENTER)
    found: dict[str, Department] = {}
    for function, name in _PROVIDERS:
        row = await Department.filter(function=function).order_by("id").first()
        if row is None:
            row = await create_department(
                actor=actor,
                parent_id=center.id,
                kind=DepartmentKind.UTILITY,
                name=name.format(city=city.name[:2]),
                function=function,
            )
        found[function] = row
    return found


async def _products(actor: Actor, bank: Department) -> int:
    """Three products: a credit loan for tech firms, a loan for the small and micro, a
    mortgage loan for anyone."""
    Spec = tuple[str, list[str], list[str], str, str, str, str, int, int, list[str]]
    specs: tuple[Spec, ...] = (
        ("科创信用贷", ["I", "M"], [], "100000", "3000000", "3.45", "4.35", 6, 36, ["credit"]),
        (
            "小微快贷",
            [],
            ["small", "micro"],
            "10000",
            "1000000",
            "3.65",
            "4.85",
            3,
            12,
            ["credit", "guarantee"],
        ),
        ("经营抵押贷", [], [], "500000", "10000000", "2.95", "3.85", 12, 120, ["mortgage"]),
    )
    for (
        name,
        industries,
        sizes,
        low,
        high,
        rate_low,
        rate_high,
        term_low,
        term_high,
        kinds,
    ) in specs:
        await financing_products.create_product(
            actor=actor,
            bank_id=bank.id,
            name=name,
            description="演示数据：营商服务融资对接产品。",
            terms=financing_products.Terms(
                min_amount=Decimal(low),
                max_amount=Decimal(high),
                min_rate=Decimal(rate_low),
                max_rate=Decimal(rate_high),
                min_term_months=term_low,
                max_term_months=term_high,
                collateral=[Collateral(k) for k in kinds],
            ),
            industries=industries,
            size_classes=[SizeClass(s) for s in sizes],
        )
    return len(specs)


async def seed_business(
    *, actor: Actor, city: CityDemo, count: int = 300
) -> tuple[int, list[tuple[str, str, str]]]:
    """The city's business demo (in its scope): rows created, and the demo logins."""
    logins = business_logins(city)
    if await Enterprise.exists():
        return 0, logins
    districts = await Department.filter(kind=DepartmentKind.DISTRICT).order_by("id")
    streets = await Department.filter(kind=DepartmentKind.STREET).values_list("id", flat=True)
    rows = registry(city, [d.id for d in districts] + list(streets), count)
    rows[0] = demo_enterprise(rows[0], city)
    inserted, _ = await upsert(rows)
    first = await Enterprise.get(uscc=rows[0].uscc)
    manager = await _person(actor, logins[0][0], f"{city.name[:2]}服务专员一", Role.SERVICE_MANAGER)
    manager2 = await _person(
        actor, logins[1][0], f"{city.name[:2]}服务专员二", Role.SERVICE_MANAGER
    )
    boss = await _person(actor, logins[2][0], f"{first.name[:10]}管理员", Role.ENTERPRISE_ADMIN)
    await EnterpriseMember.create(
        enterprise_id=first.id, user_id=boss.id, role=Role.ENTERPRISE_ADMIN
    )
    # the first district by area, software by industry, the demo enterprise by name;
    # the other districts stay unassigned (unassignedEnterprises shows them)
    with_rules = [
        {"manager_id": manager.id, "area_id": districts[0].id},
        {"manager_id": manager2.id, "industry": "65"},
        {"manager_id": manager2.id, "enterprise_id": first.id},
    ]
    for rule in with_rules:
        await portfolio.assign(actor=actor, **rule)
    market = await Department.get(code="market")
    notified = 0
    for title, body, rules in policies(city):
        policy = await Policy.create(
            title=title,
            body=body,
            department_id=market.id,
            rules=rules,
            status=PolicyStatus.PUBLISHED,
        )
        await Policy.filter(id=policy.id).update(published_at=policy.created_at)
        notified += await notify.notify_policy(policy.id)
    providers = await _providers(actor, city)
    await _person(
        actor,
        logins[3][0],
        f"{city.name[:2]}银行客户经理",
        Role.DEPT_MANAGER,
        department_id=providers["bank"].id,
    )
    products = await _products(actor, providers["bank"])
    return (
        inserted + 4 + len(policies(city)) + len(with_rules) + notified + len(providers) + products,
        logins,
    )
