"""GraphiQL served entirely by the platform (docs/frontend.md).

GraphiQL, React and the explorer plugin are vendored from the npm registry into
``static/graphiql/<version>/`` (``make vendor-graphiql``, with a SHA256SUMS file); the
page loads nothing from another origin and its Content-Security-Policy forbids it. In
development settings the page offers the demo users' logins; in production it is off
unless ``HOTLINE_GRAPHIQL=true``.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from hotline.platform.settings import Settings

GRAPHIQL_VERSION = "3.8.3"
STATIC = Path(__file__).parent / "static" / "graphiql"
ASSETS = STATIC / GRAPHIQL_VERSION
PREFIX = "/static/graphiql"

DEFAULT_QUERY = """# Hotline GraphiQL: everything on this page comes from this server.
# Development: pick a demo user above and "Log in" (the token goes into the headers).
{ me { user { username displayName } currentTenant { slug name } } }
"""

SCRIPTS = (
    f"{GRAPHIQL_VERSION}/react.production.min.js",
    f"{GRAPHIQL_VERSION}/react-dom.production.min.js",
    f"{GRAPHIQL_VERSION}/graphiql.min.js",
    f"{GRAPHIQL_VERSION}/plugin-explorer.umd.js",
    "hotline-ide.js",
)
STYLES = (
    f"{GRAPHIQL_VERSION}/graphiql.min.css",
    f"{GRAPHIQL_VERSION}/plugin-explorer.css",
    "hotline-ide.css",
)


def demo_users() -> list[dict[str, str | None]]:
    from hotline.tenants.seed.data import (
        DEZHOU,
        JINAN,
        PLATFORM_OPERATOR,
        PROVINCE_ADMIN,
        business_logins,
    )

    users: list[dict[str, str | None]] = [
        {"username": PLATFORM_OPERATOR[0], "role": "platform operator", "tenant": None},
        {"username": PROVINCE_ADMIN[0], "role": "province admin", "tenant": None},
    ]
    for city in (JINAN, DEZHOU):
        users += [{"username": u[0], "role": u[2], "tenant": city.slug} for u in city.users]
        # the business extension's people (service managers, the enterprise's admin)
        users += [{"username": u, "role": r, "tenant": t} for u, r, t in business_logins(city)]
    return users


def page(settings: Settings, root_path: str = "") -> str:
    config: dict[str, Any] = {"endpoint": f"{root_path}/graphql", "defaultQuery": DEFAULT_QUERY}
    if settings.env == "development":
        from hotline.tenants.seed.data import DEMO_PASSWORD

        config["demoUsers"] = demo_users()
        config["demoPassword"] = DEMO_PASSWORD
    # no "<" at all: nothing in the data can end or confuse the JSON block
    data = json.dumps(config, ensure_ascii=False).replace("<", "\\u003c")
    base = html.escape(root_path + PREFIX, quote=True)
    styles = "\n".join(f'    <link rel="stylesheet" href="{base}/{s}">' for s in STYLES)
    scripts = "\n".join(f'    <script src="{base}/{s}"></script>' for s in SCRIPTS)
    return f"""<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <title>Hotline GraphiQL</title>
    <link rel="icon" href="data:,">
{styles}
  </head>
  <body>
    <div id="hotline-bar"></div>
    <div id="graphiql">Loading…</div>
    <script type="application/json" id="hotline-config">{data}</script>
{scripts}
  </body>
</html>
"""


class _Assets(StaticFiles):
    """The vendored folder is versioned: its files never change under one URL."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        immutable = f"/{GRAPHIQL_VERSION}/" in str(scope.get("path", ""))

        async def caching(message: Any) -> None:
            if message["type"] == "http.response.start" and immutable:
                headers = [(k, v) for k, v in message["headers"] if k != b"cache-control"]
                headers.append((b"cache-control", b"public, max-age=31536000, immutable"))
                message["headers"] = headers
            await send(message)

        await super().__call__(scope, receive, caching)


def routes() -> list[Mount]:
    return [Mount(PREFIX, app=_Assets(directory=STATIC), name="graphiql-assets")]
