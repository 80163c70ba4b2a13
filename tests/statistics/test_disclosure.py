"""Public disclosure: a city publishes an ended month's figures and closed cases with
their text redacted; anyone reads them without login, as GraphQL and as the city's
page; another city's ticket is NOT_FOUND and cities never see each other's."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest_asyncio

from hotline.platform.redis import close_redis
from hotline.platform.settings import Settings
from hotline.platform.tenancy import Scope, use_scope
from hotline.schema.app import create_app
from hotline.schema.ids import encode_id
from hotline.schema.public import render
from hotline.tenants.kernel.roles import Role
from hotline.tenants.provinces.models import Province
from hotline.tenants.statistics.aggregates import city_clock, recompute_range
from hotline.tenants.statistics.disclosure import month_bounds
from hotline.tenants.statistics.models import PublishedCase
from hotline.tenants.tickets.models import Kind, Status
from tests import isolation_registry
from tests.tickets_api.conftest import World, add_person, make_city, make_ticket

SH = ZoneInfo("Asia/Shanghai")
PUBLISH_CASE = """mutation($id: ID!) { publishCase(ticketId: $id) {
  case { month category content reply } errors { code field } } }"""
PUBLISH_MONTH = """mutation($m: Date!) { publishMonthlyFigures(month: $m) {
  figures { month received satisfactionRate } errors { code field } } }"""
PUBLIC = """query($c: String!) { publicFigures(city: $c) { slug name months { month received } }
  publicCases(city: $c) { month content reply } }"""
PERSONAL = (
    "市民张三来电，手机13812345678，身份证370102199003071234，住历下区泉城路1号3单元502室，"
    "反映楼下鲁A12345长期占用消防通道"
)
PATTERNS = (
    re.compile(r"1[3-9]\d{9}"),
    re.compile(r"\d{17}[\dXx]"),
    re.compile(r"鲁A12345"),
    re.compile(r"\d+(号|单元|室)"),
    re.compile(r"张三"),
)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(db: Settings) -> AsyncIterator[World]:
    with use_scope(Scope.platform()):
        shandong = await Province.create(code="370000", slug="shandong", name="Shandong")
        jiangsu = await Province.create(code="320000", slug="jiangsu", name="Jiangsu")
    alpha = await make_city(shandong, "370100", "alpha")
    beta = await make_city(jiangsu, "320100", "beta")
    for city in (alpha, beta):
        await add_person(city, "admin", Role.TENANT_ADMIN)
        await add_person(city, "agent", Role.AGENT)
    app = create_app(db, manage_orm=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        yield World(settings=db, alpha=alpha, beta=beta, client=client)
    await close_redis()


def _last_month() -> datetime:
    today = datetime.now(UTC).astimezone(SH)
    return (today.replace(day=1) - timedelta(days=3)).replace(hour=12)


async def _public(world: World, query: str, variables: dict[str, str]) -> dict[str, object]:
    """An anonymous request: no token, no city header."""
    response = await world.client.post("/graphql", json={"query": query, "variables": variables})
    body: dict[str, object] = response.json()
    isolation_registry.record(query, body)
    return body


async def test_publish_a_case_redacted_and_refuse_what_is_not_publishable(world: World) -> None:
    alpha, beta = world.alpha, world.beta
    closed = await make_ticket(
        alpha,
        status=Status.CLOSED,
        content=PERSONAL,
        name="张三",
        address="历下区泉城路1号3单元502室",
        received_at=_last_month(),
    )
    body = await world.gql(
        alpha, "admin", PUBLISH_CASE, {"id": str(encode_id("Ticket", closed.ticket.id))}
    )
    case = body["data"]["publishCase"]["case"]
    assert body["data"]["publishCase"]["errors"] == []
    assert "占用消防通道" in case["content"]
    for pattern in PATTERNS:
        assert not pattern.search(case["content"]), (pattern, case["content"])
    # open and confidential tickets are not published; an agent may not publish
    open_ticket = await make_ticket(alpha)
    secret = await make_ticket(alpha, status=Status.CLOSED, confidential=True)
    for made in (open_ticket, secret):
        body = await world.gql(
            alpha, "admin", PUBLISH_CASE, {"id": str(encode_id("Ticket", made.ticket.id))}
        )
        assert body["data"]["publishCase"]["errors"] == [{"code": "CONFLICT", "field": "ticketId"}]
    body = await world.gql(
        alpha, "agent", PUBLISH_CASE, {"id": str(encode_id("Ticket", closed.ticket.id))}
    )
    assert [e["code"] for e in body["data"]["publishCase"]["errors"]] == ["PERMISSION_DENIED"]
    # another city's closed ticket: NOT_FOUND, like a missing one
    theirs = await make_ticket(beta, status=Status.CLOSED)
    body = await world.gql(
        alpha, "admin", PUBLISH_CASE, {"id": str(encode_id("Ticket", theirs.ticket.id))}
    )
    assert [e["code"] for e in body["data"]["publishCase"]["errors"]] == ["NOT_FOUND"]


async def test_publish_an_ended_month_and_read_it_without_login(world: World) -> None:
    alpha = world.alpha
    month = _last_month().date().replace(day=1)
    with use_scope(alpha.scope()):  # the tickets were written straight into the tables
        await recompute_range(await city_clock(alpha.tenant), *month_bounds(month))
    body = await world.gql(alpha, "admin", PUBLISH_MONTH, {"m": str(month)})
    published = body["data"]["publishMonthlyFigures"]
    assert published["errors"] == []
    assert published["figures"]["month"] == str(month)
    assert published["figures"]["received"] >= 1
    this_month = datetime.now(UTC).astimezone(SH).date().replace(day=1)
    body = await world.gql(alpha, "admin", PUBLISH_MONTH, {"m": str(this_month)})
    assert body["data"]["publishMonthlyFigures"]["errors"] == [
        {"code": "INVALID", "field": "month"}
    ]
    body = await _public(world, PUBLIC, {"c": "alpha"})
    data = body["data"]
    assert isinstance(data, dict)
    assert data["publicFigures"]["months"] == [
        {"month": str(month), "received": published["figures"]["received"]}
    ]
    for case in data["publicCases"]:
        for pattern in PATTERNS:
            assert not pattern.search(case["content"])
    # beta published nothing: alpha's never show there
    body = await _public(world, PUBLIC, {"c": "beta"})
    data = body["data"]
    assert isinstance(data, dict)
    assert data["publicFigures"]["months"] == []
    assert data["publicCases"] == []
    body = await _public(world, PUBLIC, {"c": "nowhere"})
    assert "NOT_FOUND" in str(body["errors"])


async def test_the_public_page_in_both_languages(world: World) -> None:
    response = await world.client.get("/public/alpha", headers={"accept-language": "zh-CN"})
    assert response.status_code == 200
    assert response.headers["content-language"] == "zh-CN"
    page = response.text
    assert page.count('<svg class="chart"') == 2
    assert 'class="bar"' in page
    assert "公开案例" in page
    for pattern in PATTERNS:
        assert not pattern.search(page), pattern
    english = (await world.client.get("/public/alpha?lang=en")).text
    assert "Published cases" in english
    assert (await world.client.get("/public/nowhere")).status_code == 404


def test_a_case_without_a_title_is_headed_by_its_kind_in_the_page_language() -> None:
    """The demo's cases (phone calls) have no title: the page names their kind in its own
    language, never the stored value ("report" on a Chinese page)."""
    case = PublishedCase(
        ticket_id=1,
        month=date(2026, 10, 1),
        category="道路交通管理",
        kind=str(Kind.REPORT),
        title="",
        content="路口信号灯不亮",
        published_at=datetime.now(UTC),
    )
    chinese = render("济南市", [], [case], "zh-CN")
    english = render("济南市", [], [case], "en")
    assert "2026-10 · 道路交通管理 · 举报</h3>" in chinese
    assert "2026-10 · 道路交通管理 · Report</h3>" in english
    assert ">report<" not in chinese + english
    case.title = "信号灯不亮"  # a titled case keeps its title
    assert "道路交通管理 · 信号灯不亮</h3>" in render("济南市", [], [case], "zh-CN")
