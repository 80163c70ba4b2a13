"""The API's guards and REST faces: query limits, introspection, error masking, bad
input, health, JWKS, and a province's OpenID Connect issuer (a real local server)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey, generate_key
from starlette.applications import Starlette

from hotline.platform import storage
from hotline.platform.settings import Settings
from hotline.platform.tenancy import Scope, use_scope
from hotline.tenants.accounts.models import User
from hotline.tenants.provinces.models import Province
from tests.api.conftest import PASSWORD

if TYPE_CHECKING:
    from tests.api.conftest import Gql, World


async def test_depth_limit(gql: Gql, world: World, db: Settings) -> None:
    nested = "id"
    for _ in range(db.graphql_max_depth + 1):
        nested = f"id parent {{ {nested} }}"
    result = await gql(
        "{ departments { nodes { " + nested + " } } }",
        token=world.alpha.admin.token,
        tenant="alpha",
    )
    assert result.body.get("data") is None
    assert "exceeds maximum operation depth" in result.errors[0]["message"]


async def test_alias_limit(gql: Gql, world: World, db: Settings) -> None:
    aliases = " ".join(
        f"a{i}: me {{ platformOperator }}" for i in range(db.graphql_max_aliases + 1)
    )
    result = await gql("{ " + aliases + " }", token=world.alpha.admin.token)
    assert result.body.get("data") is None
    assert "aliases" in result.errors[0]["message"].lower()
    # at the limit it is answered
    fine = " ".join(f"a{i}: me {{ platformOperator }}" for i in range(db.graphql_max_aliases))
    assert len((await gql("{ " + fine + " }", token=world.alpha.admin.token)).ok()) == (
        db.graphql_max_aliases
    )


async def test_token_limit(gql: Gql, world: World, db: Settings) -> None:
    fields = " ".join(["platformOperator"] * db.graphql_max_tokens)
    result = await gql("{ me { " + fields + " } }", token=world.alpha.admin.token)
    assert result.body.get("data") is None
    assert "token" in result.errors[0]["message"].lower()


INTROSPECT = "{ __schema { queryType { name } } }"


async def test_introspection_configurable(gql: Gql, db: Settings) -> None:
    assert (await gql(INTROSPECT)).ok()["__schema"] == {"queryType": {"name": "Query"}}
    from hotline.schema.app import create_app

    closed: Starlette = create_app(
        db.model_copy(update={"graphql_introspection": False}), manage_orm=False
    )
    transport = httpx.ASGITransport(app=closed)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        response = await http.post("/graphql", json={"query": INTROSPECT})
    body = response.json()
    assert body.get("data") is None
    assert "introspection" in body["errors"][0]["message"].lower()


async def test_unstorable_text_and_impossible_times_are_typed_errors(
    gql: Gql, world: World
) -> None:
    """Found by the fuzzer (tests/api/test_fuzz.py), each once "Unexpected error":
    NUL in a search (PostgreSQL refuses it), a lone surrogate, year 0, arithmetic past
    year 9999 — and a 10,000-year span the calendar would walk day by day."""
    admin: dict[str, Any] = {"token": world.alpha.admin.token, "tenant": "alpha"}
    search = "query($s: String!) { departments(search: $s) { nodes { id } } }"
    for bad in ("a\x00b", "a\ud800b"):
        # JSON's escapes carry both (a lone surrogate cannot be sent as UTF-8 itself)
        body = json.dumps({"query": search, "variables": {"s": bad}}, ensure_ascii=True)
        response = await gql.client.post(
            "/graphql",
            content=body,
            headers={
                "content-type": "application/json",
                "Authorization": f"Bearer {world.alpha.admin.token}",
                "X-Hotline-Tenant": "alpha",
            },
        )
        assert response.status_code == 200
        [error] = response.json()["errors"]
        assert error["extensions"]["code"] == "INVALID", response.text
        assert error["extensions"]["field"] == "s"
        text = response.text
        for leak in ("0x00", "UTF8", "asyncpg", "Traceback", "SELECT", "departments\\"):
            assert leak not in text
    literal = await gql('{ departments(search: "a\\u0000b") { nodes { id } } }', **admin)
    assert literal.codes == ["INVALID"], literal.body
    assert literal.errors[0]["extensions"]["field"] == "search"
    nested = await gql(
        "mutation($i: CreateUserInput!) { createUser(input: $i) { errors { code } } }",
        {"i": {"username": "nul", "displayName": "x\x00", "password": PASSWORD}},
        **admin,
    )
    assert nested.codes == ["INVALID"], nested.body
    assert nested.errors[0]["extensions"]["field"] == "i.displayName"
    # a number longer than any names no ticket (once a filter value the ORM refused)
    long_number = "N" * 45
    by_number = await gql(
        "query($n: String!) { ticketByNumber(number: $n) { id } }", {"n": long_number}, **admin
    )
    assert by_number.codes == ["NOT_FOUND"], by_number.body
    public = await gql(
        'query($n: String!) { publicTicket(number: $n, queryCode: "123456") { status } }',
        {"n": long_number},
        tenant="alpha",
    )
    assert public.codes == ["NOT_FOUND"], public.body
    # an input instant without an offset names no instant: refused as malformed
    naive = await gql(
        '{ tickets(filter: {receivedFrom: "0247-04-25T10:07:20"}) { nodes { id } } }', **admin
    )
    assert naive.status == 200
    assert "Unexpected error" not in json.dumps(naive.body)
    assert "with its offset" in naive.errors[0]["message"], naive.body
    year0 = await gql("{ calendarDays(year: 0) { day } }", **admin)
    assert year0.codes == ["INVALID"], year0.body
    far = await gql(
        '{ calendar { addWorkingDays(start: "9999-12-30T10:00:00+08:00", days: 5) } }', **admin
    )
    assert far.codes == ["INVALID"], far.body
    assert "Overflow" not in json.dumps(far.body)
    span = await gql(
        """{ calendar { workingHoursBetween(start: "1900-01-01T00:00:00+08:00",
             end: "8999-12-31T00:00:00+08:00") } }""",
        **admin,
    )
    assert span.codes == ["INVALID"], span.body


async def test_bad_input_is_a_typed_error_and_changes_nothing(gql: Gql, world: World) -> None:
    token = world.shandong_admin.token
    listing = "{ tenants { code } }"
    before = (await gql(listing, token=token)).ok()["tenants"]
    create = """mutation($p: ID!, $code: String!, $prefix: String!) { createTenant(input: {
        provinceId: $p, code: $code, slug: "jinan", name: "Jinan", numberPrefix: $prefix }) {
        tenant { id } errors { field code message } } }"""
    bad_code = await gql(
        create, {"p": world.shandong, "code": "37AB00", "prefix": "JN"}, token=token
    )
    assert bad_code.data["createTenant"] == {
        "tenant": None,
        "errors": [
            {
                "field": "code",
                "code": "INVALID",
                "message": "code must be a 6-digit GB/T 2260 division code",
            }
        ],
    }
    bad_prefix = await gql(
        create, {"p": world.shandong, "code": "370100", "prefix": "j"}, token=token
    )
    # alpha already holds 370100: either way a typed error, never an exception
    assert bad_prefix.data["createTenant"]["errors"][0]["code"] in {"INVALID", "CONFLICT"}
    duplicate = await gql(
        create, {"p": world.shandong, "code": "370100", "prefix": "JN"}, token=token
    )
    assert duplicate.data["createTenant"]["errors"] == [
        {"field": "code", "code": "CONFLICT", "message": "a city with this code or slug exists"}
    ]
    # a department left behind by the failed duplicate would show up in alpha
    assert (await gql(listing, token=token)).ok()["tenants"] == before
    centers = await gql(
        "{ departments(kind: CENTER) { nodes { id } } }", token=token, tenant="alpha"
    )
    assert len(centers.ok()["departments"]["nodes"]) == 1
    # a malformed global id is a clear error about the value, changing nothing
    wrong = await gql(
        'mutation { revokeApiKey(apiKeyId: "bm90LWEtZ2xvYmFsLWlk") { errors { field code } } }',
        token=world.alpha.admin.token,
        tenant="alpha",
    )
    assert wrong.body["data"] is None
    assert wrong.errors[0]["message"].startswith("Value cannot represent a GlobalID")


async def test_health_and_readiness(client: httpx.AsyncClient, db: Settings) -> None:
    await storage.ensure_bucket(db)  # each test module has a bucket name of its own
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ok",
        "checks": {"postgres": "ok", "redis": "ok", "s3": "ok"},
    }


async def test_jwks_verifies_our_tokens(client: httpx.AsyncClient, gql: Gql, world: World) -> None:
    access, _ = await gql.login(world.alpha.agent.username)
    response = await client.get("/.well-known/jwks.json")
    assert response.headers["cache-control"].startswith("public")
    keys = KeySet.import_key_set(response.json())
    token = jwt.decode(access, keys, algorithms=["ES256"])
    assert token.claims["name"] == world.alpha.agent.username
    assert all("d" not in k for k in response.json()["keys"])


# --- a province's OpenID Connect issuer ---------------------------------------------------


class _Issuer:
    """A local OpenID provider: discovery document and JWKS."""

    def __init__(self) -> None:
        self.key: RSAKey = generate_key("RSA", 2048, parameters={"kid": "idp-1"})
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                documents: dict[str, Any] = {
                    "/.well-known/openid-configuration": {
                        "issuer": issuer.url,
                        "authorization_endpoint": f"{issuer.url}/authorize",
                        "token_endpoint": f"{issuer.url}/token",
                        "jwks_uri": f"{issuer.url}/jwks.json",
                        "response_types_supported": ["code"],
                        "subject_types_supported": ["public"],
                        "id_token_signing_alg_values_supported": ["RS256"],
                    },
                    "/jwks.json": {"keys": [issuer.key.as_dict(private=False)]},
                }
                document = documents.get(self.path)
                if document is None:
                    self.send_error(404)
                    return
                body = json.dumps(document).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def token(self, sub: str) -> str:
        now = int(time.time())
        claims = {"iss": self.url, "sub": sub, "aud": "hotline", "iat": now, "exp": now + 300}
        return jwt.encode({"alg": "RS256", "kid": self.key.kid}, claims, self.key)


@pytest.fixture(scope="module")
def issuer() -> Iterator[_Issuer]:
    idp = _Issuer()
    idp.thread.start()
    yield idp
    idp.server.shutdown()
    idp.server.server_close()
    idp.thread.join()


async def _configure(issuer: _Issuer, world: World) -> None:
    with use_scope(Scope.platform()):
        await Province.filter(code="370000").update(
            oidc={
                "issuer": issuer.url,
                "jwks_uri": f"{issuer.url}/jwks.json",
                "audience": "hotline",
                "client_id": "hotline-client",
                "client_secret": "hotline-secret",
            }
        )
        await User.filter(username=world.alpha.handler.username).update(
            external_id=f"{issuer.url}|ext-handler"
        )


async def test_oidc_login_redirects_with_state(
    client: httpx.AsyncClient, issuer: _Issuer, world: World
) -> None:
    await _configure(issuer, world)
    response = await client.get("/auth/oidc/shandong/login")
    assert response.status_code == 302
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{issuer.url}/authorize"
    params = parse_qs(location.query)
    assert params["client_id"] == ["hotline-client"]
    assert params["response_type"] == ["code"]
    assert params["state"][0]
    assert params["redirect_uri"] == ["http://testserver/auth/oidc/shandong/callback"]
    assert "openid" in params["scope"][0]
    # a province without an issuer, or no province at all
    assert (await client.get("/auth/oidc/jiangsu/login")).status_code == 404
    assert (await client.get("/auth/oidc/nowhere/login")).status_code == 404


async def test_external_bearer_tokens(gql: Gql, issuer: _Issuer, world: World) -> None:
    await _configure(issuer, world)
    me = "{ me { user { username } currentTenant { slug } } }"
    linked = await gql(me, token=issuer.token("ext-handler"), tenant="alpha")
    assert linked.ok()["me"] == {
        "user": {"username": world.alpha.handler.username},
        "currentTenant": {"slug": "alpha"},
    }
    # the linked user's cities only
    other = await gql(me, token=issuer.token("ext-handler"), tenant="beta")
    assert (other.status, other.codes) == (404, ["NOT_FOUND"])
    unlinked = await gql(me, token=issuer.token("ext-stranger"))
    assert (unlinked.status, unlinked.codes) == (401, ["AUTH_FAILED"])
    stranger_key = generate_key("RSA", 2048, parameters={"kid": "idp-1"})
    now = int(time.time())
    forged = jwt.encode(
        {"alg": "RS256", "kid": "idp-1"},
        {"iss": issuer.url, "sub": "ext-handler", "aud": "hotline", "iat": now, "exp": now + 60},
        stranger_key,
    )
    assert (await gql(me, token=forged)).status == 401


async def test_error_texts_follow_the_readers_language(
    client: httpx.AsyncClient, world: World
) -> None:
    create = """mutation($p: ID!) { createTenant(input: { provinceId: $p, code: "37AB00",
        slug: "x-city", name: "X", numberPrefix: "XX" }) {
        errors { field code localizedMessage } } }"""
    answers = {}
    for language in ("zh-CN,zh;q=0.9", "en-US,en;q=0.8"):
        response = await client.post(
            "/graphql",
            json={"query": create, "variables": {"p": world.shandong}},
            headers={
                "Authorization": f"Bearer {world.shandong_admin.token}",
                "Accept-Language": language,
            },
        )
        answers[language[:2]] = response.json()["data"]["createTenant"]["errors"]
    assert answers["zh"] == [
        {
            "field": "code",
            "code": "INVALID",
            "localizedMessage": "代码须为 6 位 GB/T 2260 行政区划代码",
        }
    ]
    assert answers["en"] == [
        {
            "field": "code",
            "code": "INVALID",
            "localizedMessage": "Code must be a 6-digit GB/T 2260 division code",
        }
    ]


async def test_every_error_says_why_in_chinese(client: httpx.AsyncClient, world: World) -> None:
    """A sample of errors of different kinds, each with its own Chinese reason."""

    async def errors(query: str, token: str | None, tenant: str | None = None) -> Any:
        headers = {"Accept-Language": "zh-CN,zh;q=0.9"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if tenant:
            headers["X-Hotline-Tenant"] = tenant
        response = await client.post("/graphql", json={"query": query}, headers=headers)
        data = response.json()["data"]
        return [(e["code"], e["localizedMessage"]) for e in next(iter(data.values()))["errors"]]

    admin = world.alpha.admin.token
    assert await errors(
        'mutation { login(username: "nobody", password: "x") '
        "{ errors { code localizedMessage } } }",
        None,
    ) == [("AUTH_FAILED", "用户名或密码错误")]
    assert await errors(
        """mutation { createUser(input: { username: "a b", displayName: "X",
             password: "Long-enough-pass-2026" }) { errors { code localizedMessage } } }""",
        admin,
        "alpha",
    ) == [("INVALID", "用户名须为 3 到 64 个字母、数字或 . _ - 字符")]
    assert await errors(
        """mutation { createUser(input: { username: "weakling", displayName: "X",
             password: "short" }) { errors { code localizedMessage } } }""",
        admin,
        "alpha",
    ) == [
        (
            "WEAK_PASSWORD",
            "密码不符合要求：至少 10 个字符、"
            "须包含小写字母、大写字母、数字、其他字符中的至少 3 类（或至少 16 个字符）",
        )
    ]
    assert await errors(
        """mutation { grantMembership(userId: "VXNlcjo5OTk5OTk=", role: AGENT) {
             errors { code localizedMessage } } }""",
        admin,
        "alpha",
    ) == [("NOT_FOUND", "未找到用户，或您无权访问")]
    # an error escaping a query (not a payload) carries the same text in its extensions
    response = await client.post(
        "/graphql",
        json={"query": '{ user(id: "VXNlcjo5OTk5OTk=") { username } }'},
        headers={
            "Authorization": f"Bearer {admin}",
            "X-Hotline-Tenant": "alpha",
            "Accept-Language": "zh-CN",
        },
    )
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "NOT_FOUND"
    assert error["extensions"]["localizedMessage"] == "未找到用户，或您无权访问"
