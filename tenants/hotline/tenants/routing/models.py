"""Routing rules: (area × category × keywords) → department, first match by priority."""

from __future__ import annotations

from typing import Any

from tortoise import fields

from hotline.platform.db.models import TenantModel
from hotline.tenants.categories.models import Category
from hotline.tenants.departments.models import Department


class RoutingRule(TenantModel):
    name = fields.CharField(max_length=100)
    priority = fields.IntField(default=100)  # lower runs first
    # Matches tickets whose area is this department or inside its subtree; NULL = any area.
    area: fields.ForeignKeyNullableRelation[Department] = fields.ForeignKeyField(
        "departments.Department", related_name=False, null=True, on_delete=fields.RESTRICT
    )
    area_id: int | None
    # Matches this category or any below it; NULL = any category.
    category: fields.ForeignKeyNullableRelation[Category] = fields.ForeignKeyField(
        "categories.Category", related_name=False, null=True, on_delete=fields.RESTRICT
    )
    category_id: int | None
    keywords: Any = fields.JSONField(default=list)  # any of these in the content; [] = no condition
    department: fields.ForeignKeyRelation[Department] = fields.ForeignKeyField(
        "departments.Department", related_name=False, on_delete=fields.RESTRICT
    )
    department_id: int
    is_active = fields.BooleanField(default=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "routing_rules"
