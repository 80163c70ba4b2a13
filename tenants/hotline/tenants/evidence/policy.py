"""A city's evidence policy: which types, how large, how long kept (one row per city)."""

from __future__ import annotations

from typing import Any

from hotline.platform.tenancy import current_tenant_id
from hotline.tenants.evidence import rules
from hotline.tenants.evidence.models import (
    EvidencePolicy,
)
from hotline.tenants.kernel.access import Action, Actor, require
from hotline.tenants.kernel.audit import record_audit


def job_id(step: str, evidence_id: int) -> str:
    return f"evidence:{evidence_id}:{step}"


async def current_policy() -> rules.Policy:
    row = await EvidencePolicy.get_or_none()
    if row is None:
        return rules.DEFAULT_POLICY
    return rules.policy_from(row.allowed_types, row.max_bytes, row.retention_days)


async def evidence_policy(*, actor: Actor) -> rules.Policy:
    require(actor, Action.EVIDENCE_READ)
    return await current_policy()


async def set_evidence_policy(
    *,
    actor: Actor,
    allowed_types: list[str],
    max_bytes: dict[str, int],
    retention_days: int,
) -> rules.Policy:
    require(actor, Action.EVIDENCE_POLICY_MANAGE)
    policy = rules.policy_from(allowed_types, max_bytes, retention_days)
    values: dict[str, Any] = {
        "allowed_types": sorted(policy.allowed_types),
        "max_bytes": {k.value: v for k, v in policy.max_bytes.items()},
        "retention_days": policy.retention_days,
        "updated_by_id": actor.user_id,
    }
    await EvidencePolicy.update_or_create(defaults=values, tenant_id=current_tenant_id())
    await record_audit(
        actor_id=actor.user_id,
        action="evidence.policy",
        detail=values,
        tenant_id=current_tenant_id(),
        province_id=actor.province_id,
    )
    return policy
