"""The ASGI application: GraphQL at ``/graphql`` (GraphiQL in a browser), health, JWKS, OIDC.

``uvicorn hotline.schema.app:app`` serves it; ``create_app`` builds one for tests.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from cross_web import HTTPException
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import Receive, Send
from starlette.types import Scope as AsgiScope
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.types.unset import UNSET, UnsetType
from tortoise import Tortoise
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from hotline.platform.auth.tokens import jwks
from hotline.platform.db.config import init_orm
from hotline.platform.logging import configure_logging
from hotline.platform.observability import tracing
from hotline.platform.redis import close_redis
from hotline.platform.settings import Settings, get_settings
from hotline.platform.tenancy import Scope as TenantScope
from hotline.platform.tenancy import set_scope
from hotline.schema import ide, oidc, public
from hotline.schema.channels import open311, sms, wechat
from hotline.schema.context import Context, actor_of
from hotline.schema.cors import HotlineCORS, OriginPolicy, configured_origins
from hotline.schema.guards import DEADLINE_EXCEEDED
from hotline.schema.health import healthz, readyz
from hotline.schema.http import (
    BAD_REQUEST,
    BodyLimitMiddleware,
    SecurityHeadersMiddleware,
    error_body,
)
from hotline.schema.middleware import IdentityMiddleware
from hotline.schema.observe import metrics_endpoint
from hotline.schema.observe import middleware as tracing_middleware
from hotline.schema.schema import build_schema
from hotline.tenants import warmup
from hotline.tenants.accounts import identity
from hotline.tenants.kernel.access import Actor
from hotline.tenants.kernel.errors import DomainError
from hotline.tenants.provinces import service as provinces_service

_NO_ACK_PAYLOAD: UnsetType = UNSET


@dataclass
class ConnectionContext(Context):
    """A WebSocket's context; Strawberry stores the ``connection_init`` payload here."""

    connection_params: dict[str, Any] = field(default_factory=dict)


def _scope_of(actor: Actor) -> TenantScope:
    if actor.tenant_id is not None and actor.province_id is not None:
        return TenantScope.city(actor.tenant_id, actor.province_id, actor.user_id)
    if actor.province_id is not None:
        return TenantScope.province(actor.province_id, actor.user_id)
    return TenantScope.platform(actor.user_id)


class HotlineGraphQL(GraphQL[Context, None]):
    def __init__(
        self, *args: Any, settings: Settings, origins: OriginPolicy, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.settings = settings
        self.origins = origins
        self.deadline_seconds = settings.request_deadline_seconds

    def is_websocket_origin_allowed(self, request: WebSocket, origin: str) -> bool:
        """Same origin passes before this; another origin only as CORS allows it."""
        return self.origins.allows(origin)

    async def render_graphql_ide(self, request: Request) -> Response:
        """Our own page: assets from this origin only (``hotline.schema.ide``)."""
        return HTMLResponse(ide.page(self.settings, request.scope.get("root_path", "")))

    async def __call__(self, scope: AsgiScope, receive: Receive, send: Send) -> None:
        """HTTP: the whole request within the deadline; refusals as GraphQL errors."""
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        response: Response
        try:
            async with asyncio.timeout(self.deadline_seconds):
                response = await self.run(Request(scope=scope, receive=receive))
        except HTTPException as exc:
            code = _HTTP_CODES.get(exc.status_code, BAD_REQUEST)
            response = _error_response(exc.status_code, exc.reason, code)
        except TimeoutError:
            response = _error_response(
                503,
                f"The request did not finish within {self.deadline_seconds:g} seconds.",
                DEADLINE_EXCEEDED,
            )
        await response(scope, receive, send)

    def decode_json(self, data: str | bytes) -> object:
        """Strict: UTF-8, nesting the parser survives, an object at the top (no batches);
        anything else is a 400 with a GraphQL error, never a 500."""
        try:
            text = data.decode("utf-8") if isinstance(data, bytes) else data
            decoded = json.loads(text)
        except UnicodeDecodeError as exc:
            raise HTTPException(400, "The request body is not valid UTF-8.") from exc
        except RecursionError as exc:
            raise HTTPException(400, "The request body is nested too deeply.") from exc
        except ValueError as exc:
            raise HTTPException(400, "The request body is not valid JSON.") from exc
        if not isinstance(decoded, dict):
            raise HTTPException(400, "The request body must be a JSON object.")
        return decoded

    async def get_context(self, request: Request | WebSocket, response: Any = None) -> Context:
        if isinstance(request, WebSocket):
            return ConnectionContext(request=request, response=None, actor=actor_of(request))
        return Context(request=request, response=response, actor=actor_of(request))

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """Browsers cannot set WebSocket headers: they send the token and the city in the
        ``connection_init`` payload (``{"authorization": "Bearer …", "tenant": "jinan"}``).
        The same checks as the HTTP middleware apply; a refusal closes with 4403."""
        params = getattr(context, "connection_params", None) or {}
        token = str(params.get("authorization") or params.get("Authorization") or "").strip()
        tenant = params.get("tenant") or params.get("X-Hotline-Tenant")
        if not token and not tenant:
            return _NO_ACK_PAYLOAD  # the upgrade request's headers decided already
        if token.lower().startswith("bearer "):
            token = token[7:].strip()
        tenant_ref = str(tenant) if tenant else None
        try:
            if token:
                actor = await identity.actor_for_bearer(token=token, tenant_ref=tenant_ref)
            elif tenant_ref is not None:
                actor = await identity.anonymous_in(tenant_ref=tenant_ref)
            else:
                return _NO_ACK_PAYLOAD
        except DomainError as exc:
            raise ConnectionRejectionError({"code": exc.code.value}) from exc
        context.actor = actor
        # The connection's operations run in tasks created after this, with this scope.
        set_scope(_scope_of(actor))
        return _NO_ACK_PAYLOAD


_HTTP_CODES = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}


