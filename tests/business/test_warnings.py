"""The warning before a manager's first-response deadline: the per-city deadline sweep
tells the request's manager once, through the outbox, when the request's warning time
(the SLA's due-soon share of the working time to its deadline) has come and the manager
has neither answered nor dispatched; never early, never twice, never after a response,
never for another city."""

from __future__ import annotations

from datetime import timedelta

from hotline.platform import clock
from hotline.platform.outbox.models import OutboxMessage
from hotline.platform.tenancy import Scope, use_scope
from hotline.schema.ids import encode_id
from hotline.tenants.accounts.models import Membership
from hotline.tenants.business.models import BusinessRequest
from hotline.tenants.business.warnings import warn_managers
from hotline.tenants.kernel.roles import Role
from hotline.workers import sweeps
from tests.business.conftest import BizWorld

ASSIGN = """mutation($m: ID!, $e: ID!) {
  assignServiceManager(input: {managerId: $m, enterpriseId: $e}) { errors { code } }
}"""
SUBMIT = """mutation($t: String!) { submitBusinessRequest(topic: POLICY, title: $t,
  content: "能否享受？") { request { id responseDeadline } errors { code } } }"""


async def _outbox(key_prefix: str) -> list[OutboxMessage]:
    with use_scope(Scope.platform()):
        return await OutboxMessage.filter(send_key__startswith=key_prefix).all()


async def test_the_manager_is_warned_once_before_the_deadline(biz: BizWorld) -> None:
    world = biz.world
    for bc in (biz.alpha, biz.beta):
        assigned = await world.gql(
            bc.city,
            "admin",
            ASSIGN,
            {
                "m": str(encode_id("User", bc.city.users["manager"])),
                "e": str(encode_id("Enterprise", bc.enterprises["acme"].id)),
            },
        )
        assert assigned["data"]["assignServiceManager"]["errors"] == []
    city = biz.alpha.city
    ids = []
    for title in ("研发费用加计扣除", "已答复的诉求"):
        body = await world.gql(city, "acme-user", SUBMIT, {"t": title})
        ids.append(body["data"]["submitBusinessRequest"]["request"]["id"])
    answered = await world.gql(
        city,
        "manager",
        """mutation($id: ID!) { answerBusinessRequest(id: $id, answer: "可以") {
             errors { code } } }""",
        {"id": ids[1]},
    )
    assert answered["data"]["answerBusinessRequest"]["errors"] == []
    beta_body = await world.gql(biz.beta.city, "acme-user", SUBMIT, {"t": "beta"})
    assert beta_body["data"]["submitBusinessRequest"]["errors"] == []

    with use_scope(city.scope()):
        waiting = await BusinessRequest.filter(responded_at__isnull=True).order_by("id").first()
    assert waiting is not None
    assert waiting.warn_at is not None
    assert waiting.created_at < waiting.warn_at < waiting.response_deadline
    prefix = f"business-due:{city.tenant.id}:"

    with use_scope(city.scope()):
        assert await warn_managers(now=waiting.warn_at - timedelta(minutes=1)) == 0
        # a request already past its deadline (one made before warnings existed, on the
        # first sweep after a deploy) is supervision's matter: no "due soon" for it
        assert await warn_managers(now=waiting.response_deadline + timedelta(minutes=1)) == 0
    assert await _outbox(prefix) == []

    # the worker's per-city sweep warns, once, however often it runs
    with clock.travel(waiting.warn_at + timedelta(minutes=1)):
        report = await sweeps.sweep_tenant({}, tenant_id=city.tenant.id)
        again = await sweeps.sweep_tenant({}, tenant_id=city.tenant.id)
    assert report["business_warned"] == 1
    assert again["business_warned"] == 0
    sent = await _outbox(prefix)
    assert [m.send_key for m in sent] == [f"{prefix}{waiting.id}"]
    payload = sent[0].payload
    assert payload["user_id"] == city.users["manager"]
    assert payload["event"] == "business.response_due_soon"
    assert "研发费用加计扣除" in payload["body"]
    with use_scope(city.scope()):
        assert (await BusinessRequest.get(id=waiting.id)).warned_at is not None
    # the other city's request is its own sweep's, not alpha's
    assert await _outbox(f"business-due:{biz.beta.city.tenant.id}:") == []


async def test_a_request_nobody_manages_goes_to_the_supervisors(biz: BizWorld) -> None:
    """An enterprise without a service manager (none assigned, or the assigned one no
    longer serving): its request is announced to the city's supervisors at once, and
    they get the warning before the deadline — once each, whatever the re-runs."""
    world, city = biz.world, biz.alpha.city
    supervisor = city.users["supervisor"]
    ids: list[int] = []
    body = await world.gql(city, "other-user", SUBMIT, {"t": "无人负责的诉求"})
    assert body["data"]["submitBusinessRequest"]["errors"] == []
    # a manager whose service-manager role is switched off serves nobody
    assigned = await world.gql(
        city,
        "admin",
        ASSIGN,
        {
            "m": str(encode_id("User", city.users["manager2"])),
            "e": str(encode_id("Enterprise", biz.alpha.enterprises["other"].id)),
        },
    )
    assert assigned["data"]["assignServiceManager"]["errors"] == []
    with use_scope(city.scope()):
        await Membership.filter(user_id=city.users["manager2"], role=Role.SERVICE_MANAGER).update(
            is_active=False
        )
    body = await world.gql(city, "other-user", SUBMIT, {"t": "专员已离岗"})
    assert body["data"]["submitBusinessRequest"]["errors"] == []
    with use_scope(city.scope()):
        rows = await BusinessRequest.filter(
            enterprise_id=biz.alpha.enterprises["other"].id
        ).order_by("id")
    ids = [r.id for r in rows]
    assert len(ids) == 2
    assert [r.manager_id for r in rows] == [None, None]

    # at submission: one message per supervisor, in the request's transaction
    announced = await _outbox(f"business-unmanaged:{city.tenant.id}:")
    assert sorted(m.send_key for m in announced) == sorted(
        f"business-unmanaged:{city.tenant.id}:{i}:{supervisor}" for i in ids
    )
    assert {m.payload["event"] for m in announced} == {"business.request_unmanaged"}
    assert all(m.payload["user_id"] == supervisor for m in announced)

    # before the deadline: the warning goes to them too, once
    first = rows[0]
    assert first.warn_at is not None
    with clock.travel(max(r.warn_at for r in rows if r.warn_at) + timedelta(minutes=1)):
        report = await sweeps.sweep_tenant({}, tenant_id=city.tenant.id)
        again = await sweeps.sweep_tenant({}, tenant_id=city.tenant.id)
    assert report["business_warned"] == 2
    assert again["business_warned"] == 0
    warned = [
        m
        for m in await _outbox(f"business-due:{city.tenant.id}:")
        if m.payload.get("business_request") in ids
    ]
    assert sorted(m.send_key for m in warned) == sorted(
        f"business-due:{city.tenant.id}:{i}:{supervisor}" for i in ids
    )
    assert {m.payload["event"] for m in warned} == {"business.unmanaged_response_due_soon"}
    assert "没有服务专员" in warned[0].payload["body"]
    # nothing of it reached the other city
    assert await _outbox(f"business-unmanaged:{biz.beta.city.tenant.id}:") == []
