"""HTTP hygiene around the API (docs/security.md): a body size limit answered before the
body is read, and the security headers every response carries."""

from __future__ import annotations

import json

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
BAD_REQUEST = "BAD_REQUEST"

# GraphiQL (served from our own origin) needs inline styles and data: fonts/images;
# nothing may come from, be sent to or frame us from another origin.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HSTS = "max-age=31536000; includeSubDomains"
# Responses that may carry tokens or personal data are never stored by caches.
NO_STORE_PREFIXES = ("/graphql", "/auth/")


def error_body(message: str, code: str) -> bytes:
    """A GraphQL-shaped error document (what clients of /graphql expect to parse)."""
    return json.dumps(
        {"data": None, "errors": [{"message": message, "extensions": {"code": code}}]},
        ensure_ascii=False,
    ).encode()


async def send_error(send: Send, status: int, message: str, code: str) -> None:
    body = error_body(message, code)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class _BodyTooLarge(Exception):
    pass


class BodyLimitMiddleware:
    """Refuses bodies over ``max_bytes`` with 413: at once when Content-Length says so,
    otherwise as soon as the streamed body passes the limit (nothing more is read)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        message = f"The request body is larger than {self.max_bytes} bytes."
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await send_error(send, 400, "Malformed Content-Length.", BAD_REQUEST)
                    return
                if declared > self.max_bytes:
                    await send_error(send, 413, message, PAYLOAD_TOO_LARGE)
                    return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            incoming = await receive()
            if incoming["type"] == "http.request":
                received += len(incoming.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLarge
            return incoming

        async def tracking_send(outgoing: Message) -> None:
            nonlocal started
            if outgoing["type"] == "http.response.start":
                started = True
            await send(outgoing)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            if not started:
                await send_error(send, 413, message, PAYLOAD_TOO_LARGE)


class SecurityHeadersMiddleware:
    """nosniff, no framing, no referrer, the CSP, HSTS over HTTPS (``scheme`` is https
    directly or through a trusted proxy's ``X-Forwarded-Proto``: uvicorn's
    ``FORWARDED_ALLOW_IPS``), and ``no-store`` on GraphQL and auth answers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = scope.get("scheme") == "https"
        no_store = str(scope.get("path", "")).startswith(NO_STORE_PREFIXES)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("x-content-type-options", "nosniff")
                headers.setdefault("x-frame-options", "DENY")
                headers.setdefault("referrer-policy", "no-referrer")
                headers.setdefault("content-security-policy", CONTENT_SECURITY_POLICY)
                headers.setdefault("cross-origin-opener-policy", "same-origin")
                if https:
                    headers.setdefault("strict-transport-security", HSTS)
                if no_store:
                    headers["cache-control"] = "no-store"
                if "server" in headers:
                    del headers["server"]
            await send(message)

        await self.app(scope, receive, with_headers)
