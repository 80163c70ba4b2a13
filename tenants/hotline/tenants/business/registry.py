"""The registry's reads and single writes: an enterprise by id, the city's list (keyset
pages, filters), one enterprise registered or corrected by hand, and the legal
representative's name revealed (audited) — masked everywhere else, like a citizen's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q, Subquery

from hotline.platform import clock
from hotline.platform.crypto import decrypt, encrypt
from hotline.tenants.business.access import (
    access_enterprise,
    city_scope,
    own_enterprise_id,
    require_business,
)
from hotline.tenants.business.models import Enterprise, EnterpriseStatus, SizeClass
from hotline.tenants.business.rows import check_tags, parse_row
from hotline.tenants.departments.models import Department
from hotline.tenants.kernel.access import Action, Actor
from hotline.tenants.kernel.audit import record_audit
from hotline.tenants.kernel.errors import Conflict, Invalid, NotFound
from hotline.tenants.tickets.personal import mask_name

MAX_PAGE = 100


def masked_legal_rep(enterprise: Enterprise) -> str | None:
    if not enterprise.legal_rep_enc:
        return None
    return mask_name(decrypt(enterprise.legal_rep_enc))


@dataclass(frozen=True)
class EnterpriseFilter:
    industry: str | None = None
    size_class: SizeClass | None = None
    area_id: int | None = None  # the area's subtree
    status: EnterpriseStatus | None = None
    tag: str | None = None
    search: str | None = None  # name contains, or the exact USCC


async def list_enterprises(
    *, actor: Actor, where: EnterpriseFilter, after: int | None, first: int
) -> list[Enterprise]:
    """A page of the city's registry by id (an enterprise user: its own enterprise)."""
    await require_business(actor, Action.ENTERPRISE_READ)
    if not 1 <= first <= MAX_PAGE:
        raise Invalid("first must be between 1 and {max}", field="first", max=MAX_PAGE)
    own = await own_enterprise_id(actor)
    with city_scope(actor):
        query = Enterprise.all()
        if own is not None:
            query = query.filter(id=own)
        if where.industry:
            query = query.filter(industry=where.industry)
        if where.size_class:
            query = query.filter(size_class=where.size_class)
        if where.status:
            query = query.filter(status=where.status)
        if where.tag:
            query = query.filter(tags__contains=[where.tag])
        if where.search:
            text = where.search.strip()
            query = query.filter(Q(name__icontains=text) | Q(uscc=text.upper()))
        if where.area_id is not None:
            area = await Department.get_or_none(id=where.area_id)
            if area is None:
                raise NotFound("department", field="areaId")
            query = query.filter(
                area_id__in=Subquery(Department.filter(path__startswith=area.path).values("id"))
            )
        if after is not None:
            query = query.filter(id__gt=after)
        return await query.order_by("id").limit(first + 1)


@dataclass(frozen=True)
class EnterpriseInput:
    uscc: str
    name: str
    industry: str
    legal_rep: str | None = None
    employees: int | None = None
    revenue: Decimal | None = None
    size_class: SizeClass | None = None
    area_id: int | None = None
    registered_capital: Decimal | None = None
    founded_on: date | None = None
    status: EnterpriseStatus = EnterpriseStatus.ACTIVE
    tags: tuple[str, ...] = ()


async def register_enterprise(*, actor: Actor, data: EnterpriseInput) -> Enterprise:
    """One enterprise added to the city's registry by hand (the same checks as an import)."""
    await require_business(actor, Action.BUSINESS_MANAGE)
    with city_scope(actor):
        areas: dict[str, int] = {}
        if data.area_id is not None:
            if not await Department.exists(id=data.area_id, is_active=True):
                raise NotFound("department", field="areaId")
            areas[str(data.area_id)] = data.area_id
        row = parse_row(
            {
                "uscc": data.uscc,
                "name": data.name,
                "industry": data.industry,
                "legal_rep": data.legal_rep or "",
                "employees": "" if data.employees is None else str(data.employees),
                "revenue": "" if data.revenue is None else str(data.revenue),
                "size_class": data.size_class.value if data.size_class else "",
                "area": "" if data.area_id is None else str(data.area_id),
                "registered_capital": ""
                if data.registered_capital is None
                else str(data.registered_capital),
                "founded_on": data.founded_on.isoformat() if data.founded_on else "",
                "status": data.status.value,
            },
            areas=areas,
            today=clock.now().date(),
        )
        try:
            enterprise = await Enterprise.create(
                uscc=row.uscc,
                name=row.name,
                legal_rep_enc=encrypt(row.legal_rep) if row.legal_rep else None,
                industry=row.industry,
                section=row.section,
                employees=row.employees,
                revenue=row.revenue,
                size_class=row.size_class,
                area_id=row.area_id,
                registered_capital=row.registered_capital,
                founded_on=row.founded_on,
                status=row.status,
                tags=list(check_tags(data.tags)),
            )
        except IntegrityError as exc:
            raise Conflict("an enterprise with this USCC is registered", field="uscc") from exc
    return enterprise


async def reveal_legal_rep(*, actor: Actor, enterprise_id: int) -> str | None:
    """The legal representative in clear, for the city's business staff; audited."""
    enterprise = await access_enterprise(
        actor=actor, enterprise_id=enterprise_id, action=Action.BUSINESS_MANAGE
    )
    with city_scope(actor):
        await record_audit(
            actor_id=actor.user_id,
            action="enterprise.reveal",
            target=f"enterprise:{enterprise.id}",
            detail={"uscc": enterprise.uscc},
            tenant_id=enterprise.tenant_id,
            province_id=enterprise.province_id,
        )
    return decrypt(enterprise.legal_rep_enc) if enterprise.legal_rep_enc else None
