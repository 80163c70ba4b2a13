"""Policies through GraphQL: a department's draft with rules, published; the eligible
count; "policies you may qualify for" with reasons and a near miss's why not; drafts
hidden from enterprises; the worker's notices reach each eligible enterprise's people."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from hotline.platform import clock
from hotline.platform.tenancy import use_scope
from hotline.schema.ids import decode_id, encode_id
from hotline.tenants.business.models import Enterprise, Policy, PolicyNotice, PolicyStatus
from hotline.tenants.business.notify import MAX_NOTIFY_ATTEMPTS, waiting_policies
from hotline.tenants.kernel.errors import Invalid
from hotline.workers.business import notify_policy
from tests.business.conftest import BizWorld

CREATE = """mutation($input: CreatePolicyInput!) {
  createPolicy(input: $input) { policy { id status } errors { code field message } }
}"""
PUBLISH = """mutation($id: ID!) {
  publishPolicy(id: $id) { policy { status publishedAt } errors { code } }
}"""
FOR_ME = """query {
  policiesForEnterprise {
    policy { title }
    eligibility { eligible reasons { met text } whyNot { text textZh } }
  }
}"""
COUNT = """query($p: ID!) { policyEligibleCount(policyId: $p) }"""
ONE = """query($id: ID!) { policy(id: $id) { title } }"""
WHY = """query($p: ID!, $e: ID!) {
  policyEligibility(policyId: $p, enterpriseId: $e) { eligible whyNot { text } }
}"""


async def test_publish_qualify_and_notify(biz: BizWorld) -> None:
    world, city = biz.world, biz.alpha.city
    acme, other = biz.alpha.enterprises["acme"], biz.alpha.enterprises["other"]
    with use_scope(city.scope()):
        await Enterprise.filter(id=acme.id).update(
            registered_capital=Decimal(6_000_000), tags=["高新技术"]
        )
        await Enterprise.filter(id=other.id).update(
            registered_capital=Decimal(3_000_000), tags=["高新技术"]
        )
    rules: dict[str, Any] = {
        "op": "all",
        "conditions": [
            {"industry_in": ["I"]},
            {"capital": {"min": 5000000}},
            {"tags_any": ["高新技术", "专精特新"]},
        ],
    }
    base = {
        "title": "高新技术企业研发补助",
        "body": "对符合条件的企业给予研发补助。",
        "departmentId": str(encode_id("Department", city.bureau.id)),
        "rules": rules,
    }
    bad = await world.gql(
        city, "admin", CREATE, {"input": {**base, "rules": {"op": "all", "conditions": [{"x": 1}]}}}
    )
    assert [(e["code"], e["field"]) for e in bad["data"]["createPolicy"]["errors"]] == [
        ("INVALID", "rules")
    ]
    made = await world.gql(city, "admin", CREATE, {"input": base})
    policy = made["data"]["createPolicy"]["policy"]
    assert policy["status"] == "DRAFT"
    hidden = await world.gql(city, "acme-user", ONE, {"id": policy["id"]})
    assert [e["extensions"]["code"] for e in hidden["errors"]] == ["NOT_FOUND"]
    assert (await world.gql(city, "acme-user", FOR_ME))["data"]["policiesForEnterprise"] == []

    published = await world.gql(city, "admin", PUBLISH, {"id": policy["id"]})
    assert published["data"]["publishPolicy"]["policy"]["status"] == "PUBLISHED"
    assert (await world.gql(city, "manager", COUNT, {"p": policy["id"]}))["data"] == {
        "policyEligibleCount": 1
    }

    mine = (await world.gql(city, "acme-user", FOR_ME))["data"]["policiesForEnterprise"]
    assert mine[0]["eligibility"]["eligible"] is True
    assert [r["met"] for r in mine[0]["eligibility"]["reasons"]] == [True, True, True]
    near = (await world.gql(city, "other-user", FOR_ME))["data"]["policiesForEnterprise"]
    assert near[0]["eligibility"]["eligible"] is False
    assert near[0]["eligibility"]["whyNot"] == [
        {"text": "registered capital below 5,000,000 yuan", "textZh": "注册资本低于5,000,000元"}
    ]
    why = await world.gql(
        city, "supervisor", WHY, {"p": policy["id"], "e": str(encode_id("Enterprise", other.id))}
    )
    assert why["data"]["policyEligibility"]["eligible"] is False

    from strawberry import relay

    pk = decode_id(relay.GlobalID.from_id(policy["id"]), "Policy", field="id")
    later = clock.now() + timedelta(minutes=3)
    with use_scope(city.scope()):  # the stale-job sweep owes this policy its job…
        owed = [r.kwargs["policy_id"] for r in await waiting_policies(later)]
    assert pk in owed
    assert await notify_policy({}, tenant_id=city.tenant.id, policy_id=pk) == 1
    assert await notify_policy({}, tenant_id=city.tenant.id, policy_id=pk) == 0  # a retry
    with use_scope(city.scope()):  # …until its notices are all sent
        owed = [r.kwargs["policy_id"] for r in await waiting_policies(later)]
    assert pk not in owed
    with use_scope(city.scope()):
        told = await PolicyNotice.filter(policy_id=pk).values_list("enterprise_id", flat=True)
    assert list(told) == [acme.id]


async def test_policies_for_me_are_paged_most_relevant_first(biz: BizWorld) -> None:
    """Eligible ones first (newest first), then near misses by how much they miss; only
    ``first`` of them, each explained; 0 or over 100 is a typed error."""
    world, city = biz.world, biz.beta.city
    acme = biz.beta.enterprises["acme"]  # division 65, section I; no capital, no tags
    made: dict[str, int] = {}
    shapes: dict[str, dict[str, Any]] = {
        "eligible old": {"op": "all", "conditions": [{"industry_in": ["65"]}]},
        "miss one": {"op": "all", "conditions": [{"industry_in": ["I"]}, {"tags_any": ["外贸"]}]},
        "miss two": {"op": "all", "conditions": [{"industry_in": ["52"]}, {"tags_any": ["x"]}]},
        "eligible nested": {
            "op": "any",
            "conditions": [{"industry_in": ["52"]}, {"op": "all", "conditions": []}],
        },
        "eligible new": {"op": "all", "conditions": [{"industry_in": ["I", "C"]}]},
    }
    with use_scope(city.scope()):
        for title, rules in shapes.items():
            row = await Policy.create(
                title=title,
                body="b",
                department_id=city.bureau.id,
                rules=rules,
                status=PolicyStatus.PUBLISHED,
                published_at=clock.now(),
            )
            made[title] = row.id
    query = """query($first: Int!) { policiesForEnterprise(first: $first) {
        policy { title } eligibility { eligible whyNot { text } } } }"""
    everything = await world.gql(city, "acme-user", query, {"first": 100})
    titles = [m["policy"]["title"] for m in everything["data"]["policiesForEnterprise"]]
    assert titles == ["eligible new", "eligible nested", "eligible old", "miss one"]
    assert acme.industry == "65"
    two = await world.gql(city, "acme-user", query, {"first": 2})
    assert [m["policy"]["title"] for m in two["data"]["policiesForEnterprise"]] == [
        "eligible new",
        "eligible nested",
    ]
    for bad in (0, 101):
        refused = await world.gql(city, "acme-user", query, {"first": bad})
        assert refused["errors"][0]["extensions"]["code"] == "INVALID"
    # the city's snapshot follows withdrawals and publications
    with use_scope(city.scope()):
        await Policy.filter(id=made["eligible new"]).update(status=PolicyStatus.WITHDRAWN)
    after = await world.gql(city, "acme-user", query, {"first": 1})
    assert [m["policy"]["title"] for m in after["data"]["policiesForEnterprise"]] == [
        "eligible nested"
    ]
    with use_scope(city.scope()):
        await Policy.create(
            title="newest",
            body="b",
            department_id=city.bureau.id,
            rules={"op": "all", "conditions": [{"industry_in": ["65"]}]},
            status=PolicyStatus.PUBLISHED,
            published_at=clock.now(),
        )
    latest = await world.gql(city, "acme-user", query, {"first": 1})
    assert [m["policy"]["title"] for m in latest["data"]["policiesForEnterprise"]] == ["newest"]


NOTICES = """query($id: ID!) {
  policy(id: $id) { noticeStatus noticeAttempts noticeFailedAt noticeError }
}"""


async def test_a_notice_job_that_always_fails_is_given_up_and_not_requeued(
    biz: BizWorld,
) -> None:
    from strawberry import relay

    world, city = biz.world, biz.alpha.city
    made = await world.gql(
        city,
        "admin",
        CREATE,
        {
            "input": {
                "title": "外贸企业稳岗补贴",
                "body": "……",
                "departmentId": str(encode_id("Department", city.bureau.id)),
                "rules": {"op": "all", "conditions": [{"industry_in": ["I"]}]},
            }
        },
    )
    gid = made["data"]["createPolicy"]["policy"]["id"]
    assert (await world.gql(city, "admin", PUBLISH, {"id": gid}))["data"]["publishPolicy"][
        "policy"
    ]["status"] == "PUBLISHED"
    pk = decode_id(relay.GlobalID.from_id(gid), "Policy", field="id")
    # a stored rule the rule language no longer reads (written before a change of it):
    # every run of the notice job fails the same way, a permanent failure
    with use_scope(city.scope()):
        await Policy.filter(id=pk).update(rules={"op": "all", "conditions": [{"x": 1}]})
    later = clock.now() + timedelta(minutes=3)

    async def owed() -> bool:
        with use_scope(city.scope()):
            return pk in [r.kwargs["policy_id"] for r in await waiting_policies(later)]

    for run in range(1, MAX_NOTIFY_ATTEMPTS + 1):
        assert await owed(), run  # arq dropped the failed job's result: re-queued
        with pytest.raises(Invalid):
            await notify_policy({}, tenant_id=city.tenant.id, policy_id=pk)
        seen = (await world.gql(city, "admin", NOTICES, {"id": gid}))["data"]["policy"]
        assert seen["noticeAttempts"] == run
        assert seen["noticeError"].startswith("Invalid: ")
        assert seen["noticeStatus"] == ("FAILED" if run == MAX_NOTIFY_ATTEMPTS else "SENDING")
    assert not await owed()  # given up: the sweep queues it no more
    # a run that still comes (a job queued before) does nothing and counts nothing
    assert await notify_policy({}, tenant_id=city.tenant.id, policy_id=pk) == 0
    staff = (await world.gql(city, "admin", NOTICES, {"id": gid}))["data"]["policy"]
    assert staff["noticeAttempts"] == MAX_NOTIFY_ATTEMPTS
    assert staff["noticeFailedAt"] is not None
    assert staff["noticeError"] == seen["noticeError"]
    # the reason is the city's staff's: an enterprise sees the status, not the error
    mine = (await world.gql(city, "acme-user", NOTICES, {"id": gid}))["data"]["policy"]
    assert mine["noticeStatus"] == "FAILED"
    assert mine["noticeError"] is None
    with use_scope(city.scope()):
        assert await PolicyNotice.filter(policy_id=pk).count() == 0

    # runs that died without recording their failure (a killed worker) still count: the
    # first run past the bound gives up before doing anything
    second = await world.gql(
        city,
        "admin",
        CREATE,
        {
            "input": {
                "title": "专精特新奖励",
                "body": "……",
                "departmentId": str(encode_id("Department", city.bureau.id)),
                "rules": {"op": "all", "conditions": [{"industry_in": ["I"]}]},
            }
        },
    )
    gid2 = second["data"]["createPolicy"]["policy"]["id"]
    await world.gql(city, "admin", PUBLISH, {"id": gid2})
    pk2 = decode_id(relay.GlobalID.from_id(gid2), "Policy", field="id")
    with use_scope(city.scope()):
        await Policy.filter(id=pk2).update(notify_attempts=MAX_NOTIFY_ATTEMPTS)
    assert await notify_policy({}, tenant_id=city.tenant.id, policy_id=pk2) == 0
    gave_up = (await world.gql(city, "admin", NOTICES, {"id": gid2}))["data"]["policy"]
    assert gave_up["noticeStatus"] == "FAILED"
    assert gave_up["noticeError"] == f"gave up after {MAX_NOTIFY_ATTEMPTS} runs"
    with use_scope(city.scope()):
        assert await PolicyNotice.filter(policy_id=pk2).count() == 0
