"""CORS for browser frontends on other origins (docs/frontend.md).

Allowed: the origins of ``HOTLINE_CORS_ORIGINS`` and those active cities list in their
``features.cors_origins`` (cities hosting their own frontends; re-read every minute).
Credentials (cookies) are not allowed unless ``HOTLINE_CORS_ALLOW_CREDENTIALS``: the API
authenticates with bearer tokens in headers. Preflights are cached by browsers for
``HOTLINE_CORS_MAX_AGE`` seconds. A refused origin gets no CORS header at all; the same
policy decides WebSocket (graphql-transport-ws) handshakes from other origins.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hotline.platform import clock
from hotline.platform.settings import Settings

ALLOWED_HEADERS = (
    "authorization",
    "content-type",
    "accept",
    "accept-language",
    "x-hotline-tenant",
    "x-api-key",
)
REFRESH_SECONDS = 60.0
RETRY_SECONDS = 5.0

log = logging.getLogger(__name__)


class OriginPolicy:
    """The allowed origins: configured ones, plus the cities' (read through ``load``)."""

    def __init__(
        self, configured: frozenset[str], load: Callable[[], Awaitable[frozenset[str]]]
    ) -> None:
        self.configured = configured
        self.load = load
        self.cities: frozenset[str] = frozenset()
        self.loaded_at: float | None = None

    async def refresh(self) -> None:
        now = clock.monotonic()
        if self.loaded_at is not None and now - self.loaded_at < REFRESH_SECONDS:
            return
        self.loaded_at = now
        try:
            self.cities = await self.load()
        except Exception:  # the database is down: keep what we knew, retry soon
            log.warning("could not read the cities' CORS origins", exc_info=True)
            self.loaded_at = now - REFRESH_SECONDS + RETRY_SECONDS

    def allows(self, origin: str) -> bool:
        origin = origin.rstrip("/").lower()
        return origin in self.configured or origin in self.cities


def configured_origins(settings: Settings) -> frozenset[str]:
    return frozenset(
        o.strip().rstrip("/").lower() for o in settings.cors_origins.split(",") if o.strip()
    )


class HotlineCORS(CORSMiddleware):
    def __init__(self, app: ASGIApp, settings: Settings, policy: OriginPolicy) -> None:
        super().__init__(
            app,
            allow_origins=(),
            allow_methods=("GET", "POST"),
            allow_headers=ALLOWED_HEADERS,
            allow_credentials=settings.cors_allow_credentials,
            max_age=settings.cors_max_age,
        )
        self.policy = policy

    def is_allowed_origin(self, origin: str) -> bool:
        return self.policy.allows(origin)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if origin is not None:
            await self.policy.refresh()
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)  # the GraphQL view checks the origin
            return
        if (
            origin is not None
            and scope["method"] == "OPTIONS"
            and "access-control-request-method" in headers
            and not self.policy.allows(origin)
        ):
            # no CORS header at all: the browser refuses, and learns nothing of our policy
            await PlainTextResponse("Disallowed CORS origin", status_code=403)(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    async def send(self, message: Message, send: Send, request_headers: Headers) -> None:
        origin = request_headers.get("origin")
        if message["type"] == "http.response.start" and origin and not self.policy.allows(origin):
            MutableHeaders(scope=message).add_vary_header("Origin")
            await send(message)  # a refused origin: no Access-Control-* header at all
            return
        await super().send(message, send, request_headers)
