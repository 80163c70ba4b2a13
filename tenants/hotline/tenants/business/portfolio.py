"""Service managers' portfolios (网格化服务): rules by named enterprise, by industry
(optionally inside an area) and by area subtree; the enterprise's manager is its most
specific matching rule — a named enterprise, then an industry (inside the deepest area,
then city-wide), then the deepest area. One SQL expression (``_MANAGER``) answers it for
one enterprise, a portfolio and the unassigned list alike."""

from __future__ import annotations

from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from hotline.tenants.accounts.models import Membership
from hotline.tenants.business.access import access_enterprise, city_scope, require_business
from hotline.tenants.business.models import Enterprise, ManagerRule, RuleKind
from hotline.tenants.business.rules import industry as known_industry
from hotline.tenants.departments.models import Department
from hotline.tenants.kernel.access import Action, Actor
from hotline.tenants.kernel.audit import record_audit
from hotline.tenants.kernel.errors import Conflict, Invalid, NotFound
from hotline.tenants.kernel.roles import Role

MAX_PAGE = 100

# The manager of enterprise ``e`` (joined with its area ``d``), or NULL.
_MANAGER = """(
  SELECT r.manager_id FROM business_manager_rules r
  WHERE r.tenant_id = e.tenant_id AND (
    (r.kind = 'enterprise' AND r.enterprise_id = e.id)
    OR (r.kind = 'industry' AND r.industry = e.industry
        AND (r.area_path IS NULL OR d.path LIKE r.area_path || '%'))
    OR (r.kind = 'area' AND d.path LIKE r.area_path || '%'))
  ORDER BY CASE r.kind WHEN 'enterprise' THEN 0 WHEN 'industry' THEN 1 ELSE 2 END,
           length(coalesce(r.area_path, '')) DESC
  LIMIT 1)"""
_FROM = (
    "FROM business_enterprises e LEFT JOIN departments d "
    "ON d.tenant_id = e.tenant_id AND d.id = e.area_id"
)


async def _manager(manager_id: int) -> int:
    """A user holding the service_manager role in the current city, else NotFound."""
    if not await Membership.exists(user_id=manager_id, role=Role.SERVICE_MANAGER, is_active=True):
        raise NotFound("service manager", field="managerId")
    return manager_id


async def assign(
    *,
    actor: Actor,
    manager_id: int,
    enterprise_id: int | None = None,
    industry: str | None = None,
    area_id: int | None = None,
) -> ManagerRule:
    """Give a named enterprise, an industry (optionally inside an area) or an area subtree
    to a service manager; a key another manager held moves to this one."""
    await require_business(actor, Action.BUSINESS_MANAGE)
    with city_scope(actor):
        await _manager(manager_id)
        area_path = None
        if area_id is not None:
            area = await Department.get_or_none(id=area_id, is_active=True)
            if area is None:
                raise NotFound("department", field="areaId")
            area_path = area.path
        if enterprise_id is not None:
            if industry is not None or area_id is not None:
                raise Invalid("a named enterprise takes no industry or area", field="enterpriseId")
            if not await Enterprise.exists(id=enterprise_id):
                raise NotFound("enterprise", field="enterpriseId")
            kind = RuleKind.ENTERPRISE
        elif industry is not None:
            industry = known_industry(industry).division
            kind = RuleKind.INDUSTRY
        elif area_id is not None:
            kind = RuleKind.AREA
        else:
            raise Invalid("name an enterprise, an industry or an area", field="managerId")
        key: dict[str, Any] = {
            "kind": kind,
            "enterprise_id": enterprise_id,
            "industry": industry,
            "area_id": area_id,
        }
        async with in_transaction("default"):
            rule = await ManagerRule.filter(**key).select_for_update().first()
            if rule is not None:
                rule.manager_id = manager_id
                await rule.save(update_fields=["manager_id"])
            else:
                try:
                    rule = await ManagerRule.create(
                        manager_id=manager_id, area_path=area_path, **key
                    )
                except IntegrityError as exc:
                    raise Conflict(
                        "this part of a portfolio was just assigned", field="managerId"
                    ) from exc
            await record_audit(
                actor_id=actor.user_id,
                action="business.assign",
                target=f"manager:{manager_id}",
                detail={
                    "kind": kind.value,
                    "enterprise": enterprise_id,
                    "industry": industry,
                    "area": area_id,
                },
                tenant_id=rule.tenant_id,
                province_id=rule.province_id,
            )
    return rule


