"""The API through HTTP: an ASGI client, a ``gql`` helper and a ``world`` built through GraphQL.

The world: a platform operator; provinces Shandong (370000) and Jiangsu (320000), each
with a province admin; cities alpha (370100) and gamma (370200) in Shandong and beta
(320100) in Jiangsu, each with an admin, an agent, a department handler, a small
department tree (center → district → street → community, plus a bureau) and an API key.
Everything but the operator is created with GraphQL mutations, as a frontend would.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import pytest_asyncio
from starlette.applications import Starlette
from strawberry import relay

from hotline.platform.redis import close_redis
from hotline.platform.settings import Settings, get_settings, reset_settings
from hotline.platform.tenancy import Scope, current_scope, set_scope, use_scope
from hotline.tenants.accounts import users
from tests import isolation_registry

PASSWORD = "Correct-Horse-42"
# Many logins from one test client address: the per-minute limit is not what we test here.
RATE_ENV = {"HOTLINE_LOGIN_RATE_PER_MINUTE": "10000"}


@pytest.fixture(scope="module")
def module_settings(module_settings: Settings) -> Iterator[Settings]:
    saved = {k: os.environ.get(k) for k in RATE_ENV}
    os.environ.update(RATE_ENV)
    reset_settings()
    try:
        yield get_settings()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        reset_settings()


@dataclass
class Response:
    status: int
    body: dict[str, Any]

    @property
    def data(self) -> dict[str, Any]:
        data = self.body.get("data")
        assert isinstance(data, dict), self.body
        return data

    @property
    def errors(self) -> list[dict[str, Any]]:
        return list(self.body.get("errors") or [])

    @property
    def codes(self) -> list[str | None]:
        return [e.get("extensions", {}).get("code") for e in self.errors]

    def ok(self) -> dict[str, Any]:
        """The data of a request that must succeed, with no error anywhere in payloads."""
        assert self.status == 200, (self.status, self.body)
        assert not self.errors, self.body
        for value in self.data.values():
            if isinstance(value, dict) and "errors" in value:
                assert value["errors"] == [], value
        return self.data


LOGIN = """mutation($u: String!, $p: String!, $c: String) {
  login(username: $u, password: $p, totpCode: $c) {
    tokens { accessToken refreshToken expiresIn totpEnrolmentRequired }
    errors { field code message } } }"""

CREATE_USER = """mutation($input: CreateUserInput!) {
  createUser(input: $input) { user { id username } errors { field code message } } }"""

CREATE_DEPARTMENT = """mutation($input: CreateDepartmentInput!) {
  createDepartment(input: $input) {
    department { id name kind depth } errors { field code message } } }"""

MEMBERSHIPS = """query($id: ID!) { memberships(userId: $id) { id role } }"""


@dataclass
class Person:
    username: str
    id: str
    token: str
    refresh_token: str


class Gql:
    """``await gql(query, variables, token=..., tenant=..., api_key=..., host=...)``."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def __call__(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        token: str | None = None,
        tenant: str | None = None,
        api_key: str | None = None,
        host: str | None = None,
    ) -> Response:
        headers: dict[str, str] = {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if tenant:
            headers["X-Hotline-Tenant"] = tenant
        if api_key:
            headers["X-Api-Key"] = api_key
        if host:
            headers["Host"] = host
        # The ASGI transport runs the app in this task: keep the middleware's scope
        # from leaking into the test.
        saved = current_scope()
        try:
            response = await self.client.post(
                "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
            )
        finally:
            set_scope(saved)
        body = response.json()
        isolation_registry.record(query, body)
        return Response(status=response.status_code, body=body)

    async def login(
        self, username: str, password: str = PASSWORD, *, tenant: str | None = None
    ) -> tuple[str, str]:
        """(access token, refresh token) of a password login that must succeed."""
        result = await self(LOGIN, {"u": username, "p": password}, tenant=tenant)
        tokens = result.ok()["login"]["tokens"]
        return tokens["accessToken"], tokens["refreshToken"]

    async def new_user(
        self,
        username: str,
        *,
        token: str,
        tenant: str | None = None,
        role: str | None = None,
        department: str | None = None,
    ) -> Person:
        """createUser (with a role in ``tenant``), then log the new user in."""
        data = {
            "username": username,
            "displayName": username.replace("_", " ").title(),
            "password": PASSWORD,
            "email": f"{username}@example.org",
            "role": role,
            "departmentId": department,
        }
        created = (await self(CREATE_USER, {"input": data}, token=token, tenant=tenant)).ok()
        user = created["createUser"]["user"]
        # created in a city: stored as name@city; with the city selected the bare name logs in
        access, refresh = await self.login(username, tenant=tenant)
        return Person(user["username"], user["id"], access, refresh)

    async def new_department(
        self, token: str, tenant: str, parent: str, kind: str, name: str, code: str | None = None
    ) -> str:
        data = {"parentId": parent, "kind": kind, "name": name, "code": code}
        result = await self(CREATE_DEPARTMENT, {"input": data}, token=token, tenant=tenant)
        return str(result.ok()["createDepartment"]["department"]["id"])


@pytest.fixture(scope="module")
def app(db: Settings) -> Starlette:
    # Imported here, under pytest's warning filters: the OIDC client's import warns.
    from hotline.schema.app import create_app

    return create_app(db, manage_orm=False)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http
    await close_redis()


@pytest.fixture(scope="module")
def gql(client: httpx.AsyncClient) -> Gql:
    return Gql(client)


# --- the world ------------------------------------------------------------------------


@dataclass
class City:
    id: str
    code: str
    slug: str
    province: str
    center: str
    admin: Person
    agent: Person
    handler: Person
    handler_membership: str
    api_key: str
    api_key_secret: str
    # code → global id: district, street, community, bureau
    departments: dict[str, str] = field(default_factory=dict)


@dataclass
class World:
    password: str
    operator: Person
    shandong: str
    jiangsu: str
    shandong_admin: Person
    jiangsu_admin: Person
    alpha: City
    beta: City
    gamma: City


async def _province(gql: Gql, token: str, code: str, slug: str, name: str) -> str:
    query = """mutation($input: CreateProvinceInput!) {
      createProvince(input: $input) { province { id } errors { field code message } } }"""
    data = {"code": code, "slug": slug, "name": name}
    return str(
        (await gql(query, {"input": data}, token=token)).ok()["createProvince"]["province"]["id"]
    )


async def _city(
    gql: Gql, province_admin: Person, province: str, code: str, slug: str, prefix: str
) -> City:
    query = """mutation($input: CreateTenantInput!) {
      createTenant(input: $input) { tenant { id code slug } errors { field code message } } }"""
    data = {
        "provinceId": province,
        "code": code,
        "slug": slug,
        "name": slug.title(),
        "numberPrefix": prefix,
    }
    tenant = (await gql(query, {"input": data}, token=province_admin.token)).ok()["createTenant"]
    admin = await gql.new_user(
        f"{slug}_admin", token=province_admin.token, tenant=slug, role="TENANT_ADMIN"
    )
    center_q = "{ departments(kind: CENTER) { nodes { id } } }"
    center = (await gql(center_q, token=admin.token, tenant=slug)).ok()["departments"]["nodes"][0][
        "id"
    ]
    t, s = admin.token, slug
    district = await gql.new_department(t, s, center, "DISTRICT", f"{slug} district", "d1")
    street = await gql.new_department(t, s, district, "STREET", f"{slug} street", "s1")
    community = await gql.new_department(t, s, street, "COMMUNITY", f"{slug} community", "c1")
    bureau = await gql.new_department(t, s, center, "BUREAU", f"{slug} urban bureau", "urban")
    agent = await gql.new_user(f"{slug}_agent", token=t, tenant=s, role="AGENT")
    handler = await gql.new_user(
        f"{slug}_handler", token=t, tenant=s, role="DEPT_HANDLER", department=district
    )
    membership = (await gql(MEMBERSHIPS, {"id": handler.id}, token=t, tenant=s)).ok()
    key_q = """mutation { createApiKey(name: "CTI", roles: [AGENT]) {
      apiKey { id } secret errors { field code message } } }"""
    key = (await gql(key_q, token=t, tenant=s)).ok()["createApiKey"]
    return City(
        id=tenant["tenant"]["id"],
        code=code,
        slug=slug,
        province=province,
        center=center,
        admin=admin,
        agent=agent,
        handler=handler,
        handler_membership=membership["memberships"][0]["id"],
        api_key=key["apiKey"]["id"],
        api_key_secret=key["secret"],
        departments={"d1": district, "s1": street, "c1": community, "urban": bureau},
    )


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(gql: Gql) -> World:
    with use_scope(Scope.platform()):
        operator_row = await users.create_user(
            actor=None,
            username="operator",
            display_name="Operator",
            password=PASSWORD,
            platform_operator=True,
        )
    access, refresh = await gql.login("operator")
    operator = Person("operator", "", access, refresh)
    shandong = await _province(gql, operator.token, "370000", "shandong", "Shandong")
    jiangsu = await _province(gql, operator.token, "320000", "jiangsu", "Jiangsu")
    grant = """mutation($u: ID!, $p: ID!) {
      grantProvinceAdmin(userId: $u, provinceId: $p) { ok errors { field code message } } }"""
    admins: list[Person] = []
    for name, province in (("shandong_admin", shandong), ("jiangsu_admin", jiangsu)):
        person = await gql.new_user(name, token=operator.token)
        (await gql(grant, {"u": person.id, "p": province}, token=operator.token)).ok()
        admins.append(person)
    shandong_admin, jiangsu_admin = admins
    operator.id = str(relay.to_base64("User", operator_row.id))
    return World(
        password=PASSWORD,
        operator=operator,
        shandong=shandong,
        jiangsu=jiangsu,
        shandong_admin=shandong_admin,
        jiangsu_admin=jiangsu_admin,
        alpha=await _city(gql, shandong_admin, shandong, "370100", "alpha", "AL"),
        beta=await _city(gql, jiangsu_admin, jiangsu, "320100", "beta", "BE"),
        gamma=await _city(gql, shandong_admin, shandong, "370200", "gamma", "GA"),
    )
