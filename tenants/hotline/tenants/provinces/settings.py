"""A city's settings: validated values a city tunes (its feature flags are on/off
switches beside them, ``Tenant.features``). Stored as ``Tenant.settings``; read through
:func:`city_settings`, changed through :func:`update_city_settings` (merged in SQL, so
concurrent changes to other settings survive)."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from hotline.tenants.kernel.access import Action, Actor, require
from hotline.tenants.kernel.audit import record_audit
from hotline.tenants.kernel.errors import Invalid
from hotline.tenants.provinces.current import forget
from hotline.tenants.provinces.models import Tenant
from hotline.tenants.provinces.service import access_tenant

# The rates a ranking may weigh (hotline.tenants.statistics.metrics.Figures.rates).
RANKING_RATES = frozenset(
    {
        "signed_on_time",
        "replied_on_time",
        "satisfaction",
        "handling",
        "completion",
        "revisit_reach",
        "direct_answer",
    }
)


class CitySettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # A direct answer from the knowledge base goes to a revisit instead of closing.
    revisit_sampling: bool = False
    # Auto-dispatch a new ticket to the routing model's choice at or above this
    # confidence; None = off (the dispatcher decides).
    auto_dispatch_threshold: float | None = Field(default=None, gt=0, le=1)
    # Working hours a supervision order stays at level 1, 2, …; the last level (city
    # leadership) stays until closed.
    supervision_escalation_hours: tuple[float, ...] = Field(
        default=(16.0,), min_length=1, max_length=5
    )

    # The weights of the department ranking's composite score (docs/statistics.md): rate
    # name → weight ≥ 0, at least one above 0.
    ranking_weights: dict[str, float] = Field(
        default_factory=lambda: {
            "signed_on_time": 1.0,
            "replied_on_time": 2.0,
            "satisfaction": 3.0,
            "completion": 2.0,
        }
    )

    @field_validator("ranking_weights")
    @classmethod
    def _weights(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(value) - RANKING_RATES)
        if unknown:
            known = ", ".join(sorted(RANKING_RATES))
            raise ValueError(f"unknown rate {unknown[0]!r}; one of {known}")
        if any(not 0 <= w <= 100 for w in value.values()):
            raise ValueError("each weight is within [0, 100]")
        if not any(w > 0 for w in value.values()):
            raise ValueError("at least one weight is above 0")
        return value

    @field_validator("supervision_escalation_hours")
    @classmethod
    def _hours(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if not all(0 < h <= 240 for h in value):
            raise ValueError("each level waits (0, 240] working hours")
        return value


SETTING_NAMES = frozenset(CitySettings.model_fields)


def city_settings(tenant: Tenant) -> CitySettings:
    """The city's settings, defaults filled in."""
    return CitySettings.model_validate(tenant.settings or {})


def _validated(changes: dict[str, Any]) -> dict[str, Any]:
    try:
        checked = CitySettings.model_validate(changes)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(map(str, first["loc"])) or "settings"
        raise Invalid(
            "{where}: {error}", field="settings", where=where, error=first["msg"]
        ) from exc
    values = checked.model_dump(mode="json")
    return {k: values[k] for k in changes}


async def update_city_settings(
    *, actor: Actor, tenant_id: int, changes: dict[str, Any]
) -> CitySettings:
    """Change some settings of a city (its admin, or its province's admin)."""
    tenant = await access_tenant(actor=actor, tenant_id=tenant_id)
    require(actor, Action.TENANT_UPDATE, province_id=tenant.province_id)
    if not changes:
        raise Invalid("nothing to change", field="settings")
    patch = _validated(changes)
    rows = await Tenant._meta.db.execute_query_dict(
        "UPDATE tenants SET settings = settings || $1::jsonb, updated_at = now() "
        "WHERE id = $2 RETURNING settings",
        [json.dumps(patch), tenant.id],
    )
    forget(tenant.id)
    raw = rows[0]["settings"]
    tenant.settings = json.loads(raw) if isinstance(raw, str) else raw
    await record_audit(
        actor_id=actor.user_id,
        action="tenant.settings",
        target=tenant.code,
        detail=patch,
        province_id=tenant.province_id,
        tenant_id=tenant.id,
    )
    return city_settings(tenant)
