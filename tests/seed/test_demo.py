"""The demo province as ``make run`` seeds it, seeded once for this module (seeding is
the slowest thing the suite does, so every check of the demo lives here):

* the seed: idempotent, realistic trees, and ``hotline token`` for its logins;
* routing: the README tour's work order gets rule suggestions in Jinan, a fitting one
  in Dezhou, the demo history is filed under the categories, every department carries
  a catalogue function;
* statistics: months of figures and a public page whose published cases read like a
  real center's: category fits the text, places are the city's own, no text twice,
  whole sentences, replies that answer each case;
* the business extension: a registry of valid USCCs in both cities, managers with
  portfolios and unassigned enterprises, a published policy the demo enterprise
  qualifies for or misses with reasons, and the whole request story through GraphQL in
  Jinan and Dezhou; seeding again adds nothing."""

from __future__ import annotations

import asyncio
import json
import sys
from asyncio.subprocess import PIPE
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from tortoise.expressions import Q

from hotline.platform.settings import Settings
from hotline.platform.tenancy import Scope, use_scope
from hotline.schema.app import create_app
from hotline.schema.ids import encode_id
from hotline.tenants.accounts.sessions import issue_token_for
from hotline.tenants.business.models import Enterprise, PolicyNotice
from hotline.tenants.business.rules import normalize_uscc
from hotline.tenants.categories.models import Category
from hotline.tenants.departments.models import Department, DepartmentKind
from hotline.tenants.knowledge.models import SynonymGroup
from hotline.tenants.provinces.models import Tenant
from hotline.tenants.routing.models import RoutingRule
from hotline.tenants.seed.data import PROVINCE_SYNONYMS
from hotline.tenants.seed.demo import SeedReport, seed_demo
from hotline.tenants.seed.places_demo import ROADS, demo_places
from hotline.tenants.seed.routing_demo import CATEGORIES, Cat
from hotline.tenants.statistics.models import CallRecord, PublishedCase, PublishedMonth
from hotline.tenants.tickets.models import Ticket

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
TOUR_CONTENT = "泉城路芙蓉街夜间施工噪音扰民，已持续一周"

CREATE = """mutation($input: CreateTicketInput!) { createTicket(input: $input) {
  ticket { id suggestedDepartments { department { name } ruleName } }
  errors { field code message } } }"""


class Api:
    def __init__(self, client: httpx.AsyncClient, first: SeedReport) -> None:
        self.client = client
        self.first = first  # what the first seeding reported

    async def _token(self, user: str) -> str:
        with use_scope(Scope.platform()):
            return await issue_token_for(username=user, ttl=timedelta(hours=1))

    async def gql(
        self, user: str, city: str, query: str, variables: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        token = await self._token(user)
        response = await self.client.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {token}", "X-Hotline-Tenant": city},
        )
        body: dict[str, Any] = response.json()
        assert "errors" not in body, body
        return body["data"]  # type: ignore[no-any-return]

    async def create(self, user: str, city: str, **fields: Any) -> list[dict[str, Any]]:
        ticket_input = {
            "channel": "PHONE",
            "kind": "COMPLAINT",
            "citizenName": "张先生",
            "citizenPhone": "13800001234",
            **fields,
        }
        data = await self.gql(user, city, CREATE, {"input": ticket_input})
        assert data["createTicket"]["errors"] == [], data
        suggested: list[dict[str, Any]] = data["createTicket"]["ticket"]["suggestedDepartments"]
        return suggested


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def api(db: Settings) -> AsyncIterator[Api]:
    first = await seed_demo()
    transport = httpx.ASGITransport(app=create_app(db, manage_orm=False))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield Api(client, first)


# -- the seed ------------------------------------------------------------------------