def _error_response(status: int, message: str, code: str) -> Response:
    return Response(error_body(message, code), status_code=status, media_type="application/json")


async def jwks_endpoint(request: Request) -> JSONResponse:
    return JSONResponse(await jwks(), headers={"cache-control": "public, max-age=300"})


def create_app(settings: Settings | None = None, *, manage_orm: bool = True) -> Starlette:
    """``manage_orm=False`` when the caller (a test) has initialised Tortoise already."""
    s = settings or get_settings()
    s.require_production_ready()
    tracing.configure("hotline-api")  # off unless OTEL_* asks (docs/operations.md)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        configure_logging()
        if manage_orm:
            await init_orm(s)
        app.state.warmup = warmup.start()  # jieba and the city dictionaries, in background
        try:
            yield
        finally:
            app.state.warmup.cancel()
            tracing.flush()
            await close_redis()
            if manage_orm:
                await Tortoise.close_connections()

    origins = OriginPolicy(configured_origins(s), provinces_service.frontend_origins)
    graphql = HotlineGraphQL(
        build_schema(s),
        graphql_ide="graphiql" if s.graphiql_enabled else None,
        settings=s,
        origins=origins,
    )
    return Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            *([Route("/metrics", metrics_endpoint)] if s.metrics_enabled else []),
            Route("/.well-known/jwks.json", jwks_endpoint),
            *oidc.routes(),
            *public.routes(),
            *open311.routes(),
            *sms.routes(),
            *wechat.routes(),
            *(ide.routes() if s.graphiql_enabled else []),
        ],
        middleware=[
            # With traces on, OpenTelemetry's ASGI middleware sees the whole request.
            *tracing_middleware(),
            # Outermost: the real client address (X-Forwarded-For from trusted proxies
            # only) is what the rate limits and audit see (docs/operations.md).
            Middleware(ProxyHeadersMiddleware, trusted_hosts=s.trusted_proxy_list()),
            Middleware(SecurityHeadersMiddleware),
            Middleware(HotlineCORS, settings=s, policy=origins),
            Middleware(BodyLimitMiddleware, max_bytes=s.max_body_bytes),
            Middleware(SessionMiddleware, secret_key=s.session_secret.get_secret_value()),
            Middleware(IdentityMiddleware),
        ],
        lifespan=lifespan,
    )


def __getattr__(name: str) -> Any:
    """``hotline.schema.app:app`` for uvicorn, built on first access (settings read then)."""
    if name == "app":
        return create_app()
    raise AttributeError(name)
