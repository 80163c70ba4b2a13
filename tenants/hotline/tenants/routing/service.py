"""Routing rules, administered per city: (area × category × keywords) → department.

Matching a ticket against them (the suggestion the agent sees) is the tickets
service's; this module only keeps the rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hotline.platform.db.rows import Hydrator, read_session
from hotline.platform.tenancy import current_scope
from hotline.tenants.categories.models import Category
from hotline.tenants.departments.models import Department
from hotline.tenants.kernel.access import Action, Actor, require
from hotline.tenants.kernel.audit import record_audit
from hotline.tenants.kernel.errors import Invalid, NotFound
from hotline.tenants.routing import urgent
from hotline.tenants.routing.models import RoutingRule

MAX_KEYWORDS = 50


async def list_routing_rules(*, actor: Actor, include_inactive: bool = False) -> list[RoutingRule]:
    """In the order they are tried: priority, then age."""
    require(actor, Action.ROUTING_MANAGE)
    query = RoutingRule.all() if include_inactive else RoutingRule.filter(is_active=True)
    return list(await query.order_by("priority", "id"))


async def _access_rule(rule_id: int) -> RoutingRule:
    rule = await RoutingRule.get_or_none(id=rule_id)
    if rule is None:
        raise NotFound("routing rule")
    return rule


def _keywords(keywords: Sequence[str]) -> list[str]:
    words = list(dict.fromkeys(w.strip() for w in keywords if w.strip()))
    if len(words) > MAX_KEYWORDS or any(len(w) > 50 for w in words):
        raise Invalid("at most {max} keywords of 50 characters", field="keywords", max=MAX_KEYWORDS)
    return words


async def _check_refs(
    *, department_id: int | None, area_id: int | None, category_id: int | None
) -> None:
    if department_id is not None and not await Department.exists(id=department_id, is_active=True):
        raise NotFound("department", field="departmentId")
    if area_id is not None and not await Department.exists(id=area_id):
        raise NotFound("department", field="areaId")
    if category_id is not None and not await Category.exists(id=category_id):
        raise NotFound("category", field="categoryId")


def _name(name: str) -> str:
    text = name.strip()
    if not text or len(text) > 100:
        raise Invalid("a name of 1 to 100 characters is needed", field="name")
    return text


async def create_routing_rule(
    *,
    actor: Actor,
    name: str,
    department_id: int,
    priority: int = 100,
    area_id: int | None = None,
    category_id: int | None = None,
    keywords: Sequence[str] = (),
) -> RoutingRule:
    require(actor, Action.ROUTING_MANAGE)
    await _check_refs(department_id=department_id, area_id=area_id, category_id=category_id)
    rule = await RoutingRule.create(
        name=_name(name),
        department_id=department_id,
        priority=priority,
        area_id=area_id,
        category_id=category_id,
        keywords=_keywords(keywords),
    )
    await record_audit(
        actor_id=actor.user_id,
        action="routing_rule.create",
        target=str(rule.id),
        tenant_id=rule.tenant_id,
        province_id=rule.province_id,
    )
    return rule


async def update_routing_rule(
    *,
    actor: Actor,
    rule_id: int,
    name: str | None = None,
    department_id: int | None = None,
    priority: int | None = None,
    area_id: int | None = None,
    category_id: int | None = None,
    clear_area: bool = False,
    clear_category: bool = False,
    keywords: Sequence[str] | None = None,
    is_active: bool | None = None,
) -> RoutingRule:
    require(actor, Action.ROUTING_MANAGE)
    rule = await _access_rule(rule_id)
    await _check_refs(department_id=department_id, area_id=area_id, category_id=category_id)
    changed: dict[str, Any] = {}
    if name is not None:
        changed["name"] = _name(name)
    if department_id is not None:
        changed["department_id"] = department_id
    if priority is not None:
        changed["priority"] = priority
    if area_id is not None or clear_area:
        changed["area_id"] = None if clear_area else area_id
    if category_id is not None or clear_category:
        changed["category_id"] = None if clear_category else category_id
    if keywords is not None:
        changed["keywords"] = _keywords(keywords)
    if is_active is not None:
        changed["is_active"] = is_active
    if changed:
        rule.update_from_dict(changed)
        await rule.save(update_fields=[*changed, "updated_at"])
        await record_audit(
            actor_id=actor.user_id,
            action="routing_rule.update",
            target=str(rule.id),
            detail={"fields": list(changed)},
            tenant_id=rule.tenant_id,
            province_id=rule.province_id,
        )
    return rule


@dataclass(frozen=True)
class Urgent:
    kind: str  # urgent.RULES' kind: gas_leak, fallen_wires …
    duty_room: Department


def request_text(title: str, content: str) -> str:
    """What urgency and the model read of a request: its title and its content."""
    return f"{title} {content}".strip()


async def urgent_duty_room(text: str) -> Urgent | None:
    """An urgent matter (:func:`urgent.detect`) and the current city's first active duty
    room, which takes it whatever a rule says; None when the text is not urgent or the
    city has no duty room. The one check for the agent's immediate suggestion and the
    worker's stored routing decision, so both name the same department."""
    kind = urgent.detect(text)
    if kind is None:
        return None
    duty = (
        await Department.filter(is_duty_room=True, is_active=True).order_by("depth", "id").first()
    )
    return Urgent(kind, duty) if duty is not None else None


RULES = Hydrator(RoutingRule)
# A rule matches when its area (if any) is on the path of the request's area, its
# category (if any) on the path of the request's category, and it has no keywords or one
# of its non-empty keywords occurs in the content. Matched in the database: a city has
# hundreds of rules and a request matches a few, so only those come back.
_MATCHING = """
SELECT {columns} FROM routing_rules r
WHERE r.tenant_id = $1 AND r.is_active
  AND (r.area_id IS NULL OR strpos(
    coalesce((SELECT path FROM departments WHERE tenant_id = $1 AND id = $2), ''),
    '/' || r.area_id || '/') > 0)
  AND (r.category_id IS NULL OR strpos(
    coalesce((SELECT path FROM categories WHERE tenant_id = $1 AND id = $3), ''),
    '/' || r.category_id || '/') > 0)
  AND (jsonb_array_length(r.keywords) = 0 OR EXISTS (
    SELECT 1 FROM jsonb_array_elements_text(r.keywords) k WHERE k <> '' AND strpos($4, k) > 0))
ORDER BY r.priority, r.id
"""


async def matching_rules(
    *, content: str, category_id: int | None, area_id: int | None
) -> list[RoutingRule]:
    """The current city's active rules that match, in rule order: the area lies in the
    rule's area subtree, the category in its category subtree, and a keyword occurs.

    The one matcher for the agent's suggestion and the worker's routing decision."""
    async with read_session() as reads:
        sql = _MATCHING.format(columns=RULES.select("r"))  # the columns: known once set up
        rows = await reads.fetch(sql, current_scope().tenant_id, area_id, category_id, content)
    return RULES.many(rows)