async def test_demo_seed_is_idempotent_and_realistic(api: Api) -> None:
    first = api.first
    assert first.created > 0
    second = await seed_demo()
    assert second.created == 0
    assert second.cities == first.cities
    with use_scope(Scope.platform()):
        cities = {t.slug: t for t in await Tenant.filter(slug__in=["jinan", "dezhou"])}
    assert {(t.slug, t.code) for t in cities.values()} == {
        ("jinan", "370100"),
        ("dezhou", "371400"),
    }
    for tenant in cities.values():
        with use_scope(Scope.city(tenant.id, tenant.province_id)):
            kinds = [d.kind for d in await Department.all()]
            duty = await Department.filter(kind=DepartmentKind.DUTY_ROOM).first()
        count = {kind: kinds.count(kind) for kind in DepartmentKind}
        assert count[DepartmentKind.CENTER] == 1
        assert count[DepartmentKind.BUREAU] >= 10
        assert count[DepartmentKind.DISTRICT] >= 3
        assert count[DepartmentKind.STREET] >= count[DepartmentKind.DISTRICT]
        assert count[DepartmentKind.COMMUNITY] >= count[DepartmentKind.STREET]
        assert count[DepartmentKind.UTILITY] >= 3
        assert count[DepartmentKind.DUTY_ROOM] == 1
        assert duty is not None
        assert duty.is_duty_room
    assert {u for u, _, _ in first.users} >= {"operator", "shandong_admin", "jinan_admin"}


async def test_token_prints_the_headers_to_paste(api: Api) -> None:
    hotline = str(Path(sys.executable).parent / "hotline")

    async def run(*args: str) -> tuple[int, str]:
        process = await asyncio.create_subprocess_exec(
            hotline, "token", *args, stdout=PIPE, stderr=PIPE
        )
        output, errors = await process.communicate()
        return process.returncode or 0, (output or errors).decode()

    code, output = await run("--user", "jinan_agent", "--tenant", "jinan")
    assert code == 0, output
    headers = json.loads(output)
    assert set(headers) == {"Authorization", "X-Hotline-Tenant"}
    assert headers["X-Hotline-Tenant"] == "jinan"
    scheme, token = headers["Authorization"].split(" ")
    assert scheme == "Bearer"
    assert token.count(".") == 2  # a JWT
    code, output = await run("--user", "jinan_agent", "--raw")
    assert code == 0, output
    assert output.strip().count(".") == 2
    assert not output.startswith("{")
    code, output = await run("--user", "nobody_at_all")
    assert code != 0
    assert "NOT_FOUND" in output


# -- routing ---------------------------------------------------------------------------


async def _ids(slug: str, category: str, area: str) -> dict[str, str]:
    with use_scope(Scope.platform()):
        tenant = await Tenant.get(slug=slug)
    with use_scope(Scope.city(tenant.id, tenant.province_id)):
        cat = await Category.get(name=category)
        dept = await Department.get(name=area)
    return {
        "categoryId": str(encode_id("Category", cat.id)),
        "areaId": str(encode_id("Department", dept.id)),
    }


async def test_the_readme_work_order_gets_rule_suggestions_in_jinan(api: Api) -> None:
    assert TOUR_CONTENT in README
    suggested = await api.create(
        "jinan_agent", "jinan", content=TOUR_CONTENT, address="芙蓉街 12 号"
    )
    assert suggested, "the README's tour ticket must get a rule suggestion"
    assert suggested[0]["department"]["name"] == "济南市城市管理局"
    # with its category and area, the district that owns the street comes first
    placed = await api.create(
        "jinan_agent",
        "jinan",
        content=TOUR_CONTENT,
        **await _ids("jinan", "建筑施工噪音", "泉城路街道"),
    )
    assert [s["department"]["name"] for s in placed][:2] == ["历下区", "济南市城市管理局"]