async def unassign(*, actor: Actor, rule_id: int) -> None:
    await require_business(actor, Action.BUSINESS_MANAGE)
    with city_scope(actor):
        if not await ManagerRule.filter(id=rule_id).delete():
            raise NotFound("portfolio rule", field="id")


async def rules(*, actor: Actor, manager_id: int | None) -> list[ManagerRule]:
    await require_business(actor, Action.BUSINESS_READ)
    with city_scope(actor):
        query = ManagerRule.all()
        if manager_id is not None:
            query = query.filter(manager_id=await _manager(manager_id))
        return await query.order_by("id")


async def move_portfolio(*, actor: Actor, from_manager_id: int, to_manager_id: int) -> int:
    """Every rule of one manager handed to another in one statement: how many moved."""
    await require_business(actor, Action.BUSINESS_MANAGE)
    with city_scope(actor):
        await _manager(from_manager_id)
        await _manager(to_manager_id)
        if from_manager_id == to_manager_id:
            raise Invalid("the portfolio already belongs to that manager", field="toManagerId")
        async with in_transaction("default"):
            moved = await ManagerRule.filter(manager_id=from_manager_id).update(
                manager_id=to_manager_id
            )
            await record_audit(
                actor_id=actor.user_id,
                action="business.move_portfolio",
                target=f"manager:{from_manager_id}",
                detail={"to": to_manager_id, "rules": moved},
                tenant_id=actor.tenant_id,
                province_id=actor.province_id,
            )
    return moved


async def manager_id_of(enterprise_id: int) -> int | None:
    """The enterprise's manager by the rules' precedence (in the current city scope)."""
    rows = await Enterprise._meta.db.execute_query_dict(
        f"SELECT {_MANAGER} AS manager_id {_FROM} WHERE e.id = $1", [enterprise_id]
    )
    return int(rows[0]["manager_id"]) if rows and rows[0]["manager_id"] is not None else None


async def manager_of(*, actor: Actor, enterprise_id: int) -> int | None:
    """The enterprise's service manager's user id, or None (unassigned)."""
    enterprise = await access_enterprise(actor=actor, enterprise_id=enterprise_id)
    with city_scope(actor):
        return await manager_id_of(enterprise.id)


async def _page(where: str, params: list[Any], after: int | None, first: int) -> list[Enterprise]:
    if not 1 <= first <= MAX_PAGE:
        raise Invalid("first must be between 1 and {max}", field="first", max=MAX_PAGE)
    rows = await Enterprise._meta.db.execute_query_dict(
        f"SELECT e.id {_FROM} WHERE e.id > $1 AND {where} ORDER BY e.id LIMIT {first + 1}",
        [after or 0, *params],
    )
    ids = [r["id"] for r in rows]
    found = {e.id: e for e in await Enterprise.filter(id__in=ids)}
    return [found[i] for i in ids if i in found]


async def unassigned(*, actor: Actor, after: int | None, first: int) -> list[Enterprise]:
    """The city's enterprises no rule gives to a manager (one page by id)."""
    await require_business(actor, Action.BUSINESS_READ)
    with city_scope(actor):
        return await _page(f"{_MANAGER} IS NULL", [], after, first)


async def portfolio(
    *, actor: Actor, manager_id: int, after: int | None, first: int
) -> list[Enterprise]:
    """The enterprises whose manager (by the rules' precedence) is ``manager_id``."""
    await require_business(actor, Action.BUSINESS_READ)
    with city_scope(actor):
        await _manager(manager_id)
        return await _page(f"{_MANAGER} = $2", [manager_id], after, first)
