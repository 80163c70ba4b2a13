"""The city, its SLA policy and its working calendar, as a ticket change needs them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from hotline.platform.calendar import WorkCalendar
from hotline.tenants.categories.models import Category
from hotline.tenants.departments.models import Department
from hotline.tenants.kernel.errors import Invalid, NotFound
from hotline.tenants.kernel.events import once
from hotline.tenants.provinces.calendar import tenant_calendar
from hotline.tenants.provinces.current import city_row
from hotline.tenants.provinces.models import Province, Tenant
from hotline.tenants.sla.rules import SlaPolicy, effective_sla


async def city(tenant_id: int) -> Tenant:
    """The city row, read once per unit of work (its handlers reuse it), and not at all
    when the request already read it (``provinces.current``)."""
    tenant = await once(("city", tenant_id), lambda: city_row(tenant_id))
    if tenant is None:
        raise NotFound("city")
    return tenant


async def sla(tenant: Tenant, category_id: int | None) -> SlaPolicy:
    """Province defaults, then the city, then the category's ancestors and itself."""
    province = await Province.get(id=tenant.province_id)
    layers: list[dict[str, Any]] = [province.sla_defaults, tenant.sla_overrides]
    if category_id is not None:
        category = await Category.get_or_none(id=category_id)
        if category is not None:
            ids = [int(i) for i in category.path.strip("/").split("/") if i]
            chain = {c.id: c for c in await Category.filter(id__in=ids)}
            layers += [chain[i].sla_overrides for i in ids if i in chain]
    return effective_sla(*layers)


@dataclass(frozen=True)
class Clock:
    """What deadline math needs: the city's calendar and the ticket's SLA policy."""

    calendar: WorkCalendar
    policy: SlaPolicy


async def clock(tenant_id: int, category_id: int | None) -> Clock:
    tenant = await city(tenant_id)
    return Clock(await tenant_calendar(tenant), await sla(tenant, category_id))


async def active_category(category_id: int | None) -> Category | None:
    if category_id is None:
        return None
    category = await Category.get_or_none(id=category_id)
    if category is None:
        raise NotFound("category", field="categoryId")
    if not category.is_active:
        raise Invalid("the category is inactive", field="categoryId")
    return category


async def active_department(department_id: int, field: str) -> Department:
    department = await Department.get_or_none(id=department_id)
    if department is None:
        raise NotFound("department", field=field)
    if not department.is_active:
        raise Invalid("the department is deactivated", field=field)
    return department


_ACTIVE = """
SELECT (SELECT is_active FROM categories WHERE tenant_id = $1 AND id = $2) AS category,
       (SELECT is_active FROM departments WHERE tenant_id = $1 AND id = $3) AS area
"""


async def check_active(
    conn: BaseDBAsyncClient, tenant_id: int, category_id: int | None, area_id: int | None
) -> None:
    """:func:`active_category` and :func:`active_department` (as ``areaId``) in one read."""
    if category_id is None and area_id is None:
        return
    row = (await conn.execute_query_dict(_ACTIVE, [tenant_id, category_id, area_id]))[0]
    if category_id is not None:
        if row["category"] is None:
            raise NotFound("category", field="categoryId")
        if not row["category"]:
            raise Invalid("the category is inactive", field="categoryId")
    if area_id is not None:
        if row["area"] is None:
            raise NotFound("department", field="areaId")
        if not row["area"]:
            raise Invalid("the department is deactivated", field="areaId")


def required(text: str, field: str, what: str = "a reason") -> str:
    text = text.strip()
    if not text:
        raise Invalid("give {what}", field=field, what=what)
    return text
