from __future__ import annotations

import strawberry
from strawberry import relay

from hotline.platform import clock
from hotline.schema.calendar.types import Calendar, CalendarDay
from hotline.schema.context import Info
from hotline.schema.ids import decode_id
from hotline.schema.permissions import signed_in
from hotline.tenants.provinces import calendar as service
from hotline.tenants.provinces.models import Tenant


@strawberry.type
class CalendarQueries:
    @strawberry.field(
        permission_classes=[signed_in],
        description="The current city's working calendar (province days + city overrides).",
    )
    async def calendar(self, info: Info) -> Calendar:
        actor = info.context.actor
        cal = await service.current_tenant_calendar(actor)
        warnings: list[str] = []
        if actor.province_id is not None and (actor.is_province_admin or actor.roles):
            tenant = await Tenant.get(id=actor.tenant_id)
            today = clock.now().astimezone(cal.zone).date()  # the city's today
            warnings = await service.arrangement_warnings(
                province_id=tenant.province_id, today=today
            )
        return Calendar(timezone=cal.timezone, warnings=warnings, _calendar=cal)

    @strawberry.field(
        permission_classes=[signed_in],
        description="A year's holidays and make-up workdays: the city's view, or a province's.",
    )
    async def calendar_days(
        self, info: Info, year: int, province_id: relay.GlobalID | None = None
    ) -> list[CalendarDay]:
        pid = decode_id(province_id, "Province", field="provinceId") if province_id else None
        rows = await service.calendar_entries(actor=info.context.actor, year=year, province_id=pid)
        return [CalendarDay.from_model(row) for row in rows]
