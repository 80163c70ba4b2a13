"""OpenTelemetry traces: off unless configured, and then through the maintained
instrumentations (ASGI, asyncpg, Redis, httpx) plus two spans of our own where no
instrumentation exists: the GraphQL operation (``hotline.schema.observe``) and a job or
outbox delivery continuing the trace that enqueued it.

On when ``OTEL_EXPORTER_OTLP_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` or
``OTEL_TRACES_EXPORTER`` (``otlp`` | ``console``) is set and ``OTEL_SDK_DISABLED`` is not
``true``; everything else (sampler ``OTEL_TRACES_SAMPLER``/``_ARG``, service name,
resource attributes, batch sizes, headers) is the SDK's standard ``OTEL_*`` variables.
When off nothing is imported beyond the API, nothing is instrumented, and every helper
here returns at its first test (docs/operations.md, "Traces").

The trace context crosses processes as a W3C ``traceparent`` carrier: in a job's
keyword argument ``otel`` (``hotline.platform.jobs.enqueue``) and in an outbox row's
payload under ``_trace`` (``hotline.platform.outbox.add``), so a ``createTicket`` and its
``route`` delivery in a worker are one trace.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from opentelemetry import propagate, trace

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

CARRIER_KEY = "_trace"  # in outbox payloads
JOB_KWARG = "otel"  # in job keyword arguments
EXCLUDED_URLS = "healthz,readyz,metrics"  # probes and scrapes make no traces
CONSUMER = trace.SpanKind.CONSUMER
SERVER = trace.SpanKind.SERVER

_provider: TracerProvider | None = None


def wanted() -> bool:
    """Whether the environment asks for traces (the standard OTEL_* variables)."""
    env = os.environ
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporter = env.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter == "none":
        return False
    return bool(
        exporter
        or env.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


def enabled() -> bool:
    return _provider is not None


def _exporter() -> SpanExporter:
    if os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()


def configure(
    service: str, *, exporter: SpanExporter | None = None, batch: bool | None = None
) -> bool:
    """Turn traces on for this process if wanted (or ``exporter`` is given: tests and
    benchmarks); idempotent. Spans are exported in batches in the background (as in
    production) unless an ``exporter`` is given without ``batch`` (tests: each span
    exported as it ends). Returns whether traces are on."""
    global _provider
    if _provider is not None:
        return True
    if exporter is None and not wanted():
        return False
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    # OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES are read by Resource.create; our
    # default name only when neither names the service.
    named = os.environ.get("OTEL_SERVICE_NAME") or "service.name=" in os.environ.get(
        "OTEL_RESOURCE_ATTRIBUTES", ""
    )
    resource = Resource.create({} if named else {SERVICE_NAME: service})
    provider = TracerProvider(resource=resource)  # sampler from OTEL_TRACES_SAMPLER(_ARG)
    if exporter is None:
        provider.add_span_processor(BatchSpanProcessor(_exporter()))
    elif batch:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    else:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    AsyncPGInstrumentor().instrument(  # type: ignore[no-untyped-call]
        tracer_provider=provider
    )
    RedisInstrumentor().instrument(tracer_provider=provider)
    HTTPXClientInstrumentor().instrument(tracer_provider=provider)
    _provider = provider
    return True


def shutdown() -> None:
    """Flush and stop (process exit); instrumentations are removed (tests)."""
    global _provider
    if _provider is None:
        return
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor

    provider, _provider = _provider, None
    for instrumentor in (
        AsyncPGInstrumentor(),  # type: ignore[no-untyped-call]
        RedisInstrumentor(),
        HTTPXClientInstrumentor(),
    ):
        instrumentor.uninstrument()
    provider.shutdown()


def flush() -> None:
    """Export what the batch processor holds (a process stopping)."""
    if _provider is not None:
        _provider.force_flush()


def provider() -> TracerProvider | None:
    return _provider


def carrier() -> dict[str, str]:
    """The current trace context as W3C headers; empty when traces are off."""
    if _provider is None:
        return {}
    headers: dict[str, str] = {}
    propagate.inject(headers)
    return headers


@contextmanager
def span(
    name: str,
    *,
    parent: Mapping[str, Any] | None = None,
    kind: trace.SpanKind = trace.SpanKind.INTERNAL,
    attributes: Mapping[str, str | int | float | bool] | None = None,
) -> Iterator[trace.Span | None]:
    """A span of ours (None when traces are off); ``parent`` is a carrier from
    :func:`carrier` in another process, else the current span is the parent."""
    if _provider is None:
        yield None
        return
    context = propagate.extract(dict(parent)) if parent else None
    tracer = _provider.get_tracer("hotline")
    with tracer.start_as_current_span(
        name, context=context, kind=kind, attributes=dict(attributes or {})
    ) as current:
        if current.is_recording():
            yield current
        else:
            with quiet():
                yield current


@contextmanager
def quiet_unless_recorded() -> Iterator[None]:
    """Run the block with the instrumentations off when the current span is not recorded
    (its trace was not sampled): with sampling at 10 % nine requests in ten would
    otherwise still pay for a non-recording span per SQL statement and Redis command
    (attributes built, sampler asked, context attached) that nobody sees. The trace
    context itself still flows: logs keep the trace id, jobs and outbox rows carry it."""
    if _provider is None or trace.get_current_span().is_recording():
        yield
        return
    with quiet():
        yield


@contextmanager
def quiet() -> Iterator[None]:
    """The maintained instrumentations' own switch (asyncpg, Redis, httpx check it first)."""
    from opentelemetry.instrumentation.utils import suppress_instrumentation

    with suppress_instrumentation():
        yield
