"""Provinces and cities: the only writers of the catalog."""

from __future__ import annotations

import json
import re
from typing import Any
from zoneinfo import available_timezones

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from hotline.platform.calendar import RestDayStart
from hotline.platform.tenancy import Scope, use_scope
from hotline.tenants.departments.models import Department, DepartmentKind
from hotline.tenants.kernel.access import Action, Actor, allowed, require
from hotline.tenants.kernel.audit import record_audit
from hotline.tenants.kernel.errors import Conflict, Invalid, NotFound
from hotline.tenants.provinces.current import forget
from hotline.tenants.provinces.models import Province, Tenant
from hotline.tenants.sla.rules import SlaPolicy, effective_sla, validate_sla_layer

_DIVISION = re.compile(r"^[1-8]\d{5}$")
_SLUG = re.compile(r"^[a-z][a-z0-9-]{1,38}[a-z0-9]$")
_PREFIX = re.compile(r"^[A-Z]{2,4}$")
KNOWN_LOCALES = frozenset({"zh-CN", "en"})
KNOWN_FEATURES = frozenset({"business", "wechat", "open311", "sms", "cors_origins"})
# A city hosting its own frontend lists its origins (docs/frontend.md): scheme, host and
# port only; plain http only for a local development host.
_ORIGIN = re.compile(r"^(https://[a-z0-9.-]+|http://(localhost|127\.0\.0\.1))(:\d{1,5})?$")
MAX_CITY_ORIGINS = 20


def _check_common(*, code: str | None, slug: str | None, timezone: str | None) -> None:
    if code is not None and not _DIVISION.match(code):
        raise Invalid("code must be a 6-digit GB/T 2260 division code", field="code")
    if slug is not None and not _SLUG.match(slug):
        raise Invalid("slug must be 3-40 lowercase letters, digits or dashes", field="slug")
    if timezone is not None and timezone not in available_timezones():
        raise Invalid("unknown time zone {timezone}", field="timezone", timezone=repr(timezone))


def _check_locales(locales: list[str]) -> None:
    if not locales or set(locales) - KNOWN_LOCALES:
        raise Invalid(
            "locales must be among {choices}", field="locales", choices=sorted(KNOWN_LOCALES)
        )


def _check_origins(origins: Any) -> list[str]:
    if not isinstance(origins, list) or len(origins) > MAX_CITY_ORIGINS:
        raise Invalid(
            "cors_origins must be a list of at most {max} origins",
            field="features",
            max=MAX_CITY_ORIGINS,
        )
    for origin in origins:
        if not isinstance(origin, str) or not _ORIGIN.match(origin):
            raise Invalid(
                "{origin} is not an origin like https://app.example.org",
                field="features",
                origin=repr(origin),
            )
    return sorted(set(origins))


def _check_features(features: dict[str, Any]) -> dict[str, Any]:
    unknown = set(features) - KNOWN_FEATURES
    if unknown:
        raise Invalid("unknown feature flags: {flags}", field="features", flags=sorted(unknown))
    return {k: _check_origins(v) if k == "cors_origins" else bool(v) for k, v in features.items()}


async def frontend_origins() -> frozenset[str]:
    """The origins active cities host their own frontends on (``features.cors_origins``)."""
    with use_scope(Scope.platform()):
        rows = await Tenant.filter(is_active=True).values_list("features", flat=True)
    found: set[str] = set()
    for features in rows:
        data = _json(features) if isinstance(features, str) else features
        if isinstance(data, dict) and isinstance(data.get("cors_origins"), list):
            found.update(str(o) for o in data["cors_origins"])
    return frozenset(found)


