"""The cost of traces on requests that are not sampled (docs/operations.md "Traces"):
with sampling at 10 % nine requests in ten are not recorded, and in those the
maintained instrumentations must not make a (non-recording) span per SQL statement and
Redis command — they are switched off for the request (``QuietWhenUnsampled``). The
sampler is asked once per span that is started, so it counts them: an unsampled
request asks it for its server and operation spans only, however many statements it
runs; a sampled one still records its statements."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from hotline.platform.observability import tracing
from hotline.schema.app import create_app

if TYPE_CHECKING:
    from tests.tickets_api.conftest import World

LIST = "query List { tickets(first: 20) { edges { node { id number status } } } }"


@pytest.fixture(params=["always_off", "always_on"])
def traced(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", request.param)
    memory = InMemorySpanExporter()
    assert tracing.configure("hotline-test", exporter=memory)
    provider = tracing.provider()
    assert provider is not None
    sampler = provider.sampler
    asked: list[str] = []
    original = sampler.should_sample

    def counting(*args: Any, **kwargs: Any) -> Any:
        asked.append(kwargs.get("name", args[2] if len(args) > 2 else "?"))
        return original(*args, **kwargs)

    sampler.should_sample = counting  # type: ignore[method-assign]
    try:
        yield request.param, asked, memory
    finally:
        tracing.shutdown()


async def test_unsampled_requests_make_no_statement_spans(world: World, traced: Any) -> None:
    mode, asked, memory = traced
    city = world.alpha
    app = create_app(world.settings, manage_orm=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        for _ in range(3):
            asked.clear()
            response = await client.post(
                "/graphql",
                json={"query": LIST, "operationName": "List"},
                headers={
                    "X-Hotline-Tenant": city.slug,
                    "Authorization": f"Bearer {city.tokens['agent']}",
                },
            )
            assert response.status_code == 200
            assert "errors" not in response.json()
            if mode == "always_off":
                # the server span and the GraphQL operation's, nothing per statement
                assert len(asked) <= 2, asked
    spans = memory.get_finished_spans()
    if mode == "always_off":
        assert spans == ()
    else:
        # sampled: the statements are there (the switch only acts when unsampled)
        assert len(asked) > 2
        assert any(s.attributes and s.attributes.get("db.system") for s in spans)
