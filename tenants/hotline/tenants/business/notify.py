"""Telling eligible enterprises of a published policy: in batches by enterprise id, each
batch one transaction that records the notices (unique per policy and enterprise) and
appends one in-app message per enterprise user to the outbox — so a re-run (a retried
job, a crash mid-way) skips whoever was told already: at most once each."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tortoise.transactions import in_transaction

from hotline.platform import clock, jobs, outbox
from hotline.platform.tenancy import current_scope
from hotline.tenants.business.models import EnterpriseMember, Policy, PolicyStatus
from hotline.tenants.business.policies import eligible_sql, parsed

BATCH = 1_000
EVENT = "policy.published"
BODY = "您的企业可能符合这项政策的条件，请查看政策详情与申报说明。"


async def notify_policy(
    policy_id: int, *, batch: int = BATCH, max_batches: int | None = None
) -> int:
    """Notify the current city's eligible enterprises of the policy: how many were told
    now (0 on a re-run). ``max_batches`` stops early (tests of an interrupted run)."""
    policy = await Policy.get_or_none(id=policy_id, status=PolicyStatus.PUBLISHED)
    if policy is None:
        return 0
    scope = current_scope()
    rule = await parsed(policy.rules)
    select, params = eligible_sql(rule, (policy.published_at or clock.now()).date(), "e.id")
    n = len(params)
    sql = (
        f"WITH batch AS ({select} AND e.id > ${n + 1} ORDER BY e.id LIMIT ${n + 2}), "
        "added AS (INSERT INTO business_policy_notices "
        "(tenant_id, province_id, policy_id, enterprise_id, created_at) "
        f"SELECT ${n + 3}, ${n + 4}, ${n + 5}, id, now() FROM batch "
        "ON CONFLICT (tenant_id, policy_id, enterprise_id) DO NOTHING RETURNING enterprise_id) "
        "SELECT (SELECT max(id) FROM batch) AS last, "
        "(SELECT array_agg(enterprise_id) FROM added) AS added"
    )
    after, told, rounds = 0, 0, 0
    while max_batches is None or rounds < max_batches:
        rounds += 1
        async with in_transaction("default") as conn:
            rows = await conn.execute_query_dict(
                sql, [*params, after, batch, scope.tenant_id, scope.province_id, policy.id]
            )
            last, added = rows[0]["last"], list(rows[0]["added"] or [])
            if added:
                users = await EnterpriseMember.filter(enterprise_id__in=added).values_list(
                    "user_id", flat=True
                )
                await outbox.add_many(
                    [
                        outbox.NewMessage(
                            kind="inapp",
                            tenant_id=scope.tenant_id,
                            province_id=scope.province_id,
                            payload={
                                "user_id": user_id,
                                "event": EVENT,
                                "subject": f"您可能符合政策：{policy.title}"[:200],
                                "body": BODY,
                            },
                            send_key=f"policy:{scope.tenant_id}:{policy.id}:{user_id}",
                        )
                        for user_id in users
                    ],
                    connection=conn,
                )
                await (
                    Policy.filter(id=policy.id)
                    .using_db(conn)
                    .update(notified=policy.notified + told + len(added))
                )
            told += len(added)
        if last is None:
            await Policy.filter(id=policy.id).update(notify_finished_at=clock.now())
            break
        after = last
    return told


async def waiting_policies(older_than: datetime) -> list[jobs.Recorded]:
    """The current city's published policies whose notice job never finished, published
    before ``older_than`` (the stale-job sweep enqueues them again, same job id)."""
    ids: list[Any] = await Policy.filter(
        status=PolicyStatus.PUBLISHED, notify_finished_at=None, published_at__lt=older_than
    ).values_list("id", flat=True)
    scope = current_scope()
    return [
        jobs.Recorded(
            "notify_policy", f"policy-notify:{scope.tenant_id}:{i}", {"policy_id": int(i)}
        )
        for i in ids
    ]
