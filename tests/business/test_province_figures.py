"""Province roll-ups of the business figures: a province admin sees its cities' requests
added up by industry and per city, managers per city — under the province scope, so
another province's city never counts; city staff are refused."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hotline.platform import clock
from hotline.platform.tenancy import Scope, use_scope
from hotline.schema.ids import encode_id
from hotline.tenants.kernel.roles import Role
from hotline.tenants.provinces.models import Province
from tests.business.conftest import (
    BizWorld,
    add_enterprise,
    add_enterprise_person,
    enable_business,
)
from tests.tickets_api.conftest import add_person, make_city

SUBMIT = """mutation { submitBusinessRequest(topic: POLICY, title: "t", content: "c") {
  request { id } errors { code } } }"""
FIGURES = """query($by: BusinessFigureDimension!, $from: Date!, $to: Date!) {
  provinceBusinessFigures(by: $by, from: $from, to: $to) { key cityId requests }
}"""


def span() -> dict[str, str]:
    today = clock.now().date()
    return {"from": str(today - timedelta(days=1)), "to": str(today + timedelta(days=1))}


async def test_the_province_adds_its_cities_up_and_only_its_own(biz: BizWorld) -> None:
    world, alpha, beta = biz.world, biz.alpha.city, biz.beta.city
    with use_scope(Scope.platform()):
        shandong = await Province.get(id=alpha.tenant.province_id)
    gamma = await make_city(shandong, "370200", "gamma")
    await enable_business(gamma)
    shop = await add_enterprise(gamma, "shop", 301, industry="52", section="F")
    soft = await add_enterprise(gamma, "soft", 302)
    await add_enterprise_person(gamma, "shop-user", Role.ENTERPRISE_USER, shop)
    await add_enterprise_person(gamma, "soft-user", Role.ENTERPRISE_USER, soft)
    await add_person(gamma, "admin", Role.TENANT_ADMIN)
    for city, who in (
        (alpha, "acme-user"),  # 65
        (alpha, "other-user"),  # 65
        (gamma, "shop-user"),  # 52
        (gamma, "soft-user"),  # 65
        (beta, "acme-user"),  # 65, but Jiangsu
    ):
        body = await world.gql(city, who, SUBMIT)
        assert body["data"]["submitBusinessRequest"]["errors"] == [], body

    def rows(body: dict[str, Any]) -> list[tuple[str | None, str | None, int]]:
        return [
            (r["key"], r["cityId"], r["requests"]) for r in body["data"]["provinceBusinessFigures"]
        ]

    by_industry = await world.gql(alpha, "province", FIGURES, {"by": "INDUSTRY", **span()})
    assert rows(by_industry) == [("52", None, 1), ("65", None, 3)]
    by_city = await world.gql(alpha, "province", FIGURES, {"by": "CITY", **span()})
    assert rows(by_city) == [(str(alpha.tenant.id), None, 2), (str(gamma.tenant.id), None, 2)]
    # a manager key is one city's: unassigned requests (no manager) per city
    by_manager = await world.gql(alpha, "province", FIGURES, {"by": "MANAGER", **span()})
    assert rows(by_manager) == [
        (None, str(encode_id("Tenant", alpha.tenant.id)), 2),
        (None, str(encode_id("Tenant", gamma.tenant.id)), 2),
    ]
    # Jiangsu's admin sees Jiangsu's only
    with use_scope(Scope.platform()):
        jiangsu = await Province.get(id=beta.tenant.province_id)
    assert jiangsu.id != shandong.id
    theirs = await world.gql(beta, "province", FIGURES, {"by": "CITY", **span()})
    assert rows(theirs) == [(str(beta.tenant.id), None, 1)]
    # city staff: the province's figures are not theirs
    refused = await world.gql(alpha, "admin", FIGURES, {"by": "CITY", **span()})
    assert refused["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"
