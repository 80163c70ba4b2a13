"""The ASGI application: GraphQL at ``/graphql`` (GraphiQL in a browser), health, JWKS, OIDC.

``uvicorn hotline.schema.app:app`` serves it; ``create_app`` builds one for tests.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from tortoise import Tortoise

from hotline.platform.auth.tokens import jwks
from hotline.platform.db.config import init_orm
from hotline.platform.logging import configure_logging
from hotline.platform.redis import close_redis
from hotline.platform.settings import Settings, get_settings
from hotline.schema import oidc
from hotline.schema.context import Context, actor_of
from hotline.schema.health import healthz, readyz
from hotline.schema.middleware import IdentityMiddleware
from hotline.schema.schema import build_schema


class HotlineGraphQL(GraphQL[Context, None]):
    async def get_context(self, request: Request | WebSocket, response: Any = None) -> Context:
        return Context(request=request, response=response, actor=actor_of(request))


async def jwks_endpoint(request: Request) -> JSONResponse:
    return JSONResponse(await jwks(), headers={"cache-control": "public, max-age=300"})


def create_app(settings: Settings | None = None, *, manage_orm: bool = True) -> Starlette:
    """``manage_orm=False`` when the caller (a test) has initialised Tortoise already."""
    s = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        configure_logging()
        if manage_orm:
            await init_orm(s)
        try:
            yield
        finally:
            await close_redis()
            if manage_orm:
                await Tortoise.close_connections()

    graphql = HotlineGraphQL(build_schema(s), graphql_ide="graphiql")
    return Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/.well-known/jwks.json", jwks_endpoint),
            *oidc.routes(),
        ],
        middleware=[
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
