"""Per-city category tree (urban management → illegal construction), with SLA overrides."""

from __future__ import annotations

from typing import Any

from tortoise import fields

from hotline.platform.db.models import TenantModel


class Category(TenantModel):
    parent: fields.ForeignKeyNullableRelation[Category] = fields.ForeignKeyField(
        "categories.Category", related_name="children", null=True, on_delete=fields.RESTRICT
    )
    parent_id: int | None
    path = fields.CharField(max_length=400, db_index=True)  # "/3/17/": ids from the root
    depth = fields.SmallIntField(default=0)
    name = fields.CharField(max_length=100)
    code = fields.CharField(max_length=32, null=True)
    # A partial SlaPolicy (tenants/sla/rules.py) that beats the city's for this subtree.
    sla_overrides: Any = fields.JSONField(default=dict)
    is_active = fields.BooleanField(default=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "categories"
        unique_together = (("tenant_id", "code"),)
