from __future__ import annotations

from datetime import date

import strawberry
from strawberry import relay

from hotline.platform.calendar import DayKind as DayKindEnum
from hotline.schema.calendar.types import CalendarDay, CalendarDayInput, DaySetting
from hotline.schema.context import Info
from hotline.schema.errors import Error, payload_errors
from hotline.schema.ids import decode_id
from hotline.tenants.provinces import calendar as service
from hotline.tenants.provinces import calendar_years


@strawberry.input(description="A holiday range of the notice, both ends included.")
class HolidayRangeInput:
    start: date
    end: date
    name: str


@strawberry.input(description="A make-up workday (调休) of the notice: a Saturday or Sunday.")
class MakeUpDayInput:
    day: date
    name: str


@strawberry.type
class ImportCalendarYearPayload:
    year: int | None = strawberry.field(description="The year now published, on success.")
    holiday_dates: int = strawberry.field(description="Holiday dates written (ranges expanded).")
    make_up_workdays: int
    recompute_jobs: int = strawberry.field(
        description="Cities whose provisional deadlines a worker now recomputes."
    )
    errors: list[Error]


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

    @strawberry.mutation(
        description=(
            "Publish a year's official holiday arrangement (the State Council notice) for "
            "a province, in one step: replaces the province's own entries of that year "
            "(cities' overrides stay), marks the year published and has a worker recompute "
            "the provisional deadlines of open work once. Province admins, no city selected."
        )
    )
    async def import_calendar_year(
        self,
        info: Info,
        province_id: relay.GlobalID,
        year: int,
        holidays: list[HolidayRangeInput],
        workdays: list[MakeUpDayInput],
    ) -> ImportCalendarYearPayload:
        async def call() -> calendar_years.Published:
            pid = decode_id(province_id, "Province", field="provinceId")
            arrangement = calendar_years.validate_arrangement(
                year,
                [calendar_years.HolidayRange(h.start, h.end, h.name) for h in holidays],
                [calendar_years.MakeUpDay(w.day, w.name) for w in workdays],
            )
            return await calendar_years.import_calendar_year(
                actor=info.context.actor, province_id=pid, arrangement=arrangement
            )

        done, errors = await payload_errors(call)
        return ImportCalendarYearPayload(
            year=done.year if done else None,
            holiday_dates=done.holidays if done else 0,
            make_up_workdays=done.workdays if done else 0,
            recompute_jobs=done.jobs if done else 0,
            errors=errors,
        )
