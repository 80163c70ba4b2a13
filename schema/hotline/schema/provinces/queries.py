from __future__ import annotations

import strawberry
from strawberry import relay

from hotline.schema.context import Info
from hotline.schema.ids import decode_id
from hotline.schema.permissions import signed_in
from hotline.schema.provinces.types import Province, Tenant
from hotline.tenants.provinces import service


@strawberry.type
class ProvinceQueries:
    @strawberry.field(permission_classes=[signed_in], description="Provinces the caller may see.")
    async def provinces(self, info: Info) -> list[Province]:
        rows = await service.list_provinces(actor=info.context.actor)
        return [Province.from_model(row) for row in rows]

    @strawberry.field(
        permission_classes=[signed_in],
        description="Cities the caller may see: a province admin's province, or its own city.",
    )
    async def tenants(self, info: Info, province_id: relay.GlobalID | None = None) -> list[Tenant]:
        pid = decode_id(province_id, "Province", field="provinceId") if province_id else None
        rows = await service.list_tenants(actor=info.context.actor, province_id=pid)
        return [Tenant.from_model(row) for row in rows]

    @strawberry.field(
        permission_classes=[signed_in],
        description="A city by division code (370100) or slug (jinan).",
    )
    async def tenant(self, info: Info, code: str) -> Tenant:
        row = await service.access_tenant(actor=info.context.actor, code=code)
        return Tenant.from_model(row)
