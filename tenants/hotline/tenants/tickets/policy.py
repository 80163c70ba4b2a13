"""The city, its SLA policy and its working calendar, as a ticket change needs them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

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


# The overrides of the category's ancestors and itself (its path, root first; a
# category not found: none), in one read.
_CHAIN = """
SELECT COALESCE(json_agg(c.sla_overrides ORDER BY u.n), '[]'::json) AS chain
FROM categories own
CROSS JOIN LATERAL unnest(string_to_array(own.path, '/')) WITH ORDINALITY AS u(i, n)
JOIN categories c ON c.tenant_id = own.tenant_id AND c.id = u.i::int
WHERE own.tenant_id = $1 AND own.id = $2 AND u.i <> ''
"""


async def sla(
    tenant: Tenant, category_id: int | None, province: Province | None = None
) -> SlaPolicy:
    """Province defaults, then the city, then the category's ancestors and itself.
    ``province``: the city's, when the caller has read it."""
    if province is None:
        province = await Province.get(id=tenant.province_id)
    layers: list[dict[str, Any]] = [province.sla_defaults, tenant.sla_overrides]
    if category_id is not None:
        rows = await Province._meta.db.execute_query_dict(_CHAIN, [tenant.id, category_id])
        chain = rows[0]["chain"]
        layers += json.loads(chain) if isinstance(chain, str | bytes) else chain
    return effective_sla(*layers)


@dataclass(frozen=True)
class Clock:
    """What deadline math needs: the city's calendar and the ticket's SLA policy."""

    calendar: WorkCalendar
    policy: SlaPolicy


async def clock(tenant_id: int, category_id: int | None) -> Clock:
    tenant = await city(tenant_id)
    province = await Province.get(id=tenant.province_id)  # read once for both
    return Clock(await tenant_calendar(tenant, province), await sla(tenant, category_id, province))


async def active_category(category_id: int | None) -> Category | None:
    if category_id is None:
        return None
    category = await Category.get_or_none(id=category_id)
    if category is None:
        raise NotFound("category", field="categoryId")
    if not category.is_active:
        raise Invalid("the category is inactive", field="categoryId")
    return category


async def active_departments(wanted: Sequence[tuple[int, str]]) -> list[Department]:
    """:func:`active_department` of each ``(id, field)`` in one read, in order: the first
    one missing or deactivated gives its error."""
    found = {d.id: d for d in await Department.filter(id__in=sorted({i for i, _ in wanted}))}
    out: list[Department] = []
    for department_id, field in wanted:
        department = found.get(department_id)
        if department is None:
            raise NotFound("department", field=field)
        if not department.is_active:
            raise Invalid("the department is deactivated", field=field)
        out.append(department)
    return out


async def active_department(department_id: int, field: str) -> Department:
    department = await Department.get_or_none(id=department_id)
    if department is None:
        raise NotFound("department", field=field)
    if not department.is_active:
        raise Invalid("the department is deactivated", field=field)
    return department


def required(text: str, field: str, what: str = "a reason") -> str:
    text = text.strip()
    if not text:
        raise Invalid("give {what}", field=field, what=what)
    return text