async def test_fitting_work_orders_get_rule_suggestions_in_dezhou(api: Api) -> None:
    noise = await api.create(
        "dezhou_agent", "dezhou", content="新湖街道一处工地夜间施工噪音扰民，已持续一周"
    )
    assert noise[0]["department"]["name"] == "德州市城市管理局"
    placed = await api.create(
        "dezhou_agent",
        "dezhou",
        content="新湖街道一处工地夜间施工噪音扰民，已持续一周",
        **await _ids("dezhou", "建筑施工噪音", "新湖街道"),
    )
    assert placed[0]["department"]["name"] == "德城区"
    bus = await api.create("dezhou_agent", "dezhou", content="10路公交车到站不停，等了半小时")
    assert bus[0]["department"]["name"] == "德州市公共交通集团"
    heat = await api.create("dezhou_agent", "dezhou", content="家里暖气不热，室温只有十五度")
    assert heat[0]["department"]["name"] == "德州市热力有限公司(供热)"


@pytest.mark.parametrize(("slug", "city"), [("jinan", "济南市"), ("dezhou", "德州市")])
async def test_a_school_enrolment_question_about_hukou_goes_to_education(
    api: Api, slug: str, city: str
) -> None:
    school = await api.create(
        f"{slug}_agent", slug, content="孩子明年上小学，想问一下户口不在本区能不能报名"
    )
    assert school[0]["department"]["name"] == f"{city}教育局"
    hukou = await api.create(f"{slug}_agent", slug, content="想把户口迁移过来，需要什么手续")
    assert hukou[0]["department"]["name"] == f"{city}公安局"


async def test_the_demo_cities_have_a_tree_rules_history_and_synonyms(api: Api) -> None:
    with use_scope(Scope.platform()):
        cities = await Tenant.filter(slug__in=["jinan", "dezhou"])
    for tenant in cities:
        with use_scope(Scope.city(tenant.id, tenant.province_id)):
            tops = await Category.filter(parent_id=None).count()
            leaves = await Category.filter(depth=1).count()
            rules = await RoutingRule.filter(is_active=True).count()
            history = await Ticket.filter(number__startswith="DEMO").count()
            filed = await Ticket.filter(
                number__startswith="DEMO", category_id__isnull=False
            ).count()
        assert tops >= 15
        assert leaves >= 50
        assert rules >= 100
        assert history > 0
        assert filed == history
        with use_scope(Scope.province(tenant.province_id)):
            shared = await SynonymGroup.filter(tenant_id=None).count()
        assert shared == len(PROVINCE_SYNONYMS)


async def test_the_demo_history_happened_before_the_seeding(api: Api) -> None:
    """No history ticket was received, answered, handled, graded or closed after now: a
    walk found 468 closed and one received in the future, listed above the ticket it had
    just created."""
    now = datetime.now(UTC)
    later = (
        Q(received_at__gt=now)
        | Q(answered_at__gt=now)
        | Q(dispatched_at__gt=now)
        | Q(accepted_at__gt=now)
        | Q(replied_at__gt=now)
        | Q(revisited_at__gt=now)
        | Q(closed_at__gt=now)
    )
    with use_scope(Scope.platform()):
        cities = await Tenant.filter(slug__in=["jinan", "dezhou"])
    for tenant in cities:
        with use_scope(Scope.city(tenant.id, tenant.province_id)):
            history = Ticket.filter(query_code_hash="demo-history")
            assert await history.count() > 0
            assert await history.filter(later).count() == 0


async def test_every_seeded_department_carries_a_catalogue_function(api: Api) -> None:
    """The catalogue covers the seeded trees; the corpus is their history, the landmarks
    their gazetteer, and the province routes with a model of its own."""
    from hotline.tenants.departments.functions import catalogue, routable
    from hotline.tenants.routing.places_models import (
        GazetteerPlace,
        ProvinceRoutingModel,
        RoutingFunction,
    )

    with use_scope(Scope.platform()):
        cities = await Tenant.filter(slug__in=["jinan", "dezhou"])
        mirrored = await RoutingFunction.all().count()
    assert mirrored == len(catalogue())
    for tenant in cities:
        with use_scope(Scope.city(tenant.id, tenant.province_id)):
            functions = await Department.all().values_list("function", flat=True)
            landmarks = await GazetteerPlace.filter(kind="landmark").count()
            corpus_history = await Ticket.filter(number__startswith="CORP").count()
            province_models = await ProvinceRoutingModel.all().count()
        assert None not in functions
        assert set(functions) <= set(catalogue())
        assert {f.code for f in routable() if f.dispatch == "city"} <= set(functions)
        assert landmarks >= 5
        assert corpus_history > 400
        assert province_models == 1


