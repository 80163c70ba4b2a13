"""GraphiQL served entirely by the platform: same-origin assets with their checksums, the
Content-Security-Policy, the demo logins in development only, off in production."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import AsyncIterator

import httpx
from starlette.applications import Starlette

from hotline.platform.settings import Settings
from hotline.schema.ide import ASSETS, GRAPHIQL_VERSION

HTML = {"accept": "text/html"}
URL = re.compile(r'(?:src|href)="([^"]*)"')


def _config(page: str) -> dict[str, object]:
    block = re.search(r'<script type="application/json" id="hotline-config">(.*?)</script>', page)
    assert block is not None
    config = json.loads(block.group(1))
    assert isinstance(config, dict)
    return config


async def _client_for(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    from hotline.schema.app import create_app

    app: Starlette = create_app(settings, manage_orm=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def test_the_page_loads_nothing_from_elsewhere(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", headers=HTML)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    csp = response.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    for name in ("default-src", "script-src", "connect-src"):
        assert directives[name] == "'self'", (name, csp)
    assert directives["frame-ancestors"] == "'none'"
    assert "http" not in csp
    assert "*" not in csp
    page = response.text
    urls = URL.findall(page)
    assert len(urls) >= 8
    for url in urls:
        assert (url.startswith("/") and not url.startswith("//")) or url.startswith("data:"), url
    assert "unpkg" not in page
    assert "cdn" not in page.lower()
    assert "<script>" not in page  # no inline script: the CSP allows none
    # every script and stylesheet answers, the vendored ones with their checksums
    sums: dict[str, str] = {}
    for line in (ASSETS / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split("  ", 1)
        sums[name] = digest
    assert set(sums) >= {
        "react.production.min.js",
        "react-dom.production.min.js",
        "graphiql.min.js",
        "graphiql.min.css",
        "plugin-explorer.umd.js",
        "plugin-explorer.css",
    }
    seen = set()
    for url in urls:
        if url.startswith("data:"):
            continue
        asset = await client.get(url)
        assert asset.status_code == 200, url
        name = url.rsplit("/", 1)[-1]
        if f"/{GRAPHIQL_VERSION}/" in url:
            assert hashlib.sha256(asset.content).hexdigest() == sums[name], url
            assert "immutable" in asset.headers["cache-control"]
            seen.add(name)
    assert seen == set(sums)  # the page uses every vendored file, and only those


async def test_development_offers_the_demo_logins(client: httpx.AsyncClient) -> None:
    config = _config((await client.get("/graphql", headers=HTML)).text)
    users = config["demoUsers"]
    assert isinstance(users, list)
    names = {u["username"]: u["tenant"] for u in users}
    assert names["jinan_agent"] == "jinan"
    assert names["shandong_admin"] is None
    for city in ("jinan", "dezhou"):  # the business extension's people too
        for who in ("manager", "manager2", "enterprise"):
            assert names[f"{city}_{who}"] == city
    assert config["demoPassword"]
    assert config["endpoint"] == "/graphql"


async def test_production_turns_graphiql_off_unless_enabled(db: Settings) -> None:
    # the start-up checks of production also want SMTP; this test is about GraphiQL only
    production = db.model_copy(
        update={"env": "production", "allow_log_email": True, "metrics_enabled": False}
    )
    async for http in _client_for(production):
        page = await http.get("/graphql", headers=HTML)
        assert page.status_code == 404
        assert page.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
        asset = await http.get(f"/static/graphiql/{GRAPHIQL_VERSION}/graphiql.min.js")
        assert asset.status_code == 404
        # and introspection is off with it
        introspect = await http.post("/graphql", json={"query": "{ __schema { types { name } } }"})
        assert "introspection" in introspect.json()["errors"][0]["message"].lower()
    async for http in _client_for(production.model_copy(update={"graphiql": True})):
        page = await http.get("/graphql", headers=HTML)
        assert page.status_code == 200
        config = _config(page.text)
        assert "demoUsers" not in config
        assert "demoPassword" not in config
