"""``/metrics`` after a small work-order story: a ticket created, its routing delivered by
a real worker, the city swept; the scrape is parsed and each family checked."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hotline.platform.observability import metrics
from hotline.platform.tenancy import use_scope
from hotline.schema.ids import encode_id
from hotline.tenants.tickets.models import Status, Ticket
from hotline.workers import relay, sweeps
from tests.observability.conftest import drain_outbox, samples, value

if TYPE_CHECKING:
    from tests.tickets_api.conftest import World

CREATE = """mutation CreateTicket($c: ID!) { createTicket(input: {
  channel: PHONE, kind: COMPLAINT, content: "路灯不亮", citizenPhone: "13900005678",
  categoryId: $c}) { ticket { id status } errors { code } } }"""


async def scrape(world: World) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = await world.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return samples(response.text)


async def test_metrics_after_a_work_order_story(world: World) -> None:
    city = world.alpha
    before = await scrape(world)
    created = await world.gql(
        city, "agent", CREATE, {"c": str(encode_id("Category", city.subcategory.id))}
    )
    assert created["data"]["createTicket"]["errors"] == [], created
    # a refused operation (no token): an error with its code
    refused = await world.gql(city, None, "query Inbox { tickets(first: 5) { nodes { id } } }")
    assert refused["errors"], refused
    code = world.codes(refused)[0]
    # a query that does not validate
    invalid = await world.gql(city, "agent", "query Broken { noSuchField }")
    assert invalid["errors"]

    assert await drain_outbox() >= 1  # the route message, delivered by a real worker
    await sweeps.sweep_tenant({}, tenant_id=city.tenant.id)
    await relay.publish_state(force=True)

    found = await scrape(world)
    ok_before = (
        value(
            before,
            "hotline_graphql_request_seconds_count",
            operation="CreateTicket",
            type="mutation",
            outcome="ok",
        )
        or 0
    )
    assert (
        value(
            found,
            "hotline_graphql_request_seconds_count",
            operation="CreateTicket",
            type="mutation",
            outcome="ok",
        )
        == ok_before + 1
    )
    assert (
        value(
            found,
            "hotline_graphql_request_seconds_count",
            operation="Inbox",
            type="query",
            outcome="error",
        )
        or 0
    ) >= 1
    assert (value(found, "hotline_graphql_errors_total", code=code, where="response") or 0) >= 1
    assert (
        value(found, "hotline_graphql_errors_total", code="INVALID_QUERY", where="response") or 0
    ) >= 1
    # the delivery job and the sweep, measured by task and outcome
    assert (value(found, "hotline_job_seconds_count", task="deliver_batch", outcome="ok") or 0) >= 1
    assert (value(found, "hotline_job_seconds_count", task="sweep_tenant", outcome="ok") or 0) >= 1
    # the runtime pool
    assert (
        value(found, "hotline_db_pool_connections", state="max") == world.settings.database_pool_max
    )
    assert value(found, "hotline_db_pool_connections", state="waiting") == 0
    # the deployment state: the sweep's backlog of the city equals the table's
    with use_scope(city.scope()):
        open_count = await Ticket.filter(
            status__in=[
                Status.RECEIVED,
                Status.DISPATCHED,
                Status.ACCEPTED,
                Status.RETURNED,
                Status.REPLIED,
                Status.REVISIT,
                Status.REOPENED,
            ]
        ).count()
    assert open_count >= 1
    assert value(found, "hotline_work_orders_open", city=city.slug) == open_count
    assert value(found, "hotline_work_orders_overdue", city=city.slug) == 0
    assert value(found, "hotline_evidence_queue", city=city.slug) == 0
    assert value(found, "hotline_outbox_oldest_due_seconds") == 0  # all delivered
    assert value(found, "hotline_outbox_dead_letters") == 0
    assert value(found, "hotline_queue_jobs", queue="default") == 0
    assert (value(found, "hotline_state_age_seconds", source="city", city=city.slug) or 0) < 60


async def test_operation_names_are_bounded(world: World) -> None:
    assert metrics.operation_label(None) == "anonymous"
    assert metrics.operation_label("not a name; drop table") == "other"
    assert metrics.operation_label("x" * 65) == "other"


async def test_metrics_token(world: World) -> None:
    from pydantic import SecretStr

    from hotline.platform.settings import get_settings

    settings = get_settings()
    settings.metrics_token = SecretStr("scrape-secret")
    try:
        assert (await world.client.get("/metrics")).status_code == 401
        ok = await world.client.get("/metrics", headers={"Authorization": "Bearer scrape-secret"})
        assert ok.status_code == 200
    finally:
        settings.metrics_token = None