async def test_the_demo_cities_have_months_of_figures_and_a_public_page(api: Api) -> None:
    with use_scope(Scope.platform()):
        cities = await Tenant.filter(slug__in=["jinan", "dezhou"])
    last_month: dict[str, dict[str, Any]] = {}
    for tenant in cities:
        with use_scope(Scope.city(tenant.id, tenant.province_id)):
            months = await PublishedMonth.all().order_by("month")
            cases = await PublishedCase.all().count()
            calls = await CallRecord.all().count()
        assert len(months) >= 3  # four months of history: at least three ended
        assert all(m.figures["received"] > 1000 for m in months[1:])
        assert 0.7 < months[-1].figures["satisfaction_rate"] < 1
        assert 0.8 < months[-1].figures["connection_rate"] < 0.97
        assert cases > 0
        assert calls > 10_000
        last_month[str(tenant.slug)] = months[-1].figures
        page = await api.client.get(f"/public/{tenant.slug}")
        assert page.status_code == 200
        assert page.text.count('<svg class="chart"') == 2
    # each city its own history: the capital takes more, and the rates differ
    jinan, dezhou = last_month["jinan"], last_month["dezhou"]
    assert jinan["received"] > 1.5 * dezhou["received"]
    for rate in ("satisfaction_rate", "connection_rate"):
        assert jinan[rate] != dezhou[rate], rate


def _place_terms(slug: str) -> set[str]:
    """Every name of the city's places: its gazetteer (units, short names, landmarks and
    their aliases) and the roads its demo texts name."""
    _, gazetteer = demo_places(slug)
    return {t for p in gazetteer for t in p.terms() if t} | set(ROADS[slug])


def _without(text: str, terms: set[str]) -> str:
    """``text`` with ``terms`` blanked, longest first (黄河涯镇 before a 黄河 elsewhere)."""
    for term in sorted(terms, key=len, reverse=True):
        text = text.replace(term, "□")
    return text


def _categories(nodes: tuple[Cat, ...]) -> dict[str, Cat]:
    out: dict[str, Cat] = {}
    for node in nodes:
        out[node.name] = node
        out.update(_categories(node.children))
    return out


@pytest.mark.parametrize(("slug", "other"), [("jinan", "dezhou"), ("dezhou", "jinan")])
async def test_the_published_cases_read_like_the_citys_own(api: Api, slug: str, other: str) -> None:
    with use_scope(Scope.platform()):
        tenant = await Tenant.get(slug=slug)
    with use_scope(Scope.city(tenant.id, tenant.province_id)):
        cases = await PublishedCase.all().order_by("id")
    assert len(cases) >= 8
    texts = [c.content for c in cases]
    assert len(set(texts)) == len(texts), "a case text published twice"
    own, foreign = _place_terms(slug), _place_terms(other) - _place_terms(slug)
    categories = _categories(CATEGORIES)
    for case in cases:
        text = case.content
        assert text.endswith(("。", "！", "？")), f"cut mid-sentence: {text}"
        assert case.reply.endswith(("。", "！", "？")), f"cut mid-sentence: {case.reply}"
        assert any(t in text for t in own), f"names no place of {slug}: {text}"
        said = _without(f"{case.title} {text} {case.reply}", own)
        named = [t for t in foreign if t in said]
        assert not named, f"{slug} case names {other}'s {named}: {said}"
        cat = categories.get(case.category)
        assert cat is not None, case.category
        assert cat.keywords, case.category
        assert any(k in text for k in cat.keywords), f"{case.category} does not fit: {text}"
    replies = {c.reply for c in cases}
    assert len(replies) >= 0.8 * len(cases), "the same reply for many cases"


