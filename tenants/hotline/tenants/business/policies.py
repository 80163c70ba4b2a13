"""Policies (政策): a department drafts one with eligibility rules as data and publishes
it; enterprises see the policies they may qualify for with the reasons, and near misses
with why not; staff count and list the eligible enterprises (docs/business.md)."""

from __future__ import annotations

import heapq
import json
from dataclasses import dataclass
from datetime import date
from typing import Any, cast

from hotline.platform import clock, jobs
from hotline.tenants.business import eligibility
from hotline.tenants.business.access import (
    access_enterprise,
    city_scope,
    own_enterprise_id,
    require_business,
)
from hotline.tenants.business.models import Enterprise, Policy, PolicyStatus
from hotline.tenants.departments.models import Department
from hotline.tenants.kernel.access import Action, Actor, allowed, require
from hotline.tenants.kernel.audit import record_audit
from hotline.tenants.kernel.errors import Invalid, NotFound

MAX_TITLE = 200
MAX_BODY = 20_000
MAX_PAGE = 100
_FROM = (
    "FROM business_enterprises e LEFT JOIN departments d "
    "ON d.tenant_id = e.tenant_id AND d.id = e.area_id"
)


async def _paths(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await Department.filter(id__in=sorted(ids)).values_list("id", "path")
    return dict(cast(list[tuple[int, str]], rows))


async def parsed(rules: Any) -> eligibility.Group:
    """The stored rule as conditions (the areas' current paths looked up)."""
    return eligibility.parse(rules, await _paths(eligibility.area_ids(rules)))


async def _issuing(actor: Actor, department_id: int) -> Department:
    """The issuing department: any of the city's (its admin), or inside a department
    manager's own subtree."""
    department = await Department.get_or_none(id=department_id, is_active=True)
    if department is None:
        raise NotFound("department", field="departmentId")
    if not allowed(actor, Action.BUSINESS_MANAGE):
        own = await _paths(set(actor.department_ids))
        if not any(department.path.startswith(p) for p in own.values()):
            raise NotFound("department", field="departmentId")
    return department


async def create_policy(
    *,
    actor: Actor,
    title: str,
    body: str,
    department_id: int,
    rules: Any,
    valid_from: date | None = None,
    valid_until: date | None = None,
) -> Policy:
    """A draft policy of a department, its rules checked."""
    await require_business(actor, Action.POLICY_MANAGE)
    title, body = title.strip(), body.strip()
    if not 1 <= len(title) <= MAX_TITLE:
        raise Invalid("a title has 1 to {max} characters", field="title", max=MAX_TITLE)
    if not 1 <= len(body) <= MAX_BODY:
        raise Invalid("the body has 1 to {max} characters", field="body", max=MAX_BODY)
    if valid_from and valid_until and valid_until < valid_from:
        raise Invalid("the policy ends before it starts", field="validUntil")
    with city_scope(actor):
        await _issuing(actor, department_id)
        await parsed(rules)
        return await Policy.create(
            title=title,
            body=body,
            department_id=department_id,
            rules=rules,
            valid_from=valid_from,
            valid_until=valid_until,
            created_by_id=actor.user_id,
        )


async def access_policy(*, actor: Actor, policy_id: int) -> Policy:
    """Staff see every policy of the city; enterprises the published ones."""
    await require_business(actor, Action.ENTERPRISE_READ)
    staff = allowed(actor, Action.BUSINESS_READ) or allowed(actor, Action.POLICY_MANAGE)
    with city_scope(actor):
        query = Policy.filter(id=policy_id)
        if not staff:
            query = query.filter(status=PolicyStatus.PUBLISHED)
        found = await query.first()
    if found is None:
        raise NotFound("policy")
    return found


async def _managed(actor: Actor, policy_id: int) -> Policy:
    await require_business(actor, Action.POLICY_MANAGE)
    with city_scope(actor):
        found = await Policy.get_or_none(id=policy_id)
        if found is None:
            raise NotFound("policy")
        try:
            await _issuing(actor, found.department_id)
        except NotFound:
            raise NotFound("policy") from None
    return found


async def publish_policy(*, actor: Actor, policy_id: int) -> Policy:
    """Publish a draft; a worker then notifies every eligible enterprise once."""
    found = await _managed(actor, policy_id)
    if found.status is not PolicyStatus.DRAFT:
        raise Invalid("only a draft is published", field="id")
    with city_scope(actor):
        await parsed(found.rules)  # areas may have moved or closed since the draft
        changed = await Policy.filter(id=found.id, status=PolicyStatus.DRAFT).update(
            status=PolicyStatus.PUBLISHED, published_at=clock.now()
        )
        if not changed:
            raise Invalid("only a draft is published", field="id")
        await record_audit(
            actor_id=actor.user_id,
            action="policy.publish",
            target=f"policy:{found.id}",
            detail={"title": found.title},
            tenant_id=found.tenant_id,
            province_id=found.province_id,
        )
        found = await Policy.get(id=found.id)
    await jobs.enqueue_recorded(
        "notify_policy",
        tenant_id=found.tenant_id,
        job_id=f"policy-notify:{found.tenant_id}:{found.id}",
        policy_id=found.id,
    )
    return found


async def withdraw_policy(*, actor: Actor, policy_id: int) -> Policy:
    found = await _managed(actor, policy_id)
    with city_scope(actor):
        await Policy.filter(id=found.id).update(status=PolicyStatus.WITHDRAWN)
        return await Policy.get(id=found.id)


async def list_policies(
    *, actor: Actor, status: PolicyStatus | None, after: int | None, first: int
) -> list[Policy]:
    await require_business(actor, Action.ENTERPRISE_READ)
    if not 1 <= first <= MAX_PAGE:
        raise Invalid("first must be between 1 and {max}", field="first", max=MAX_PAGE)
    staff = allowed(actor, Action.BUSINESS_READ) or allowed(actor, Action.POLICY_MANAGE)
    with city_scope(actor):
        query = Policy.all()
        if not staff:
            query = query.filter(status=PolicyStatus.PUBLISHED)
        if status is not None:
            query = query.filter(status=status)
        if after is not None:
            query = query.filter(id__lt=after)
        return await query.order_by("-id").limit(first + 1)


def eligible_sql(
    rule: eligibility.Group, as_of: date, select: str = "count(*)"
) -> tuple[str, list[Any]]:
    where, params = eligibility.compile_where(rule, as_of)
    return f"SELECT {select} {_FROM} WHERE {where}", list(params)


async def eligible_count(*, actor: Actor, policy_id: int) -> int:
    """How many of the city's enterprises qualify today."""
    await require_business(actor, Action.BUSINESS_READ)
    found = await access_policy(actor=actor, policy_id=policy_id)
    with city_scope(actor):
        sql, params = eligible_sql(await parsed(found.rules), clock.now().date())
        rows = await Enterprise._meta.db.execute_query_dict(sql, params)
    return int(rows[0]["count"])


async def eligible_enterprises(
    *, actor: Actor, policy_id: int, after: int | None, first: int
) -> list[Enterprise]:
    await require_business(actor, Action.BUSINESS_READ)
    if not 1 <= first <= MAX_PAGE:
        raise Invalid("first must be between 1 and {max}", field="first", max=MAX_PAGE)
    found = await access_policy(actor=actor, policy_id=policy_id)
    with city_scope(actor):
        sql, params = eligible_sql(await parsed(found.rules), clock.now().date(), "e.id")
        params.append(after or 0)
        rows = await Enterprise._meta.db.execute_query_dict(
            f"{sql} AND e.id > ${len(params)} ORDER BY e.id LIMIT {first + 1}", params
        )
        ids = [r["id"] for r in rows]
        by_id = {e.id: e for e in await Enterprise.filter(id__in=ids)}
    return [by_id[i] for i in ids if i in by_id]


async def facts_of(enterprise: Enterprise) -> eligibility.Facts:
    area = await Department.get_or_none(id=enterprise.area_id) if enterprise.area_id else None
    return eligibility.Facts(
        industry=enterprise.industry,
        section=enterprise.section,
        size_class=enterprise.size_class,
        area_path=area.path if area else None,
        founded_on=enterprise.founded_on,
        registered_capital=enterprise.registered_capital,
        tags=frozenset(enterprise.tags or []),
    )


# Published rules do not change: parsed once per policy and the paths of its areas.
_PARSED: dict[tuple[int, int, str, tuple[tuple[int, str], ...]], eligibility.Group | None] = {}
_PARSED_MAX = 100_000


def _parsed_cached(
    tenant_id: int, row: dict[str, Any], paths: dict[int, str]
) -> eligibility.Group | None:
    areas = tuple(sorted((i, paths.get(i, "")) for i in eligibility.area_ids(row["rules"])))
    key = (tenant_id, row["id"], str(row["published_at"]), areas)
    if key not in _PARSED:
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.clear()
        try:
            _PARSED[key] = eligibility.parse(row["rules"], paths)
        except Invalid:
            _PARSED[key] = None
    return _PARSED[key]


@dataclass(frozen=True)
class Match:
    policy: Policy
    verdict: eligibility.Verdict


async def check(*, actor: Actor, policy_id: int, enterprise_id: int) -> eligibility.Verdict:
    """Why the enterprise qualifies for the policy, or why not."""
    enterprise = await access_enterprise(actor=actor, enterprise_id=enterprise_id)
    found = await access_policy(actor=actor, policy_id=policy_id)
    with city_scope(actor):
        return eligibility.evaluate(
            await parsed(found.rules), await facts_of(enterprise), clock.now().date()
        )


# The published policies of a city, their rules parsed: rebuilt when the fingerprint
# changes, so "policies for me" reads one short row instead of every policy's rules.
# Published policies change only by publishing (a later published_at), withdrawing (the
# count and the id sum drop) — their rules and validity are fixed once drafted — and
# their areas by the departments' paths.
_FINGERPRINT = (
    "SELECT (SELECT count(*)::text || ':' || coalesce(sum(id), 0)::text || ':' ||"
    " coalesce(max(published_at)::text, '') FROM business_policies"
    " WHERE tenant_id = $1 AND status = 'published') AS policies, "
    "(SELECT md5(coalesce(string_agg(id::text || ':' || path, ',' ORDER BY id), '')) "
    "FROM departments WHERE tenant_id = $1) AS departments"
)


@dataclass(frozen=True)
class _Published:
    id: int
    valid_from: date | None
    valid_until: date | None
    rule: eligibility.Group | None  # None: an area closed since publishing
    leaves: tuple[eligibility.Condition, ...] | None  # an all-group of leaves: its leaves
    shape: int  # policies with the same leaves share it (decided once per call)


_SNAPSHOTS: dict[int, tuple[str, list[_Published]]] = {}


async def _published(tenant_id: int) -> list[_Published]:
    """The city's published policies, newest first, from the snapshot when still current."""
    rows = await Policy._meta.db.execute_query_dict(_FINGERPRINT, [tenant_id])
    fingerprint = f"{rows[0]['policies']}/{rows[0]['departments']}"
    cached = _SNAPSHOTS.get(tenant_id)
    if cached is not None and cached[0] == fingerprint:
        return cached[1]
    found = await (
        Policy.filter(status=PolicyStatus.PUBLISHED)
        .order_by("-published_at", "-id")
        .values("id", "published_at", "valid_from", "valid_until", "rules")
    )
    for row in found:
        if isinstance(row["rules"], str):
            row["rules"] = json.loads(row["rules"])
    paths = await _paths(set().union(*(eligibility.area_ids(r["rules"]) for r in found)))
    shapes: dict[tuple[eligibility.Condition, ...], int] = {}
    snapshot = []
    for row in found:
        rule = _parsed_cached(tenant_id, row, paths)
        leaves = eligibility.flat(rule) if rule is not None else None
        snapshot.append(
            _Published(
                row["id"],
                row["valid_from"],
                row["valid_until"],
                rule,
                leaves,
                shapes.setdefault(leaves, len(shapes)) if leaves is not None else -1,
            )
        )
    _SNAPSHOTS[tenant_id] = (fingerprint, snapshot)
    return snapshot


SHOWN = 20  # "policies for me": the most relevant first, with their reasons


async def policies_for(
    *, actor: Actor, enterprise_id: int | None, near_misses: int = 1, first: int = SHOWN
) -> list[Match]:
    """The ``first`` most relevant published, valid policies for the enterprise: those it
    qualifies for, then those it misses by at most ``near_misses`` conditions (fewest
    first; newest first within each), each with why / why not. An enterprise user: its
    own enterprise.

    Every policy is decided without words (:func:`eligibility.quick`); a rule that is an
    ``all`` of leaf conditions (the usual shape) is decided from its leaves, each
    distinct leaf once per call — catalogues repeat the same industries, sizes and
    bounds — and only the shown ones are explained and read from the table."""
    require(actor, Action.ENTERPRISE_READ)  # the city's flag: in access_enterprise
    if not 1 <= first <= MAX_PAGE:
        raise Invalid("first must be between 1 and {max}", field="first", max=MAX_PAGE)
    target = enterprise_id if enterprise_id is not None else await own_enterprise_id(actor)
    if target is None:
        raise Invalid("name the enterprise", field="enterpriseId")
    enterprise = await access_enterprise(actor=actor, enterprise_id=target)
    today = clock.now().date()
    with city_scope(actor):
        facts = await facts_of(enterprise)
        met: dict[eligibility.Condition, bool] = {}
        decided: dict[int, tuple[bool, int]] = {}  # shape → (eligible, unmet)
        # newest first: the first ``first`` eligible ones end the walk (nothing after
        # them can rank higher); near misses are kept, newest first, up to ``first``
        eligible_ones: list[_Published] = []
        misses: list[tuple[int, int, _Published]] = []  # (unmet, position, policy)
        for position, policy in enumerate(await _published(enterprise.tenant_id)):
            rule = policy.rule
            if rule is None:  # an area closed since publishing: nobody matches it by area
                continue
            if (policy.valid_from is not None and policy.valid_from > today) or (
                policy.valid_until is not None and policy.valid_until < today
            ):
                continue
            if policy.leaves is None:
                eligible, unmet = eligibility.quick(rule, facts, today)
            elif (known := decided.get(policy.shape)) is not None:
                eligible, unmet = known
            else:
                unmet = 0
                for leaf in policy.leaves:
                    held = met.get(leaf)
                    if held is None:
                        held = met[leaf] = eligibility.holds(leaf, facts, today)
                    unmet += not held
                eligible = unmet == 0
                decided[policy.shape] = (eligible, unmet)
            if eligible:
                eligible_ones.append(policy)
                if len(eligible_ones) >= first:
                    break
            elif unmet <= near_misses:
                misses.append((max(unmet, 1), position, policy))
        shown_order = eligible_ones + [
            p for _, _, p in heapq.nsmallest(first - len(eligible_ones), misses)
        ]
        verdicts = {p.id: eligibility.evaluate(p.rule, facts, today) for p in shown_order if p.rule}
        shown = {
            p.id: p
            for p in await Policy.filter(id__in=list(verdicts), status=PolicyStatus.PUBLISHED)
        }
    return [Match(shown[i], v) for i, v in verdicts.items() if i in shown]
