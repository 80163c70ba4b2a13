"""The GraphQL faces: dead letters and retry for admins, a user's notices, webhook
endpoints, the routing model — each tried across cities."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import httpx
import pytest_asyncio
from strawberry import relay

from hotline.platform import outbox
from hotline.platform.outbox import OutboxMessage, OutboxStatus
from hotline.platform.settings import Settings
from hotline.platform.tenancy import Scope, current_scope, set_scope, use_scope
from hotline.tenants.accounts.sessions import issue_token_for
from hotline.tenants.notifications.models import Notice, NotificationTemplate
from tests import isolation_registry

if TYPE_CHECKING:
    from tests.workers.conftest import City, World


class Api:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.tokens: dict[str, str] = {}

    async def __call__(
        self, query: str, user: str, city: City, variables: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        if user not in self.tokens:
            with use_scope(Scope.platform()):
                self.tokens[user] = await issue_token_for(username=user, ttl=timedelta(hours=1))
        saved = current_scope()
        try:
            response = await self.client.post(
                "/graphql",
                json={"query": query, "variables": variables or {}},
                headers={
                    "Authorization": f"Bearer {self.tokens[user]}",
                    "X-Hotline-Tenant": city.tenant.slug,
                },
            )
        finally:
            set_scope(saved)
        body: dict[str, Any] = response.json()
        isolation_registry.record(query, body)
        return body


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def api(db: Settings, world: World) -> AsyncIterator[Api]:
    from hotline.schema.app import create_app

    app = create_app(db, manage_orm=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        yield Api(client)


async def _dead_letter(city: City) -> int:
    with use_scope(city.scope()):
        row_id = await outbox.add(
            kind="webhook",
            tenant_id=city.id,
            province_id=city.tenant.province_id,
            payload={"endpoint_id": 0, "event": {"type": "ticket.create"}},
            send_key=f"dead-{city.id}",
        )
    with use_scope(Scope.platform()):
        await OutboxMessage.filter(id=row_id).update(
            status=OutboxStatus.DEAD, attempts=8, last_error="HTTP 503"
        )
    assert row_id is not None
    return row_id


DEAD = "{ deadLetters(first: 10) { nodes { id channel event attempts lastError } } }"
RETRY = "mutation($id: ID!) { retryDeadLetter(id: $id) { deadLetter { id } errors { code } } }"


async def test_admins_see_and_retry_only_their_citys_dead_letters(api: Api, world: World) -> None:
    alpha, beta = world.alpha, world.beta
    dead = await _dead_letter(alpha)
    gid = str(relay.GlobalID("DeadLetter", str(dead)))
    mine = await api(DEAD, "alpha-admin", alpha)
    assert mine["data"]["deadLetters"]["nodes"] == [
        {
            "id": gid,
            "channel": "webhook",
            "event": "ticket.create",
            "attempts": 8,
            "lastError": "HTTP 503",
        }
    ]
    assert (await api(DEAD, "beta-admin", beta))["data"]["deadLetters"]["nodes"] == []
    denied = await api(DEAD, "alpha-handler", alpha)
    assert denied["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"

    other = await api(RETRY, "beta-admin", beta, {"id": gid})
    assert other["data"]["retryDeadLetter"]["errors"] == [{"code": "NOT_FOUND"}]
    done = await api(RETRY, "alpha-admin", alpha, {"id": gid})
    assert done["data"]["retryDeadLetter"] == {"deadLetter": {"id": gid}, "errors": []}
    with use_scope(Scope.platform()):
        row = await OutboxMessage.get(id=dead)
    assert row.status is OutboxStatus.PENDING
    assert row.max_attempts == row.attempts + 8


NOTICES = "{ unreadNoticeCount notices(first: 5) { nodes { id title readAt } } }"
READ = "mutation($ids: [ID!]) { markNoticesRead(ids: $ids) { count errors { code } } }"


async def test_users_read_and_mark_their_own_notices(api: Api, world: World) -> None:
    alpha = world.alpha
    handler = alpha.users["handler"]
    with use_scope(alpha.scope()):
        notice = await Notice.create(
            user_id=handler.id, event="ticket.dispatched", title="新工单", send_key="n-1"
        )
    gid = str(relay.GlobalID("Notice", str(notice.id)))
    mine = (await api(NOTICES, "alpha-handler", alpha))["data"]
    assert mine["unreadNoticeCount"] == 1
    assert mine["notices"]["nodes"] == [{"id": gid, "title": "新工单", "readAt": None}]
    assert (await api(NOTICES, "alpha-manager", alpha))["data"]["notices"]["nodes"] == []
    # someone else, even in another city, marks nothing of it
    other = await api(READ, "beta-handler", world.beta, {"ids": [gid]})
    # another person's notice ids mark nothing: the answer to ids that do not exist
    assert other["data"]["markNoticesRead"] == {"count": 0, "errors": []}
    isolation_registry.record_same_as_missing("markNoticesRead")
    done = await api(READ, "alpha-handler", alpha, {"ids": [gid]})
    assert done["data"]["markNoticesRead"] == {"count": 1, "errors": []}
    assert (await api(NOTICES, "alpha-handler", alpha))["data"]["unreadNoticeCount"] == 0


CREATE_HOOK = """mutation($input: CreateWebhookEndpointInput!) {
  createWebhookEndpoint(input: $input) {
    endpoint { id url eventTypes } secret errors { code field } } }"""
HOOKS = "{ webhookEndpoints { id url } }"


async def test_webhook_endpoints_are_administered_per_city(api: Api, world: World) -> None:
    alpha, beta = world.alpha, world.beta
    bad = await api(CREATE_HOOK, "alpha-admin", alpha, {"input": {"name": "crm", "url": "ftp://x"}})
    assert bad["data"]["createWebhookEndpoint"]["errors"] == [{"code": "INVALID", "field": "url"}]
    # internal addresses are refused when the endpoint is made, not only when delivering
    for internal in ("http://127.0.0.1:6379/", "http://localhost/h", "https://10.0.0.5/h"):
        refused = await api(
            CREATE_HOOK, "alpha-admin", alpha, {"input": {"name": "crm", "url": internal}}
        )
        assert refused["data"]["createWebhookEndpoint"]["errors"] == [
            {"code": "INVALID", "field": "url"}
        ]
    assert (await api(HOOKS, "alpha-admin", alpha))["data"]["webhookEndpoints"] == []
    made = await api(
        CREATE_HOOK,
        "alpha-admin",
        alpha,
        {"input": {"name": "crm", "url": "https://crm.example/h", "eventTypes": ["ticket.create"]}},
    )
    payload = made["data"]["createWebhookEndpoint"]
    assert payload["secret"].startswith("whsec_")
    assert payload["endpoint"]["eventTypes"] == ["ticket.create"]
    assert len((await api(HOOKS, "alpha-admin", alpha))["data"]["webhookEndpoints"]) == 1
    assert (await api(HOOKS, "beta-admin", beta))["data"]["webhookEndpoints"] == []
    denied = await api(
        CREATE_HOOK, "alpha-handler", alpha, {"input": {"name": "x", "url": "https://x.example"}}
    )
    assert denied["data"]["createWebhookEndpoint"]["errors"] == [
        {"code": "PERMISSION_DENIED", "field": None}
    ]
    # another city's admin cannot touch it: the same answer as a missing endpoint
    update = """mutation($id: ID!) { updateWebhookEndpoint(input: {endpointId: $id,
        isActive: false}) { endpoint { id } errors { code } } }"""
    hook_id = payload["endpoint"]["id"]
    missing = str(relay.GlobalID("WebhookEndpoint", "999999"))
    for target in (hook_id, missing):
        other = await api(update, "beta-admin", beta, {"id": target})
        assert other["data"]["updateWebhookEndpoint"]["errors"] == [{"code": "NOT_FOUND"}]
    own = await api(update, "alpha-admin", alpha, {"id": hook_id})
    assert own["data"]["updateWebhookEndpoint"] == {"endpoint": {"id": hook_id}, "errors": []}
    # nor can an existing endpoint be pointed at one (and nothing changes)
    move = """mutation($id: ID!) { updateWebhookEndpoint(input: {endpointId: $id,
        url: "http://169.254.169.254/latest/"}) { endpoint { id } errors { code field } } }"""
    moved = await api(move, "alpha-admin", alpha, {"id": hook_id})
    assert moved["data"]["updateWebhookEndpoint"]["errors"] == [{"code": "INVALID", "field": "url"}]
    hooks = (await api(HOOKS, "alpha-admin", alpha))["data"]["webhookEndpoints"]
    assert [h["url"] for h in hooks] == ["https://crm.example/h"]


async def test_routing_model_accuracy_and_retraining(api: Api, world: World) -> None:
    alpha = world.alpha
    query = "{ routingModel { version top1Accuracy top3Accuracy } }"
    assert (await api(query, "alpha-dispatcher", alpha))["data"] == {"routingModel": None}
    retrain = "mutation { retrainRoutingModel { queued errors { code } } }"
    queued = await api(retrain, "alpha-dispatcher", alpha)
    assert queued["data"]["retrainRoutingModel"] == {"queued": True, "errors": []}
    again = await api(retrain, "alpha-admin", alpha)  # the same minute: already queued
    assert again["data"]["retrainRoutingModel"] == {"queued": False, "errors": []}
    denied = await api(retrain, "alpha-handler", alpha)
    assert denied["data"]["retrainRoutingModel"]["errors"] == [{"code": "PERMISSION_DENIED"}]


async def test_auto_dispatch_threshold_is_set_per_city(api: Api, world: World) -> None:
    alpha, beta = world.alpha, world.beta
    set_threshold = """mutation($t: Float) { setAutoDispatchThreshold(threshold: $t) {
        threshold errors { field code } } }"""
    read = "{ tenant(code: %s) { settings { autoDispatchThreshold } } }"
    done = await api(set_threshold, "alpha-dispatcher", alpha, {"t": 0.8})
    assert done["data"]["setAutoDispatchThreshold"] == {"threshold": 0.8, "errors": []}
    bad = await api(set_threshold, "alpha-dispatcher", alpha, {"t": 1.5})
    assert bad["data"]["setAutoDispatchThreshold"]["errors"] == [
        {"field": "threshold", "code": "INVALID"}
    ]
    denied = await api(set_threshold, "alpha-handler", alpha, {"t": 0.5})
    assert denied["data"]["setAutoDispatchThreshold"]["errors"][0]["code"] == "PERMISSION_DENIED"
    alpha_features = await api(read % f'"{alpha.tenant.code}"', "alpha-admin", alpha)
    beta_features = await api(read % f'"{beta.tenant.code}"', "beta-admin", beta)
    assert alpha_features["data"]["tenant"]["settings"] == {"autoDispatchThreshold": 0.8}
    # only alpha changed
    assert beta_features["data"]["tenant"]["settings"] == {"autoDispatchThreshold": None}
    off = await api(set_threshold, "alpha-admin", alpha, {"t": None})
    assert off["data"]["setAutoDispatchThreshold"] == {"threshold": None, "errors": []}


async def test_a_routing_suggestion_of_another_city_is_like_a_missing_one(
    api: Api, world: World, new_ticket: Any
) -> None:
    alpha = world.alpha
    with use_scope(alpha.scope()):
        ticket, _ = await new_ticket(alpha, content="路灯不亮")
    query = "query($id: ID!) { routingSuggestion(ticketId: $id) { source } }"
    gid = str(relay.GlobalID("Ticket", str(ticket.id)))
    mine = await api(query, "alpha-dispatcher", alpha, {"id": gid})
    assert "errors" not in mine
    # another city's ticket answers exactly like a missing one: NOT_FOUND
    other = await api(query, "beta-dispatcher", world.beta, {"id": gid})
    missing = await api(
        query, "beta-dispatcher", world.beta, {"id": str(relay.GlobalID("Ticket", "999999"))}
    )
    assert other == missing
    assert other["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    isolation_registry.record_same_as_missing("routingSuggestion")


TEMPLATE = """mutation($e: String!, $l: String!, $b: String!) { setNotificationTemplate(
    event: $e, channel: SMS, locale: $l, subject: "", body: $b) { ok errors { field code } } }"""
PREFERENCE = """mutation($e: String!, $d: ID, $u: ID) { setNotificationPreference(
    channel: EMAIL, enabled: false, event: $e, departmentId: $d, userId: $u) {
    ok errors { field code } } }"""


async def test_templates_and_preferences_are_set_per_city(api: Api, world: World) -> None:
    alpha, beta = world.alpha, world.beta
    body = "{{ number }} 已受理，请留意办理进展"
    done = await api(
        TEMPLATE, "alpha-admin", alpha, {"e": "ticket.received", "l": "zh-CN", "b": body}
    )
    assert done["data"]["setNotificationTemplate"] == {"ok": True, "errors": []}
    for variables, field in (
        ({"e": "ticket.nonsense", "l": "zh-CN", "b": body}, "event"),
        ({"e": "ticket.received", "l": "fr", "b": body}, "locale"),
        ({"e": "ticket.received", "l": "en", "b": "{{ number"}, "body"),
    ):
        bad = await api(TEMPLATE, "alpha-admin", alpha, variables)
        assert bad["data"]["setNotificationTemplate"]["errors"] == [
            {"field": field, "code": "INVALID"}
        ]
    with use_scope(alpha.scope()):
        assert await NotificationTemplate.filter(event="ticket.received").count() == 1
    with use_scope(beta.scope()):
        assert await NotificationTemplate.all().count() == 0

    handler = alpha.users["handler"]
    own = str(relay.GlobalID("User", str(handler.id)))
    mine = await api(PREFERENCE, "alpha-handler", alpha, {"e": "*", "u": own})
    assert mine["data"]["setNotificationPreference"] == {"ok": True, "errors": []}
    city_wide = await api(PREFERENCE, "alpha-handler", alpha, {"e": "*"})
    assert city_wide["data"]["setNotificationPreference"]["errors"] == [
        {"field": None, "code": "PERMISSION_DENIED"}
    ]
    # alpha's department and user, named from beta: the same answer as missing ones
    for name, value, kind in (
        ("d", alpha.depts["urban"].id, "Department"),
        ("u", handler.id, "User"),
    ):
        field = "departmentId" if name == "d" else "userId"
        for key in (value, 999999):
            other = await api(
                PREFERENCE,
                "beta-admin",
                beta,
                {"e": "*", name: str(relay.GlobalID(kind, str(key)))},
            )
            assert other["data"]["setNotificationPreference"]["errors"] == [
                {"field": field, "code": "NOT_FOUND"}
            ]