async def create_province(
    *,
    actor: Actor,
    code: str,
    slug: str,
    name: str,
    timezone: str = "Asia/Shanghai",
    sla_defaults: dict[str, Any] | None = None,
) -> Province:
    require(actor, Action.PROVINCE_CREATE)
    _check_common(code=code, slug=slug, timezone=timezone)
    if not code.endswith("0000"):
        raise Invalid("a province code ends in 0000", field="code")
    sla = validate_sla_layer(sla_defaults or {})
    try:
        province = await Province.create(
            code=code, slug=slug, name=name.strip(), timezone=timezone, sla_defaults=sla
        )
    except IntegrityError as exc:
        raise Conflict("a province with this code or slug exists", field="code") from exc
    await record_audit(
        actor_id=actor.user_id, action="province.create", target=code, province_id=province.id
    )
    return province


async def list_provinces(*, actor: Actor) -> list[Province]:
    if actor.platform_operator:
        return await Province.all().order_by("code")
    ids = set(actor.province_admin_of)
    if actor.province_id is not None:
        ids.add(actor.province_id)
    return await Province.filter(id__in=ids).order_by("code")


async def access_province(*, actor: Actor, province_id: int) -> Province:
    if not allowed(actor, Action.PROVINCE_READ, province_id=province_id):
        raise NotFound("province", field="provinceId")
    province = await Province.get_or_none(id=province_id)
    if province is None:
        raise NotFound("province", field="provinceId")
    return province


async def create_tenant(
    *,
    actor: Actor,
    province_id: int,
    code: str,
    slug: str,
    name: str,
    number_prefix: str,
    timezone: str | None = None,
    locales: list[str] | None = None,
    features: dict[str, Any] | None = None,
    sla_overrides: dict[str, Any] | None = None,
) -> Tenant:
    """A new city, with its hotline center as the root department."""
    if not allowed(actor, Action.TENANT_CREATE, province_id=province_id):
        raise NotFound("province", field="provinceId")
    province = await access_province(actor=actor, province_id=province_id)
    _check_common(code=code, slug=slug, timezone=timezone)
    if code[:2] != province.code[:2]:
        raise Invalid("a city's code starts with its province's two digits", field="code")
    if not _PREFIX.match(number_prefix):
        raise Invalid("number prefix must be 2-4 capital letters", field="numberPrefix")
    locales = locales or list(province.locales)
    _check_locales(locales)
    flags = _check_features(features or {})
    sla = validate_sla_layer(sla_overrides or {})
    try:
        # Province scope for the transaction: its connection's RLS settings are fixed
        # when it starts, and the province's policy admits the new city's center.
        with use_scope(Scope.province(province.id, actor.user_id)):
            tenant = await _create_tenant_with_center(
                province=province,
                code=code,
                slug=slug,
                name=name.strip(),
                number_prefix=number_prefix,
                timezone=timezone or province.timezone,
                locales=locales,
                features=flags,
                sla_overrides=sla,
            )
    except IntegrityError as exc:
        raise Conflict("a city with this code or slug exists", field="code") from exc
    await record_audit(
        actor_id=actor.user_id,
        action="tenant.create",
        target=code,
        province_id=province.id,
        tenant_id=tenant.id,
    )
    return tenant


async def _create_tenant_with_center(*, province: Province, **fields: Any) -> Tenant:
    async with in_transaction("default"):
        tenant = await Tenant.create(province=province, **fields)
        center = await Department.create(
            tenant_id=tenant.id,
            province_id=province.id,
            kind=DepartmentKind.CENTER,
            name=f"{tenant.name}12345热线中心",
            path="/",
            code="center",
            function="hotline_center",
        )
        center.path = f"/{center.id}/"
        await center.save(update_fields=["path"])
    return tenant


