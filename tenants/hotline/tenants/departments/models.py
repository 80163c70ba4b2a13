"""The department tree of a city: materialized path, subtree by prefix."""

from __future__ import annotations

import enum
from typing import Any

from tortoise import fields

from hotline.platform.db.models import TenantModel


class DepartmentKind(enum.StrEnum):
    CENTER = "center"  # the city's hotline center
    DISTRICT = "district"  # district / county
    STREET = "street"  # street / township
    COMMUNITY = "community"  # community / village
    BUREAU = "bureau"  # functional bureau
    UTILITY = "utility"  # utility / social unit: water, power, gas, telecom
    DUTY_ROOM = "duty_room"  # emergency duty room, 24/7


class Department(TenantModel):
    parent: fields.ForeignKeyNullableRelation[Department] = fields.ForeignKeyField(
        "departments.Department", related_name="children", null=True, on_delete=fields.RESTRICT
    )
    parent_id: int | None
    # "/1/5/23/" — ids from the root; a subtree is every path starting with this one.
    path = fields.CharField(max_length=400, db_index=True)
    depth = fields.SmallIntField(default=0)
    kind = fields.CharEnumField(DepartmentKind, max_length=12)
    name = fields.CharField(max_length=100)
    code = fields.CharField(max_length=32, null=True)
    contacts: Any = fields.JSONField(default=list)  # [{"name", "phone", "email"}]
    duty_hours = fields.CharField(max_length=100, default="")
    is_duty_room = fields.BooleanField(default=False)
    is_active = fields.BooleanField(default=True)
    deactivated_at = fields.DatetimeField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "departments"
        unique_together = (("tenant_id", "code"),)
