"""The city's category tree: create, rename, re-time (SLA override), deactivate, list."""

from __future__ import annotations

from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from hotline.tenants.categories.models import Category
from hotline.tenants.kernel.access import Action, Actor, require
from hotline.tenants.kernel.audit import record_audit
from hotline.tenants.kernel.errors import Conflict, Invalid, NotFound
from hotline.tenants.sla.rules import validate_sla_layer

MAX_DEPTH = 5


async def access_category(*, actor: Actor, category_id: int) -> Category:
    require(actor, Action.CATEGORY_READ)
    category = await Category.get_or_none(id=category_id)
    if category is None:
        raise NotFound("category")
    return category


def sibling_order(row: Category) -> tuple[bool, str, int]:
    """Siblings by code (``02`` before ``0204`` before ``03``), uncoded ones last, then id."""
    return (row.code is None, row.code or "", row.id)


async def list_categories(
    *, actor: Actor, parent_id: int | None = None, include_inactive: bool = False
) -> list[Category]:
    """The whole tree depth first, or the children of ``parent_id``; siblings in
    :func:`sibling_order` at every level. Sorted here, not by the database, so the
    order is the code points' whatever the database's collation (a city has hundreds)."""
    require(actor, Action.CATEGORY_READ)
    if parent_id is not None:
        await access_category(actor=actor, category_id=parent_id)
        query = Category.filter(parent_id=parent_id)
        if not include_inactive:
            query = query.filter(is_active=True)
        return sorted(await query, key=sibling_order)
    # every row, inactive ones too: an active category's place needs its ancestors' codes
    rows = await Category.all()
    by_id = {row.id: row for row in rows}

    def place(row: Category) -> list[tuple[bool, str, int]]:
        return [sibling_order(by_id[int(i)]) for i in row.path.strip("/").split("/")]

    return sorted((r for r in rows if include_inactive or r.is_active), key=place)


def _name(name: str) -> str:
    text = name.strip()
    if not text or len(text) > 100:
        raise Invalid("a name of 1 to 100 characters is needed", field="name")
    return text


async def create_category(
    *,
    actor: Actor,
    name: str,
    parent_id: int | None = None,
    code: str | None = None,
    sla_overrides: dict[str, Any] | None = None,
) -> Category:
    require(actor, Action.CATEGORY_MANAGE)
    parent = None
    if parent_id is not None:
        parent = await Category.get_or_none(id=parent_id)
        if parent is None:
            raise NotFound("category", field="parentId")
        if parent.depth + 1 >= MAX_DEPTH:
            raise Invalid("categories nest at most {max} levels", field="parentId", max=MAX_DEPTH)
    overrides = validate_sla_layer(sla_overrides or {})
    try:
        async with in_transaction("default"):
            category = await Category.create(
                parent=parent,
                name=_name(name),
                code=code or None,
                sla_overrides=overrides,
                path=parent.path if parent else "/",
                depth=parent.depth + 1 if parent else 0,
            )
            category.path = f"{parent.path if parent else '/'}{category.id}/"
            await category.save(update_fields=["path"])
    except IntegrityError as exc:
        raise Conflict("a category with this code exists", field="code") from exc
    await record_audit(
        actor_id=actor.user_id,
        action="category.create",
        target=str(category.id),
        tenant_id=category.tenant_id,
        province_id=category.province_id,
    )
    return category


async def update_category(
    *,
    actor: Actor,
    category_id: int,
    name: str | None = None,
    sla_overrides: dict[str, Any] | None = None,
    is_active: bool | None = None,
) -> Category:
    """Rename, replace the SLA override (``{}`` clears it), or (de)activate one category."""
    require(actor, Action.CATEGORY_MANAGE)
    category = await access_category(actor=actor, category_id=category_id)
    changed: dict[str, Any] = {}
    if name is not None:
        changed["name"] = _name(name)
    if sla_overrides is not None:
        changed["sla_overrides"] = validate_sla_layer(sla_overrides)
    if is_active is not None:
        changed["is_active"] = is_active
    if changed:
        category.update_from_dict(changed)
        await category.save(update_fields=[*changed, "updated_at"])
        await record_audit(
            actor_id=actor.user_id,
            action="category.update",
            target=str(category.id),
            detail={k: v for k, v in changed.items() if k != "name"} | {"fields": list(changed)},
            tenant_id=category.tenant_id,
            province_id=category.province_id,
        )
    return category
