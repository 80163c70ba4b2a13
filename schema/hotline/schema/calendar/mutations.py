from __future__ import annotations

import strawberry
from strawberry import relay

from hotline.platform.calendar import DayKind as DayKindEnum
from hotline.schema.calendar.types import CalendarDay, CalendarDayInput, DaySetting
from hotline.schema.context import Info
from hotline.schema.errors import Error, payload_errors
from hotline.schema.ids import decode_id
from hotline.tenants.provinces import calendar as service


@strawberry.type
class CalendarDaysPayload:
    days: list[CalendarDay]
    errors: list[Error]


@strawberry.type
class CalendarMutations:
    @strawberry.mutation(
        description=(
            "Set holidays and make-up workdays: the current city's overrides, or with "
            "provinceId (no city selected) the province's shared calendar."
        )
    )
    async def set_calendar_days(
        self, info: Info, days: list[CalendarDayInput], province_id: relay.GlobalID | None = None
    ) -> CalendarDaysPayload:
        async def call() -> list[CalendarDay]:
            changes = [
                service.DayChange(
                    day=d.day,
                    kind=None if d.kind is DaySetting.INHERIT else DayKindEnum(d.kind.value),
                    name=d.name,
                )
                for d in days
            ]
            rows = await service.set_calendar_days(
                actor=info.context.actor,
                days=changes,
                province_id=decode_id(province_id, "Province", field="provinceId")
                if province_id
                else None,
            )
            return [CalendarDay.from_model(row) for row in rows]

        result, errors = await payload_errors(call)
        return CalendarDaysPayload(days=result or [], errors=errors)
