from __future__ import annotations

from datetime import datetime
from typing import Self

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from hotline.schema.calendar.types import RestDayStart
from hotline.schema.context import Info
from hotline.schema.loaders import by_key, loader
from hotline.tenants.provinces import models, settings
from hotline.tenants.provinces.service import tenant_sla


@strawberry.type(description="Deadlines and limits of work orders, after inheritance.")
class SlaPolicy:
    sign_for_working_hours: float
    reply_working_days: int
    max_total_working_days: int
    due_soon_ratio: float
    emergency_sign_for_minutes: int
    revisit_attempt_limit: int


@strawberry.input(description="A partial SLA override; unset fields are inherited.")
class SlaInput:
    sign_for_working_hours: float | None = None
    reply_working_days: int | None = None
    max_total_working_days: int | None = None
    due_soon_ratio: float | None = None
    emergency_sign_for_minutes: int | None = None
    revisit_attempt_limit: int | None = None

    def as_layer(self) -> dict[str, float | int]:
        return {k: v for k, v in vars(self).items() if v is not None}


@strawberry.type
class Province(relay.Node):
    id: relay.NodeID[int]
    code: str
    slug: str
    name: str
    timezone: str
    sla_defaults: JSON

    @classmethod
    def from_model(cls, row: models.Province) -> Self:
        return cls(
            id=row.id,
            code=row.code,
            slug=row.slug,
            name=row.name,
            timezone=row.timezone,
            sla_defaults=row.sla_defaults,
        )

    @strawberry.field
    async def tenants(self, info: Info) -> list[Tenant]:
        from hotline.tenants.provinces.service import list_tenants

        rows = await list_tenants(actor=info.context.actor, province_id=self.id)
        return [Tenant.from_model(row) for row in rows]


async def load_tenants(keys: list[int]) -> list[models.Tenant | None]:
    rows = await models.Tenant.filter(id__in=keys)
    return by_key(rows, keys, lambda r: r.id)


async def load_provinces(keys: list[int]) -> list[models.Province | None]:
    rows = await models.Province.filter(id__in=keys)
    return by_key(rows, keys, lambda r: r.id)


@strawberry.type(description="One rate's weight in the department ranking's composite score.")
class RankingWeight:
    rate: str = strawberry.field(
        description="signed_on_time, replied_on_time, satisfaction, handling, completion, "
        "revisit_reach or direct_answer (docs/statistics.md)."
    )
    weight: float


@strawberry.input(description="One rate's weight in the department ranking's composite score.")
class RankingWeightInput:
    rate: str
    weight: float


@strawberry.type(description="A city's validated settings (beside its on/off features).")
class CitySettings:
    revisit_sampling: bool = strawberry.field(
        description="Direct answers go to a revisit instead of closing."
    )
    auto_dispatch_threshold: float | None = strawberry.field(
        description="Auto-dispatch at or above this routing confidence; null = off."
    )
    supervision_escalation_hours: list[float] = strawberry.field(
        description="Working hours at supervision level 1, 2, …; the last level stays."
    )
    ranking_weights: list[RankingWeight] = strawberry.field(
        description="The department ranking's composite score: weighted mean of these rates."
    )

    @classmethod
    def from_settings(cls, value: settings.CitySettings) -> Self:
        return cls(
            revisit_sampling=value.revisit_sampling,
            auto_dispatch_threshold=value.auto_dispatch_threshold,
            supervision_escalation_hours=list(value.supervision_escalation_hours),
            ranking_weights=[
                RankingWeight(rate=k, weight=w) for k, w in sorted(value.ranking_weights.items())
            ],
        )


@strawberry.type(description="A city: the unit of tenancy.")
class Tenant(relay.Node):
    id: relay.NodeID[int]
    code: str = strawberry.field(description="GB/T 2260 division code, e.g. 370100.")
    slug: str = strawberry.field(description="Host name part: <slug>.hotline.example.")
    name: str
    number_prefix: str
    timezone: str
    locales: list[str]
    features: JSON
    sla_overrides: JSON
    is_active: bool
    updated_at: datetime
    rest_day_start: RestDayStart = strawberry.field(
        description="How working days count from a rest-day start (docs/calendar.md)."
    )
    province_id: strawberry.Private[int]
    _row: strawberry.Private[models.Tenant]

    @classmethod
    def from_model(cls, row: models.Tenant) -> Self:
        return cls(
            id=row.id,
            code=row.code,
            slug=row.slug,
            name=row.name,
            number_prefix=row.number_prefix,
            timezone=row.timezone,
            locales=list(row.locales),
            features=row.features,
            sla_overrides=row.sla_overrides,
            is_active=row.is_active,
            updated_at=row.updated_at,
            rest_day_start=RestDayStart(row.rest_day_start),
            province_id=row.province_id,
            _row=row,
        )

    @strawberry.field
    async def province(self, info: Info) -> Province:
        row = await loader(info, "province", load_provinces).load(self.province_id)
        assert row is not None  # a tenant's province always exists (FK)
        return Province.from_model(row)

    @strawberry.field
    def settings(self) -> CitySettings:
        return CitySettings.from_settings(settings.city_settings(self._row))

    @strawberry.field(description="The SLA in force: platform → province → city.")
    async def sla(self) -> SlaPolicy:
        policy = await tenant_sla(self._row)
        return SlaPolicy(**policy.model_dump())