@pytest.mark.parametrize("slug", ["jinan", "dezhou"])
async def test_the_readme_knowledge_search_finds_an_answer(api: Api, slug: str) -> None:
    found = await api.gql(
        f"{slug}_agent",
        slug,
        'query { knowledgeSearch(text: "公积金怎么提取") { title snippet shared } }',
    )
    hits = found["knowledgeSearch"]
    assert hits, found
    assert "公积金" in hits[0]["title"]
    assert "提取" in hits[0]["title"]
    listed = await api.gql(
        f"{slug}_agent", slug, "query { articles(first: 50) { nodes { status } } }"
    )
    statuses = [a["status"] for a in listed["articles"]["nodes"]]
    assert 8 <= statuses.count("PUBLISHED") <= 12, statuses


# -- the business extension ------------------------------------------------------------


async def _registry(slug: str) -> list[Enterprise]:
    with use_scope(Scope.platform()):
        tenant = await Tenant.get(slug=slug)
    with use_scope(Scope.city(tenant.id, tenant.province_id)):
        return await Enterprise.all()


@pytest.mark.parametrize("slug", ["jinan", "dezhou"])
async def test_the_business_story(api: Api, slug: str) -> None:
    registry = await _registry(slug)
    assert len(registry) == 300
    assert all(normalize_uscc(e.uscc) == e.uscc for e in registry)
    assert len({e.industry for e in registry}) >= 8
    unassigned = await api.gql(
        f"{slug}_admin", slug, "query { unassignedEnterprises(first: 5) { nodes { id } } }"
    )
    assert unassigned["unassignedEnterprises"]["nodes"]

    mine = await api.gql(
        f"{slug}_enterprise",
        slug,
        """query { enterprises { nodes { id name legalRepresentative } }
                  policiesForEnterprise {
                    policy { title } eligibility { eligible whyNot { text } } } }""",
    )
    [enterprise] = mine["enterprises"]["nodes"]
    assert "*" in enterprise["legalRepresentative"]
    matches = mine["policiesForEnterprise"]
    assert all(m["eligibility"]["eligible"] or m["eligibility"]["whyNot"] for m in matches)
    # the demo enterprise qualifies for one policy and misses another by one condition
    assert [m["eligibility"]["eligible"] for m in matches].count(True) >= 1, matches
    [miss] = [m for m in matches if not m["eligibility"]["eligible"]]
    assert len(miss["eligibility"]["whyNot"]) == 1, miss

    asked = await api.gql(
        f"{slug}_enterprise",
        slug,
        """mutation {
             submitBusinessRequest(topic: FINANCING, title: "流动资金", content: "需要贷款") {
               request { id managerId } errors { code } } }""",
    )
    request = asked["submitBusinessRequest"]["request"]
    assert request["managerId"] is not None  # the demo enterprise is named to manager two
    answered = await api.gql(
        f"{slug}_manager2",
        slug,
        """mutation($id: ID!) { answerBusinessRequest(id: $id, answer: "已推荐三款产品") {
             request { status } errors { code } } }""",
        {"id": request["id"]},
    )
    assert answered["answerBusinessRequest"]["request"]["status"] == "closed"
    rated = await api.gql(
        f"{slug}_enterprise",
        slug,
        """mutation($id: ID!) { rateBusinessRequest(id: $id, rating: USEFUL) {
             request { rating } errors { code } } }""",
        {"id": request["id"]},
    )
    assert rated["rateBusinessRequest"]["request"]["rating"] == "USEFUL"


async def test_seeding_again_adds_nothing_and_notices_went_out(api: Api) -> None:
    before = len(await _registry("jinan"))
    await seed_demo()
    assert len(await _registry("jinan")) == before
    with use_scope(Scope.platform()):
        tenant = await Tenant.get(slug="jinan")
    with use_scope(Scope.city(tenant.id, tenant.province_id)):
        assert await PolicyNotice.all().count() > 0
