"""SLA defaults: platform → province → city, each layer overriding the one above."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hotline.tenants.kernel.errors import Invalid


class SlaPolicy(BaseModel):
    """Deadlines of a work order; units are in the field names
    (docs/architecture.md §10 "Clocks")."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sign_for_working_hours: float = Field(default=2, gt=0, le=72)
    reply_working_days: int = Field(default=7, ge=1, le=30)
    max_total_working_days: int = Field(default=30, ge=1, le=30)
    due_soon_ratio: float = Field(default=0.8, gt=0, lt=1)
    emergency_sign_for_minutes: int = Field(default=30, ge=1, le=24 * 60)
    revisit_attempt_limit: int = Field(default=3, ge=1, le=10)


PLATFORM_DEFAULTS = SlaPolicy()

SLA_FIELDS = frozenset(SlaPolicy.model_fields)


def validate_sla_layer(layer: dict[str, Any]) -> dict[str, Any]:
    """Checks a partial override (unknown keys, ranges) and returns it normalised."""
    try:
        merged = SlaPolicy.model_validate({**PLATFORM_DEFAULTS.model_dump(), **layer})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(map(str, first["loc"])) or "sla"
        raise Invalid("{where}: {error}", field="sla", where=where, error=first["msg"]) from exc
    values = merged.model_dump()
    return {k: values[k] for k in layer}


def effective_sla(*layers: dict[str, Any]) -> SlaPolicy:
    """The platform defaults overridden by each layer in turn (province, then city)."""
    values = PLATFORM_DEFAULTS.model_dump()
    for layer in layers:
        values.update({k: v for k, v in layer.items() if k in SLA_FIELDS})
    return SlaPolicy.model_validate(values)