async def update_tenant(
    *,
    actor: Actor,
    tenant_id: int,
    name: str | None = None,
    timezone: str | None = None,
    locales: list[str] | None = None,
    features: dict[str, Any] | None = None,
    sla_overrides: dict[str, Any] | None = None,
    is_active: bool | None = None,
    rest_day_start: RestDayStart | None = None,
) -> Tenant:
    tenant = await access_tenant(actor=actor, tenant_id=tenant_id)
    require(actor, Action.TENANT_UPDATE, province_id=tenant.province_id)
    _check_common(code=None, slug=None, timezone=timezone)
    changed: dict[str, Any] = {}
    if name is not None:
        if not name.strip():
            raise Invalid("name must not be empty", field="name")
        changed["name"] = name.strip()
    if timezone is not None:
        changed["timezone"] = timezone
    if locales is not None:
        _check_locales(locales)
        changed["locales"] = locales
    flags = _check_features(features) if features is not None else None
    if sla_overrides is not None:
        changed["sla_overrides"] = validate_sla_layer(sla_overrides)
    if is_active is not None:
        if not actor.is_province_admin and not actor.platform_operator:
            raise NotFound("city")
        changed["is_active"] = is_active
    if rest_day_start is not None:
        changed["rest_day_start"] = rest_day_start
    if flags:
        # Merged in SQL: concurrent changes to other flags (or routing settings) survive.
        rows = await Tenant._meta.db.execute_query_dict(
            "UPDATE tenants SET features = features || $1::jsonb, updated_at = now() "
            "WHERE id = $2 RETURNING features",
            [json.dumps(flags), tenant.id],
        )
        tenant.features = _json(rows[0]["features"])
        changed["features"] = tenant.features
    forget(tenant.id)
    if changed:
        tenant.update_from_dict(changed)
        await tenant.save(update_fields=[k for k in [*changed, "updated_at"] if k != "features"])
        await record_audit(
            actor_id=actor.user_id,
            action="tenant.update",
            target=tenant.code,
            detail={"fields": sorted(changed)},
            province_id=tenant.province_id,
            tenant_id=tenant.id,
        )
    return tenant


def _json(value: Any) -> dict[str, Any]:
    """asyncpg returns jsonb as text unless a codec is set."""
    return dict(json.loads(value) if isinstance(value, str) else value)


def _visible_tenant_filter(actor: Actor) -> dict[str, Any] | None:
    if actor.platform_operator:
        return {}
    if actor.province_admin_of:
        return {"province_id__in": list(actor.province_admin_of)}
    if actor.tenant_id is not None:
        return {"id": actor.tenant_id}
    return None


async def list_tenants(*, actor: Actor, province_id: int | None = None) -> list[Tenant]:
    """Cities the caller may see: its province's (admins) or its own."""
    where = _visible_tenant_filter(actor)
    if where is None:
        return []
    query = Tenant.filter(**where)
    if province_id is not None:
        query = query.filter(province_id=province_id)
    return await query.order_by("code")


async def access_tenant(
    *, actor: Actor, tenant_id: int | None = None, code: str | None = None
) -> Tenant:
    """A city the caller may see, by id or code (division code or slug); else NotFound."""
    where = _visible_tenant_filter(actor)
    if where is None:
        raise NotFound("city")
    query = Tenant.filter(**where)
    if tenant_id is not None:
        query = query.filter(id=tenant_id)
    elif code is not None:
        query = query.filter(code=code) if code.isdigit() else query.filter(slug=code)
    else:
        raise NotFound("city")
    tenant = await query.first()
    if tenant is None:
        raise NotFound("city")
    return tenant


async def tenant_sla(tenant: Tenant) -> SlaPolicy:
    province = await Province.get(id=tenant.province_id)
    return effective_sla(province.sla_defaults, tenant.sla_overrides)


async def set_province_sla(
    *, actor: Actor, province_id: int, sla_defaults: dict[str, Any]
) -> Province:
    # Another province reads as a missing one (docs/architecture.md §3), not as "not allowed".
    if not allowed(actor, Action.PROVINCE_UPDATE, province_id=province_id):
        raise NotFound("province", field="provinceId")
    province = await access_province(actor=actor, province_id=province_id)
    province.sla_defaults = validate_sla_layer(sla_defaults)
    await province.save(update_fields=["sla_defaults"])
    await record_audit(
        actor_id=actor.user_id, action="province.sla", target=province.code, province_id=province.id
    )
    return province
