"""Traces with the in-memory span exporter: a ``createTicket`` over HTTP and its ``route``
delivery by a real worker are one trace (ASGI → GraphQL operation → asyncpg → outbox →
worker → asyncpg); jobs continue their enqueuer's trace; logs carry the ids; with
traces off nothing is carried or wrapped."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import TYPE_CHECKING

import httpx
import pytest
import structlog
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from hotline.platform import jobs
from hotline.platform.logging import configure_logging
from hotline.platform.observability import tracing
from hotline.schema.app import create_app
from hotline.schema.ids import encode_id
from tests.observability.conftest import drain_outbox

if TYPE_CHECKING:
    from tests.tickets_api.conftest import World

CREATE = """mutation CreateTicket($c: ID!) { createTicket(input: {
  channel: PHONE, kind: COMPLAINT, content: "井盖缺失很危险", citizenName: "王五",
  citizenPhone: "13700001234", categoryId: $c}) { ticket { id } errors { code } } }"""
PERSONAL = ("13700001234", "王五", "井盖缺失很危险")


def test_off_by_default_carries_nothing() -> None:
    assert not tracing.enabled()
    assert tracing.carrier() == {}
    with tracing.span("nothing") as span:
        assert span is None


@pytest.fixture(scope="module")
def exporter() -> Iterator[InMemorySpanExporter]:
    memory = InMemorySpanExporter()
    assert tracing.configure("hotline-test", exporter=memory)
    yield memory
    tracing.shutdown()


async def test_create_ticket_and_its_route_delivery_are_one_trace(
    world: World, exporter: InMemorySpanExporter
) -> None:
    city = world.alpha
    exporter.clear()
    app = create_app(world.settings, manage_orm=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        response = await client.post(
            "/graphql",
            json={
                "query": CREATE,
                "operationName": "CreateTicket",
                "variables": {"c": str(encode_id("Category", city.subcategory.id))},
            },
            headers={
                "X-Hotline-Tenant": city.slug,
                "Authorization": f"Bearer {city.tokens['agent']}",
            },
        )
    assert response.status_code == 200
    assert response.json()["data"]["createTicket"]["errors"] == []
    assert await drain_outbox() >= 1

    spans = exporter.get_finished_spans()
    [operation] = [s for s in spans if s.name == "graphql mutation CreateTicket"]
    assert operation.attributes is not None
    assert operation.attributes["hotline.city_id"] == city.tenant.id
    assert operation.attributes["graphql.operation.name"] == "CreateTicket"
    trace_id = operation.context.trace_id
    in_trace = [s for s in spans if s.context.trace_id == trace_id]
    by_id = {s.context.span_id: s for s in in_trace}

    # ASGI (the maintained middleware) is the root; the operation is inside it
    [root] = [s for s in in_trace if s.parent is None]
    assert root.name.startswith("POST")

    # asyncpg (maintained instrumentation) under the operation
    def under(span: object, ancestor: object) -> bool:
        parent = getattr(span, "parent", None)
        while parent is not None:
            current = by_id.get(parent.span_id)
            if current is ancestor:
                return True
            parent = getattr(current, "parent", None)
        return False

    database = [s for s in in_trace if (s.attributes or {}).get("db.system") == "postgresql"]
    assert any(under(s, operation) for s in database)
    # the route delivery in the worker continues the same trace, with its own queries
    [route] = [s for s in in_trace if s.name == "outbox route"]
    assert any(under(s, route) for s in database)
    # never personal data in any span of the story
    for span in spans:
        text = json.dumps(dict(span.attributes or {}), ensure_ascii=False, default=str)
        assert not any(p in text for p in PERSONAL), span.name


async def test_a_job_continues_its_enqueuers_trace(
    world: World, exporter: InMemorySpanExporter
) -> None:
    exporter.clear()
    with tracing.span("enqueuer") as parent:
        assert parent is not None
        await jobs.enqueue("ping", tenant_id=world.alpha.tenant.id)
    await drain_outbox()
    spans = exporter.get_finished_spans()
    [job] = [s for s in spans if s.name == "job ping"]
    assert job.context.trace_id == parent.get_span_context().trace_id
    assert job.parent is not None
    assert job.parent.span_id == parent.get_span_context().span_id
    # the enqueue itself went through the Redis instrumentation
    assert any((s.attributes or {}).get("db.system") == "redis" for s in spans)


def test_logs_carry_trace_and_span_ids(exporter: InMemorySpanExporter) -> None:
    out = io.StringIO()
    from hotline.platform.settings import get_settings

    settings = get_settings()
    saved = settings.log_json
    settings.log_json = True
    try:
        configure_logging(out)
        with tracing.span("logging") as span:
            assert span is not None
            structlog.get_logger("test").info("inside")
        structlog.get_logger("test").info("outside")
    finally:
        settings.log_json = saved
        configure_logging()
    inside, outside = (json.loads(line) for line in out.getvalue().splitlines()[-2:])
    assert inside["trace_id"] == format(span.get_span_context().trace_id, "032x")
    assert inside["span_id"] == format(span.get_span_context().span_id, "016x")
    assert "trace_id" not in outside
