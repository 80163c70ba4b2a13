"""The API's metrics and traces: the GraphQL operation measured and traced, ``/metrics``,
and OpenTelemetry's ASGI middleware when traces are on (docs/operations.md)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send
from strawberry.extensions import SchemaExtension

from hotline.platform.observability import metrics, state, tracing
from hotline.platform.settings import get_settings


def _error_code(error: Any) -> str:
    code = (getattr(error, "extensions", None) or {}).get("code")
    if code:
        return str(code)
    # masked ("Unexpected error.") or a syntax/validation error of the query
    return "UNEXPECTED" if getattr(error, "message", "") == "Unexpected error." else "INVALID_QUERY"


class ObserveOperation(SchemaExtension):
    """``hotline_graphql_request_seconds`` by operation name, type and outcome; errors by
    code; with traces on, a span ``graphql <type> <operationName>`` with the city and
    province ids as attributes (ids only: never a name, a phone or a query's variables).
    First in the schema's extensions, so it sees the errors as the client does (masked)."""

    async def on_operation(self) -> AsyncIterator[None]:
        started = time.perf_counter()
        ctx = self.execution_context
        if tracing.enabled():
            actor = getattr(ctx.context, "actor", None)
            attributes: dict[str, str | int | float | bool] = {}
            if actor is not None and actor.tenant_id is not None:
                attributes["hotline.city_id"] = actor.tenant_id
            if actor is not None and actor.province_id is not None:
                attributes["hotline.province_id"] = actor.province_id
            with tracing.span("graphql", kind=tracing.SERVER, attributes=attributes) as span:
                yield
                name, kind, outcome = self._finish(started)
                if span is not None:
                    span.update_name(f"graphql {kind} {name}")
                    span.set_attribute("graphql.operation.name", name)
                    span.set_attribute("graphql.operation.type", kind)
                    span.set_attribute("hotline.outcome", outcome)
        else:
            yield
            self._finish(started)

    def _finish(self, started: float) -> tuple[str, str, str]:
        ctx = self.execution_context
        name = metrics.operation_label(ctx.operation_name)
        try:
            kind = ctx.operation_type.value
        except Exception:  # no document: the query did not parse
            kind = "unknown"
        errors = (ctx.result.errors if ctx.result is not None else None) or (
            ctx.pre_execution_errors or []
        )
        for error in errors:
            metrics.GRAPHQL_ERRORS.labels(_error_code(error), "response").inc()
        outcome = "error" if errors else "ok"
        metrics.GRAPHQL_SECONDS.labels(name, kind, outcome).observe(time.perf_counter() - started)
        metrics.sample_db_pool()
        return name, kind, outcome


def middleware() -> list[Middleware]:
    """OpenTelemetry's ASGI middleware (server spans, context from ``traceparent``), only
    when traces are on: nothing at all otherwise."""
    provider = tracing.provider()
    if provider is None:
        return []
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

    return [
        Middleware(
            OpenTelemetryMiddleware,
            tracer_provider=provider,
            excluded_urls=tracing.EXCLUDED_URLS,
            # one server span per request, not one more per ASGI message sent/received
            exclude_spans=["receive", "send"],
        ),
        Middleware(QuietWhenUnsampled),
    ]


class QuietWhenUnsampled:
    """Inside the server span: a request whose trace is not sampled runs with the
    instrumentations off (``tracing.quiet_unless_recorded``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        with tracing.quiet_unless_recorded():
            await self.app(scope, receive, send)


async def metrics_endpoint(request: Request) -> Response:
    """Prometheus text: this process's (or, with ``PROMETHEUS_MULTIPROC_DIR``, every
    process's) metrics and the deployment state from Redis."""
    token = get_settings().metrics_token
    if token is not None:
        expected = f"Bearer {token.get_secret_value()}"
        import hmac

        if not hmac.compare_digest(request.headers.get("authorization", ""), expected):
            return Response("unauthorized\n", status_code=401, media_type="text/plain")
    metrics.sample_db_pool()
    body = metrics.exposition(await state.refresh())
    return Response(body, media_type=metrics.CONTENT_TYPE_LATEST)
