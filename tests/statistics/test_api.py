"""cityStatistics and provinceStatistics through GraphQL: who sees what, cross-city and
cross-subtree refusals (NOT_FOUND, the same as a missing id), and today's live rows."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest_asyncio

from hotline.platform.redis import close_redis
from hotline.platform.settings import Settings
from hotline.platform.tenancy import Scope, use_scope
from hotline.schema.app import create_app
from hotline.schema.ids import encode_id
from hotline.tenants.accounts import sessions
from hotline.tenants.accounts.models import ProvinceRole, User
from hotline.tenants.kernel.roles import PlatformRole, Role
from hotline.tenants.provinces.models import Province
from hotline.tenants.tickets.models import AssignmentStatus, Channel, Status
from tests import isolation_registry
from tests.tickets_api.conftest import City, World, add_person, make_city, make_ticket

CITY = """query($from: Date!, $to: Date!, $d: ID) {
  cityStatistics(from: $from, to: $to, departmentId: $d) {
    figures { received dispatched overdueNow handlingRate
              receivedBy { dimension key count } }
    departmentRanking { id name rank score figures { received } }
    weights { rate weight }
  }
}"""
PROVINCE = """query($from: Date!, $to: Date!) {
  provinceStatistics(from: $from, to: $to) {
    figures { received }
    cityRanking { id name rank figures { received } }
  }
}"""


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def api(db: Settings) -> AsyncIterator[tuple[World, City]]:
    with use_scope(Scope.platform()):
        shandong = await Province.create(code="370000", slug="shandong", name="Shandong")
        jiangsu = await Province.create(code="320000", slug="jiangsu", name="Jiangsu")
    alpha = await make_city(shandong, "370100", "alpha")
    beta = await make_city(jiangsu, "320100", "beta")
    gamma = await make_city(shandong, "371400", "gamma")
    for city in (alpha, beta, gamma):
        await add_person(city, "province", None)
        await add_person(city, "supervisor", Role.SUPERVISOR)
        await add_person(city, "leader", Role.CITY_LEADER)
        await add_person(city, "agent", Role.AGENT)
        await add_person(city, "bureau", Role.DEPT_MANAGER, city.bureau)
    # today: alpha 3 tickets (two dispatched to the district, one to the bureau), beta 5,
    # gamma 1 — all live rows, no worker needed
    for department in (alpha.district, alpha.district, alpha.bureau):
        await make_ticket(
            alpha,
            status=Status.DISPATCHED,
            departments=[(department, AssignmentStatus.PENDING_SIGN)],
        )
    for _ in range(5):
        await make_ticket(beta, channel=Channel.WEB)
    await make_ticket(gamma)
    app = create_app(db, manage_orm=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        yield World(settings=db, alpha=alpha, beta=beta, client=client), gamma
    await close_redis()


def _today() -> dict[str, str]:
    day = datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).date()
    return {"from": (day - timedelta(days=6)).isoformat(), "to": day.isoformat()}


async def test_city_figures_today_and_ranking(api: tuple[World, City]) -> None:
    world, _ = api
    body = await world.gql(world.alpha, "supervisor", CITY, _today())
    stats = body["data"]["cityStatistics"]
    assert stats["figures"]["received"] == 3
    assert stats["figures"]["dispatched"] == 3
    assert {"dimension": "channel", "key": "phone", "count": 3} in stats["figures"]["receivedBy"]
    ranked = {r["name"]: r["figures"]["received"] for r in stats["departmentRanking"]}
    assert ranked == {"alpha district": 2, "alpha bureau": 1}
    assert {w["rate"] for w in stats["weights"]} >= {"satisfaction"}


async def test_city_statistics_cross_city_and_subtree(api: tuple[World, City]) -> None:
    world, _ = api
    # another city's department: NOT_FOUND, never its figures
    other = str(encode_id("Department", world.beta.district.id))
    body = await world.gql(world.alpha, "supervisor", CITY, {**_today(), "d": other})
    assert world.codes(body) == ["NOT_FOUND"]
    assert body["data"] is None
    # the bureau's manager: its own subtree only; the district is NOT_FOUND
    body = await world.gql(world.alpha, "bureau", CITY, _today())
    assert body["data"]["cityStatistics"]["figures"]["received"] == 1
    district = str(encode_id("Department", world.alpha.district.id))
    body = await world.gql(world.alpha, "bureau", CITY, {**_today(), "d": district})
    assert world.codes(body) == ["NOT_FOUND"]
    # the supervisor may look at the district's subtree
    body = await world.gql(world.alpha, "supervisor", CITY, {**_today(), "d": district})
    assert body["data"]["cityStatistics"]["figures"]["received"] == 2
    # the agent may not read statistics
    body = await world.gql(world.alpha, "agent", CITY, _today())
    assert world.codes(body) == ["PERMISSION_DENIED"]


async def test_province_statistics_stays_in_the_province(api: tuple[World, City]) -> None:
    world, gamma = api
    body = await world.gql(world.alpha, "province", PROVINCE, _today())
    stats = body["data"]["provinceStatistics"]
    assert stats["figures"]["received"] == 4  # alpha 3 + gamma 1; beta is Jiangsu's
    ranking = {c["name"]: c["figures"]["received"] for c in stats["cityRanking"]}
    assert ranking == {"Alpha": 3, "Gamma": 1}
    assert {c["id"] for c in stats["cityRanking"]} == {
        str(encode_id("Tenant", world.alpha.tenant.id)),
        str(encode_id("Tenant", gamma.tenant.id)),
    }
    body = await world.gql(world.beta, "province", PROVINCE, _today())
    assert body["data"]["provinceStatistics"]["figures"]["received"] == 5
    # city roles cannot roll the province up
    body = await world.gql(world.alpha, "leader", PROVINCE, _today())
    assert world.codes(body) == ["PERMISSION_DENIED"]


PROVINCE_BY_ID = """query($from: Date!, $to: Date!, $p: ID) {
  provinceStatistics(from: $from, to: $to, provinceId: $p) { figures { received } }
}"""


async def _no_city(world: World, token: str, variables: dict[str, Any]) -> dict[str, Any]:
    """A call with no X-Hotline-Tenant: the province admin's own tour (README)."""
    response = await world.client.post(
        "/graphql",
        json={"query": PROVINCE_BY_ID, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_province_admin_needs_no_city_header(api: tuple[World, City]) -> None:
    world, _ = api
    shandong = str(encode_id("Province", world.alpha.tenant.province_id))
    jiangsu = str(encode_id("Province", world.beta.tenant.province_id))
    admin = world.alpha.tokens["province"]
    body = await _no_city(world, admin, _today())
    assert body["data"]["provinceStatistics"]["figures"]["received"] == 4, body
    body = await _no_city(world, admin, {**_today(), "p": shandong})
    assert body["data"]["provinceStatistics"]["figures"]["received"] == 4, body
    # another province: refused, never its figures — the very answer to a province that
    # does not exist
    body = await _no_city(world, admin, {**_today(), "p": jiangsu})
    assert world.codes(body) == ["PERMISSION_DENIED"]
    assert body["data"] is None
    missing = await _no_city(world, admin, {**_today(), "p": str(encode_id("Province", 10**9))})
    assert [(e["message"], e["extensions"]) for e in missing["errors"]] == [
        (e["message"], e["extensions"]) for e in body["errors"]
    ]
    isolation_registry.record_same_as_missing("provinceStatistics")
    # a city role has no province to fall back on
    body = await _no_city(world, world.alpha.tokens["leader"], _today())
    assert world.codes(body) == ["PERMISSION_DENIED"]
    # the administrator of two provinces names one
    with use_scope(Scope.platform()):
        both = await User.create(username="both-provinces", display_name="both")
        for province_id in (world.alpha.tenant.province_id, world.beta.tenant.province_id):
            await ProvinceRole.create(
                user=both, province_id=province_id, role=PlatformRole.PROVINCE_ADMIN
            )
    token = await sessions.issue_token_for(username="both-provinces", ttl=timedelta(hours=1))
    body = await _no_city(world, token, _today())
    assert world.codes(body) == ["INVALID"]
    assert body["errors"][0]["extensions"]["field"] == "provinceId"
    body = await _no_city(world, token, {**_today(), "p": jiangsu})
    assert body["data"]["provinceStatistics"]["figures"]["received"] == 5, body


async def test_bad_period_is_a_clear_error(api: tuple[World, City]) -> None:
    world, _ = api
    body = await world.gql(world.alpha, "leader", CITY, {"from": "2026-03-10", "to": "2026-03-01"})
    assert world.codes(body) == ["INVALID"]


SETTINGS = """mutation($t: ID!, $w: [RankingWeightInput!]) {
  updateCitySettings(input: {tenantId: $t, rankingWeights: $w}) {
    settings { rankingWeights { rate weight } } errors { code field }
  }
}"""


async def test_the_city_sets_its_ranking_weights(api: tuple[World, City]) -> None:
    world, _ = api
    tenant = str(encode_id("Tenant", world.alpha.tenant.id))
    bad = [{"rate": "speed", "weight": 1}]
    body = await world.gql(world.alpha, "province", SETTINGS, {"t": tenant, "w": bad})
    assert [e["code"] for e in body["data"]["updateCitySettings"]["errors"]] == ["INVALID"]
    weights = [{"rate": "satisfaction", "weight": 1}, {"rate": "handling", "weight": 4}]
    body = await world.gql(world.alpha, "province", SETTINGS, {"t": tenant, "w": weights})
    assert body["data"]["updateCitySettings"]["errors"] == []
    stats = (await world.gql(world.alpha, "leader", CITY, _today()))["data"]["cityStatistics"]
    assert stats["weights"] == [
        {"rate": "handling", "weight": 4.0},
        {"rate": "satisfaction", "weight": 1.0},
    ]
    # the open work of today is not handled yet: every department scores 0 on handling
    assert {r["score"] for r in stats["departmentRanking"]} == {0.0}


RANKING = """query($from: Date!, $to: Date!) {
  provinceStatistics(from: $from, to: $to) {
    cityRanking { name rank score unrankedReason figures { received } }
  }
}"""


async def test_a_city_without_work_orders_is_listed_last_and_says_why(
    api: tuple[World, City],
) -> None:
    world, _ = api
    with use_scope(Scope.platform()):
        shandong = await Province.get(id=world.alpha.tenant.province_id)
    await make_city(shandong, "371500", "aaquiet")  # first by name; no tickets at all
    body = await world.gql(world.alpha, "province", RANKING, _today())
    ranking = body["data"]["provinceStatistics"]["cityRanking"]
    assert [c["name"] for c in ranking] == ["Alpha", "Gamma", "Aaquiet"], ranking
    scored, quiet = ranking[:2], ranking[2]
    assert all(c["score"] is not None and c["unrankedReason"] is None for c in scored)
    assert [c["rank"] for c in scored] == [1, 2]
    assert quiet == {
        "name": "Aaquiet",
        "rank": 3,
        "score": None,
        "unrankedReason": "NO_WORK_ORDERS",
        "figures": {"received": 0},
    }
