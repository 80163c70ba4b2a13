"""The cost of metrics and traces on the department-inbox request (50 rows, nested),
through the whole ASGI app (middleware, identity, GraphQL) in-process over httpx.

Two apps on one database, measured in alternating rounds of the same run: one with
metrics and traces off (``HOTLINE_METRICS_ENABLED=false``, no tracer: nothing
instrumented), one with both on — the GraphQL operation measured and traced, the
maintained ASGI/asyncpg/Redis/httpx instrumentations installed, sampling 10 %
(``parentbased_traceidratio``), spans exported in batches to an exporter that discards
them (an OTLP collector's cost is the network's, not ours). Traces are switched on only
for the "on" rounds (instrumentations installed, then removed), so the "off" rounds pay
nothing of them. The figure is the ratio of the per-request times; aim ≤ 1.10×. The
ratio of this process's CPU time per request is printed beside it: on a shared machine
other processes disturb it far less than they disturb the wall clock.

``python -m benchmarks.observability [requests]``
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Sequence
from datetime import timedelta

import httpx
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from tortoise import Tortoise

from benchmarks.environment import bench_environment
from benchmarks.tickets import INBOX, INBOX_ROWS, _world
from hotline.platform.db.config import init_orm
from hotline.platform.db.migrate import ensure_app_role, run_migrations
from hotline.platform.jobs import close_pools
from hotline.platform.observability import tracing
from hotline.platform.redis import close_redis
from hotline.platform.settings import Settings, get_settings
from hotline.platform.tenancy import Scope, use_scope
from hotline.schema.app import create_app
from hotline.schema.ids import encode_id
from hotline.tenants.accounts import sessions
from hotline.tenants.accounts.models import Membership, User
from hotline.tenants.kernel.roles import Role
from hotline.tenants.tickets import dispatch, intake
from hotline.tenants.tickets.models import Channel, Kind

REQUESTS = 400
ROUNDS = 6
SAMPLING = "0.1"


class Discard(SpanExporter):
    """Counts what would be exported."""

    def __init__(self) -> None:
        self.spans = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.spans += len(spans)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None


async def _setup() -> tuple[str, dict[str, str], str]:
    city = await _world()
    with use_scope(city.scope):
        for _ in range(INBOX_ROWS):
            made = await intake.create_ticket(
                actor=city.actor,
                channel=Channel.PHONE,
                kind=Kind.COMPLAINT,
                content="路灯不亮",
                category_id=city.category.id,
                area_id=city.district.id,
            )
            await dispatch.dispatch_ticket(
                actor=city.actor,
                ticket_id=made.ticket.id,
                lead_department_id=city.district.id,
                co_department_ids=[city.bureau.id],
            )
    with use_scope(Scope.platform()):
        user = await User.create(username="bench-dispatcher", display_name="bench")
    with use_scope(city.scope):
        await Membership.create(user_id=user.id, role=Role.DISPATCHER)
    with use_scope(Scope.platform()):
        token = await sessions.issue_token_for(username=user.username, ttl=timedelta(hours=2))
    headers = {"Authorization": f"Bearer {token}", "X-Hotline-Tenant": "jinan"}
    return str(encode_id("Department", city.district.id)), headers, token


async def _round(
    settings: Settings, n: int, department: str, headers: dict[str, str]
) -> tuple[float, float]:
    """Wall and CPU seconds per request (CPU: this process, every thread — the batch
    exporter's included; the database server's work is the same on and off)."""
    app = create_app(settings, manage_orm=False)
    body = {"query": INBOX, "variables": {"d": department}}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        response = await client.post("/graphql", json=body, headers=headers)  # warm
        assert response.status_code == 200, response.text
        data = response.json()
        assert "errors" not in data, data
        assert len(data["data"]["inbox"]["edges"]) == INBOX_ROWS
        start, cpu = time.perf_counter(), time.process_time()
        for _ in range(n):
            await client.post("/graphql", json=body, headers=headers)
        return (time.perf_counter() - start) / n, (time.process_time() - cpu) / n


async def measure(requests: int) -> tuple[float, float, float, float, int]:
    """Best per-request wall seconds off and on, best CPU seconds off and on, and the
    spans exported."""
    department, headers, _ = await _setup()
    base = get_settings()
    off = base.model_copy(update={"metrics_enabled": False})
    on = base.model_copy(update={"metrics_enabled": True})
    per_round = max(requests // ROUNDS, 1)
    best_off = best_on = cpu_off = cpu_on = float("inf")
    exported = 0
    for _ in range(ROUNDS):
        wall, cpu = await _round(off, per_round, department, headers)
        best_off, cpu_off = min(best_off, wall), min(cpu_off, cpu)
        sink = Discard()
        tracing.configure("hotline-bench", exporter=sink, batch=True)
        try:
            wall, cpu = await _round(on, per_round, department, headers)
            best_on, cpu_on = min(best_on, wall), min(cpu_on, cpu)
        finally:
            tracing.shutdown()
        exported += sink.spans
    return best_off, best_on, cpu_off, cpu_on, exported


async def _run(requests: int) -> None:
    settings = get_settings()
    await run_migrations(settings)
    await ensure_app_role(settings)
    await init_orm(settings)
    try:
        off, on, cpu_off, cpu_on, spans = await measure(requests)
    finally:
        await close_pools()
        await close_redis()
        await Tortoise.close_connections()
    print("observability: department inbox over HTTP (ASGI in-process), same run")
    print(f"{'metrics + traces':24} {'ms/request':>11} {'requests/s':>11} {'CPU ms':>8}")
    print(f"{'off':24} {off * 1000:11.2f} {1 / off:11.1f} {cpu_off * 1000:8.2f}")
    print(f"{'on (sampling 10 %)':24} {on * 1000:11.2f} {1 / on:11.1f} {cpu_on * 1000:8.2f}")
    print(f"ratio on/off: {on / off:.3f}x (aim <= 1.10x); spans exported: {spans}")
    # CPU time is what tracing adds, and other processes on a shared machine disturb it
    # far less than the wall clock
    print(f"CPU ratio on/off: {cpu_on / cpu_off:.3f}x")


def main(requests: int = REQUESTS) -> int:
    extra = {"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": SAMPLING}
    with bench_environment(need_s3=False, **extra):
        asyncio.run(_run(requests))
    for key in extra:
        os.environ.pop(key, None)
    return 0


if __name__ == "__main__":
    sys.exit(main(*[int(a) for a in sys.argv[1:2]]))
