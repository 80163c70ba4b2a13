"""Telling eligible enterprises of a published policy: in batches by enterprise id, each
batch one transaction that records the notices (unique per policy and enterprise) and
appends one in-app message per enterprise user to the outbox — so a re-run (a retried
job, a crash mid-way) skips whoever was told already: at most once each.

Bounded: every run is counted on the policy (``notify_attempts``) before it starts, a
failure's reason is kept (``notify_error``), and the run that fails at
``MAX_NOTIFY_ATTEMPTS`` — or a run that finds the bound passed (a worker killed mid-run
cannot record its failure) — marks the notices failed (``notify_failed_at``). A failed
policy is no longer waiting: the stale-job sweep stops queueing it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import structlog
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from hotline.platform import clock, jobs, outbox
from hotline.platform.tenancy import current_scope
from hotline.tenants.business.models import EnterpriseMember, Policy, PolicyStatus
from hotline.tenants.business.policies import eligible_sql, parsed

log = structlog.get_logger(__name__)

BATCH = 1_000
# Runs of a policy's notice job before it is given up: arq's own retries of a transient
# failure count (HOTLINE_JOB_MAX_TRIES, 5 by default, per enqueue), so this is two full
# rounds of retries, or ten hourly re-queues of a job that fails at once every time.
MAX_NOTIFY_ATTEMPTS = 10
MAX_ERROR = 500
EVENT = "policy.published"
BODY = "您的企业可能符合这项政策的条件，请查看政策详情与申报说明。"


async def notify_policy(
    policy_id: int, *, batch: int = BATCH, max_batches: int | None = None
) -> int:
    """Notify the current city's eligible enterprises of the policy: how many were told
    now (0 on a re-run, and once the notices are finished or given up). ``max_batches``
    stops early (tests of an interrupted run). A failure is recorded and raised again
    (for arq's retry), or, at the bound, marks the notices failed."""
    attempt = await _begin(policy_id)
    if attempt is None:
        return 0
    if attempt > MAX_NOTIFY_ATTEMPTS:
        await _give_up(policy_id, None)
        return 0
    try:
        return await _notify(policy_id, batch=batch, max_batches=max_batches)
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}"[:MAX_ERROR]
        await _record_failure(policy_id, reason, final=attempt >= MAX_NOTIFY_ATTEMPTS)
        raise


async def _begin(policy_id: int) -> int | None:
    """Count this run on the policy: its number, or None when the policy's notices are
    not owed (not published, finished, or given up)."""
    owed = Policy.filter(
        id=policy_id,
        status=PolicyStatus.PUBLISHED,
        notify_finished_at=None,
        notify_failed_at=None,
    )
    if not await owed.update(notify_attempts=F("notify_attempts") + 1):
        return None
    attempts: Any = await Policy.filter(id=policy_id).values_list("notify_attempts", flat=True)
    return int(attempts[0])


async def _give_up(policy_id: int, reason: str | None) -> None:
    """The notices are failed for good, with the reason: this run's failure, else the bound
    passed (a run that died without recording its own) and the last failure recorded."""
    if reason is None:
        last: Any = await Policy.filter(id=policy_id).values_list("notify_error", flat=True)
        reason = f"gave up after {MAX_NOTIFY_ATTEMPTS} runs"
        if last and last[0]:
            reason = f"{reason}; last failure: {last[0]}"[:MAX_ERROR]
    await Policy.filter(id=policy_id, notify_failed_at=None).update(
        notify_failed_at=clock.now(), notify_error=reason
    )
    log.warning("business.policy_notify_failed", policy_id=policy_id, reason=reason)


async def _record_failure(policy_id: int, reason: str, *, final: bool) -> None:
    """The failure's reason on the policy (best effort: the database may be the failure)."""
    try:
        if final:
            await _give_up(policy_id, reason)
        else:
            await Policy.filter(id=policy_id).update(notify_error=reason)
    except Exception:  # the original error is what arq must see
        log.exception("business.policy_notify_failure_not_recorded", policy_id=policy_id)


async def _notify(policy_id: int, *, batch: int, max_batches: int | None) -> int:
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
    """The current city's published policies whose notice job never finished nor was
    given up, published before ``older_than`` (the stale-job sweep enqueues them again,
    same job id)."""
    ids: list[Any] = await Policy.filter(
        status=PolicyStatus.PUBLISHED,
        notify_finished_at=None,
        notify_failed_at=None,  # given up: no more runs
        published_at__lt=older_than,
    ).values_list("id", flat=True)
    scope = current_scope()
    return [
        jobs.Recorded(
            "notify_policy", f"policy-notify:{scope.tenant_id}:{i}", {"policy_id": int(i)}
        )
        for i in ids
    ]
