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
from hotline.tenants.business.models import BusinessRequest
from hotline.tenants.business.warnings import warn_managers
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
