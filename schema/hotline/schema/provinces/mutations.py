from __future__ import annotations

from typing import Any, cast

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from hotline.schema.calendar.types import RestDayStart
from hotline.schema.context import Info
from hotline.schema.datetimes import forget_zones
from hotline.schema.errors import Error, payload_errors
from hotline.schema.ids import decode_id
from hotline.schema.provinces.types import (
    CitySettings,
    Province,
    RankingWeightInput,
    SlaInput,
    Tenant,
)
from hotline.tenants.provinces import service, settings


@strawberry.type
class ProvincePayload:
    province: Province | None
    errors: list[Error]


@strawberry.type
class TenantPayload:
    tenant: Tenant | None
    errors: list[Error]


@strawberry.input
class CreateProvinceInput:
    code: str
    slug: str
    name: str
    timezone: str = "Asia/Shanghai"
    sla_defaults: SlaInput | None = None


@strawberry.input
class CreateTenantInput:
    province_id: relay.GlobalID
    code: str = strawberry.field(description="GB/T 2260 division code, e.g. 370100.")
    slug: str
    name: str
    number_prefix: str = strawberry.field(description="Ticket number prefix, e.g. JN.")
    timezone: str | None = None
    locales: list[str] | None = None
    features: JSON | None = None
    sla_overrides: SlaInput | None = None


@strawberry.input
class UpdateTenantInput:
    tenant_id: relay.GlobalID
    name: str | None = None
    timezone: str | None = None
    locales: list[str] | None = None
    features: JSON | None = None
    sla_overrides: SlaInput | None = None
    is_active: bool | None = None
    rest_day_start: RestDayStart | None = strawberry.field(
        default=None, description="How working days count from a rest-day start."
    )


@strawberry.input(description="Only the settings given change; the rest stay.")
class CitySettingsInput:
    tenant_id: relay.GlobalID
    revisit_sampling: bool | None = None
    auto_dispatch_threshold: float | None = strawberry.field(
        default=None, description="0 < x ≤ 1; use setAutoDispatchThreshold to turn it off."
    )
    supervision_escalation_hours: list[float] | None = None
    ranking_weights: list[RankingWeightInput] | None = strawberry.field(
        default=None, description="Replaces the whole set of weights."
    )


@strawberry.type
class CitySettingsPayload:
    settings: CitySettings | None
    errors: list[Error]


@strawberry.type
class ProvinceMutations:
    @strawberry.mutation(description="Platform operators create provinces.")
    async def create_province(self, info: Info, input: CreateProvinceInput) -> ProvincePayload:
        row, errors = await payload_errors(
            lambda: service.create_province(
                actor=info.context.actor,
                code=input.code,
                slug=input.slug,
                name=input.name,
                timezone=input.timezone,
                sla_defaults=input.sla_defaults.as_layer() if input.sla_defaults else None,
            )
        )
        return ProvincePayload(province=Province.from_model(row) if row else None, errors=errors)

    @strawberry.mutation(
        description="Province SLA defaults, inherited by cities that do not override."
    )
    async def set_province_sla(
        self, info: Info, province_id: relay.GlobalID, sla: SlaInput
    ) -> ProvincePayload:
        async def call() -> Province:
            pid = decode_id(province_id, "Province", field="provinceId")
            row = await service.set_province_sla(
                actor=info.context.actor, province_id=pid, sla_defaults=sla.as_layer()
            )
            return Province.from_model(row)

        province, errors = await payload_errors(call)
        return ProvincePayload(province=province, errors=errors)

    @strawberry.mutation(description="Province admins create a city, with its hotline center.")
    async def create_tenant(self, info: Info, input: CreateTenantInput) -> TenantPayload:
        async def call() -> Tenant:
            row = await service.create_tenant(
                actor=info.context.actor,
                province_id=decode_id(input.province_id, "Province", field="provinceId"),
                code=input.code,
                slug=input.slug,
                name=input.name,
                number_prefix=input.number_prefix,
                timezone=input.timezone,
                locales=input.locales,
                features=cast(dict[str, Any] | None, input.features),
                sla_overrides=input.sla_overrides.as_layer() if input.sla_overrides else None,
            )
            return Tenant.from_model(row)

        tenant, errors = await payload_errors(call)
        return TenantPayload(tenant=tenant, errors=errors)

    @strawberry.mutation(description="Name, locales, feature flags, SLA overrides of a city.")
    async def update_tenant(self, info: Info, input: UpdateTenantInput) -> TenantPayload:
        async def call() -> Tenant:
            row = await service.update_tenant(
                actor=info.context.actor,
                tenant_id=decode_id(input.tenant_id, "Tenant", field="tenantId"),
                name=input.name,
                timezone=input.timezone,
                locales=input.locales,
                features=cast(dict[str, Any] | None, input.features),
                sla_overrides=input.sla_overrides.as_layer() if input.sla_overrides else None,
                is_active=input.is_active,
                rest_day_start=input.rest_day_start,
            )
            if input.timezone is not None:
                forget_zones()  # answers follow the new zone at once in this process
            return Tenant.from_model(row)

        tenant, errors = await payload_errors(call)
        return TenantPayload(tenant=tenant, errors=errors)

    @strawberry.mutation(description="A city's admin (or its province's) tunes its settings.")
    async def update_city_settings(
        self, info: Info, input: CitySettingsInput
    ) -> CitySettingsPayload:
        changes = {
            k: v
            for k, v in {
                "revisit_sampling": input.revisit_sampling,
                "auto_dispatch_threshold": input.auto_dispatch_threshold,
                "supervision_escalation_hours": input.supervision_escalation_hours,
                "ranking_weights": None
                if input.ranking_weights is None
                else {w.rate: w.weight for w in input.ranking_weights},
            }.items()
            if v is not None
        }

        async def call() -> CitySettings:
            saved = await settings.update_city_settings(
                actor=info.context.actor,
                tenant_id=decode_id(input.tenant_id, "Tenant", field="tenantId"),
                changes=changes,
            )
            return CitySettings.from_settings(saved)

        shaped, errors = await payload_errors(call)
        return CitySettingsPayload(settings=shaped, errors=errors)
