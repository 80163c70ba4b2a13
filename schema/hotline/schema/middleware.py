"""Who is calling, and for which city: the request's chokepoint (docs/architecture.md §3).

Authenticates the bearer token or API key, selects the city from the
``X-Hotline-Tenant`` header, the host (``jinan.hotline.example``) or the API key,
checks the caller belongs there (or administers its province), then sets the actor
on the request and the tenant scope on the task. A city the caller may not enter
answers exactly like a city that does not exist.
"""

from __future__ import annotations

import json

import structlog
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from hotline.platform.client import use_client
from hotline.platform.faults import is_transient
from hotline.platform.settings import get_settings
from hotline.platform.tenancy import Scope as TenantScope
from hotline.platform.tenancy import set_scope
from hotline.schema.context import ANONYMOUS
from hotline.schema.errors import UNAVAILABLE_MESSAGE
from hotline.tenants.accounts import identity
from hotline.tenants.kernel.access import Actor
from hotline.tenants.kernel.errors import DomainError
from hotline.tenants.provinces.current import request_cities

log = structlog.get_logger(__name__)
TENANT_HEADER = "x-hotline-tenant"
API_KEY_HEADER = "x-api-key"
# REST faces that authenticate themselves (a key in the form, a signed body) and answer
# in their own error format: hotline.schema.channels.
SELF_AUTHENTICATED = ("/open311/", "/channels/")


def requested_tenant(conn: HTTPConnection) -> str | None:
    header = conn.headers.get(TENANT_HEADER)
    if header:
        return header.strip()
    host = (conn.headers.get("host") or "").split(":")[0].lower()
    suffix = "." + get_settings().base_domain
    if host.endswith(suffix):
        sub = host[: -len(suffix)]
        if sub and "." not in sub and sub not in {"www", "api"}:
            return sub
    return None


async def resolve_actor(conn: HTTPConnection) -> Actor:
    """The actor for this connection, with the scope set for the current task."""
    tenant_ref = requested_tenant(conn)
    api_key = conn.headers.get(API_KEY_HEADER)
    authorization = conn.headers.get("authorization", "")
    bearer = authorization[7:].strip() if authorization.lower().startswith("bearer ") else None
    if api_key:
        actor = await identity.actor_for_api_key(plaintext=api_key, tenant_ref=tenant_ref)
    elif bearer:
        actor = await identity.actor_for_bearer(token=bearer, tenant_ref=tenant_ref)
    elif tenant_ref:
        actor = await identity.anonymous_in(tenant_ref=tenant_ref)
    else:
        actor = ANONYMOUS
    if actor.tenant_id is not None and actor.province_id is not None:
        set_scope(TenantScope.city(actor.tenant_id, actor.province_id, actor.user_id))
    elif actor.province_id is not None:
        set_scope(TenantScope.province(actor.province_id, actor.user_id))
    else:
        set_scope(TenantScope.platform(actor.user_id))
    return actor


class IdentityMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or (
            scope["type"] == "http"
            # /metrics checks its own scrape token (HOTLINE_METRICS_TOKEN), not a user's
            and (scope["path"] == "/metrics" or scope["path"].startswith(SELF_AUTHENTICATED))
        ):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "http":
            # the city row identity reads serves the rest of the request (a websocket
            # lives too long to keep a row: its operations read their own)
            with request_cities():
                await self._call(scope, receive, send)
        else:
            await self._call(scope, receive, send)

    async def _call(self, scope: Scope, receive: Receive, send: Send) -> None:
        conn = HTTPConnection(scope)
        try:
            actor = await resolve_actor(conn)
        except DomainError as exc:
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 4403})
                return
            status = 401 if exc.code.value == "AUTH_FAILED" else 404
            body = json.dumps(
                {"errors": [{"message": exc.message, "extensions": exc.extensions}]},
                ensure_ascii=False,
            ).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [(b"content-type", b"application/json; charset=utf-8")],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        except Exception as exc:
            # PostgreSQL or Redis away while resolving the caller: 503 now, not a bare 500
            if not is_transient(exc):
                raise
            await _unavailable(scope, send, exc)
            return
        scope.setdefault("state", {})["actor"] = actor
        with use_client(conn.client.host if conn.client else None):
            await self.app(scope, receive, send)


async def _unavailable(scope: Scope, send: Send, exc: Exception) -> None:
    """What ``hotline.schema.errors`` answers for an outage inside GraphQL, here."""
    log.warning("request.unavailable", error=type(exc).__name__, detail=str(exc))
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1013})  # try again later
        return
    body = json.dumps(
        {
            "data": None,
            "errors": [{"message": UNAVAILABLE_MESSAGE, "extensions": {"code": "UNAVAILABLE"}}],
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/json; charset=utf-8"),
                (b"retry-after", b"5"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
