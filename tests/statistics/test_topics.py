"""Hot topics: the week's top categories and its rising terms (jieba) against the week
before, counted by hand; department subtrees and other cities stay out."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest_asyncio

from hotline.platform.redis import close_redis
from hotline.platform.settings import Settings
from hotline.platform.tenancy import Scope, use_scope
from hotline.schema.app import create_app
from hotline.schema.ids import encode_id
from hotline.tenants.kernel.roles import Role
from hotline.tenants.provinces.models import Province
from hotline.tenants.statistics.topics import TermCount, rising_terms
from hotline.tenants.tickets.models import AssignmentStatus, Status
from tests.tickets_api.conftest import World, add_person, make_city, make_ticket

TOPICS = """query($w: Date) { hotTopics(weekEnding: $w) {
  from to topCategories { categoryId name count previousCount }
  risingTerms { term count previousCount growth } } }"""
SH = ZoneInfo("Asia/Shanghai")
ELEVATOR = "电梯故障停运老人无法上楼"
ELEVATOR_BEFORE = "电梯故障无人维修"
LAMP = "路灯不亮晚上出行不便"


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(db: Settings) -> AsyncIterator[World]:
    with use_scope(Scope.platform()):
        shandong = await Province.create(code="370000", slug="shandong", name="Shandong")
        jiangsu = await Province.create(code="320000", slug="jiangsu", name="Jiangsu")
    alpha = await make_city(shandong, "370100", "alpha")
    beta = await make_city(jiangsu, "320100", "beta")
    for city in (alpha, beta):
        await add_person(city, "supervisor", Role.SUPERVISOR)
        await add_person(city, "bureau", Role.DEPT_MANAGER, city.bureau)
    now = datetime.now(UTC)
    this_week, last_week = now - timedelta(days=1), now - timedelta(days=8)
    # this week: 4 elevators (one dispatched to the bureau), 1 lamp; before: 1 and 3
    for n in range(4):
        await make_ticket(
            alpha,
            content=ELEVATOR,
            category=alpha.subcategory,
            received_at=this_week,
            status=Status.DISPATCHED if n == 0 else Status.RECEIVED,
            departments=[(alpha.bureau, AssignmentStatus.PENDING_SIGN)] if n == 0 else [],
        )
    await make_ticket(alpha, content=LAMP, category=alpha.category, received_at=this_week)
    await make_ticket(
        alpha, content=ELEVATOR_BEFORE, category=alpha.subcategory, received_at=last_week
    )
    for _ in range(3):
        await make_ticket(alpha, content=LAMP, category=alpha.category, received_at=last_week)
    # beta's lamps never reach alpha's figures
    for _ in range(5):
        await make_ticket(beta, content=LAMP, received_at=this_week)
    app = create_app(db, manage_orm=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        yield World(settings=db, alpha=alpha, beta=beta, client=client)
    await close_redis()


async def test_top_categories_and_rising_terms(world: World) -> None:
    alpha = world.alpha
    body = await world.gql(alpha, "supervisor", TOPICS, {})
    topics = body["data"]["hotTopics"]
    today = datetime.now(UTC).astimezone(SH).date()
    assert (topics["from"], topics["to"]) == (str(today - timedelta(days=6)), str(today))
    assert topics["topCategories"] == [
        {
            "categoryId": str(encode_id("Category", alpha.subcategory.id)),
            "name": "illegal construction",
            "count": 4,
            "previousCount": 1,
        },
        {
            "categoryId": str(encode_id("Category", alpha.category.id)),
            "name": "urban management",
            "count": 1,
            "previousCount": 3,
        },
    ]
    rising = {t["term"]: (t["count"], t["previousCount"]) for t in topics["risingTerms"]}
    assert rising["电梯"] == (4, 1)
    assert rising["停运"] == (4, 0)
    assert "出行" not in rising  # the lamps: 1 this week, 3 before: falling
    growths = [t["growth"] for t in topics["risingTerms"]]
    assert growths == sorted(growths, reverse=True)
    assert topics["risingTerms"][0]["growth"] == 5.0  # (4 + 1) / (0 + 1)


async def test_a_department_sees_its_subtree_and_cities_stay_apart(world: World) -> None:
    body = await world.gql(world.alpha, "bureau", TOPICS, {})
    topics = body["data"]["hotTopics"]
    assert [(c["count"], c["previousCount"]) for c in topics["topCategories"]] == [(1, 0)]
    assert topics["risingTerms"] == []  # one ticket is under the three a term needs
    body = await world.gql(world.beta, "supervisor", TOPICS, {})
    topics = body["data"]["hotTopics"]
    assert [c["count"] for c in topics["topCategories"]] == [5]
    assert {t["term"] for t in topics["risingTerms"]} >= {"出行", "晚上"}


def test_rising_terms_by_hand() -> None:
    now = Counter({"积水": 6, "噪音": 3, "停车": 10, "偶尔": 2})
    before = Counter({"积水": 1, "停车": 9, "噪音": 0})
    assert rising_terms(now, before, 10) == [
        TermCount("噪音", 3, 0),  # growth 4
        TermCount("积水", 6, 1),  # growth 3.5
        TermCount("停车", 10, 9),  # growth 1.1
    ]  # 偶尔: in 2 tickets only
    assert rising_terms(now, before, 1) == [TermCount("噪音", 3, 0)]
