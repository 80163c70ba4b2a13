"""The seeded demo cities show the business extension working: a registry of valid
USCCs in both cities, managers with portfolios and unassigned enterprises, a published
policy the demo enterprise qualifies for or misses with reasons, and the whole request
story through GraphQL in Jinan and Dezhou; seeding again adds nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio

from hotline.platform.settings import Settings
from hotline.platform.tenancy import Scope, use_scope
from hotline.schema.app import create_app
from hotline.tenants.accounts.sessions import issue_token_for
from hotline.tenants.business.models import Enterprise, PolicyNotice
from hotline.tenants.business.rules import normalize_uscc
from hotline.tenants.provinces.models import Tenant
from hotline.tenants.seed.demo import seed_demo


class Api:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def gql(
        self, user: str, city: str, query: str, variables: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        with use_scope(Scope.platform()):
            token = await issue_token_for(username=user, ttl=timedelta(hours=1))
        response = await self.client.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {token}", "X-Hotline-Tenant": city},
        )
        body: dict[str, Any] = response.json()
        assert "errors" not in body, body
        return body["data"]  # type: ignore[no-any-return]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def api(db: Settings) -> AsyncIterator[Api]:
    await seed_demo()
    transport = httpx.ASGITransport(app=create_app(db, manage_orm=False))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield Api(client)


async def _registry(slug: str) -> list[Enterprise]:
    with use_scope(Scope.platform()):
        tenant = await Tenant.get(slug=slug)
    with use_scope(Scope.city(tenant.id, tenant.province_id)):
        return await Enterprise.all()


@pytest.mark.parametrize("slug", ["jinan", "dezhou"])
async def test_the_demo_story(api: Api, slug: str) -> None:
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
