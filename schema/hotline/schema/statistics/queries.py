from __future__ import annotations

from datetime import date
from typing import Annotated

import strawberry
from strawberry import relay

from hotline.schema.context import Info
from hotline.schema.ids import decode_id
from hotline.schema.permissions import can, signed_in
from hotline.schema.statistics.types import CityStatistics, HotTopics, ProvinceStatistics
from hotline.tenants.kernel.access import Action
from hotline.tenants.statistics import dashboard, topics


@strawberry.type
class StatisticsQueries:
    @strawberry.field(
        permission_classes=[can(Action.STATISTICS_READ)],
        description=(
            "The city's figures over [from, to] (city-local days, at most 366), for the "
            "whole city or a department's subtree; a department manager sees only its own."
        ),
    )
    async def city_statistics(
        self,
        info: Info,
        first: Annotated[date, strawberry.argument(name="from")],
        last: Annotated[date, strawberry.argument(name="to")],
        department_id: relay.GlobalID | None = None,
    ) -> CityStatistics:
        report = await dashboard.city_statistics(
            actor=info.context.actor,
            first=first,
            last=last,
            department_id=None
            if department_id is None
            else decode_id(department_id, "Department", field="departmentId"),
        )
        return CityStatistics.from_report(report)

    @strawberry.field(
        # statistics.province_read is checked for the province chosen (the service)
        permission_classes=[signed_in],
        description=(
            "Every city of a province over [from, to], with their ranking: provinceId if "
            "given, else the selected city's province, else the one province the caller "
            "administers (no X-Hotline-Tenant needed)."
        ),
    )
    async def province_statistics(
        self,
        info: Info,
        first: Annotated[date, strawberry.argument(name="from")],
        last: Annotated[date, strawberry.argument(name="to")],
        province_id: relay.GlobalID | None = None,
    ) -> ProvinceStatistics:
        report = await dashboard.province_statistics(
            actor=info.context.actor,
            first=first,
            last=last,
            province_id=None
            if province_id is None
            else decode_id(province_id, "Province", field="provinceId"),
        )
        return ProvinceStatistics.from_report(report)

    @strawberry.field(
        permission_classes=[can(Action.STATISTICS_READ)],
        description=(
            "The week's top categories and rising terms (jieba) against the week before; "
            "a week is the seven city-local days ending on weekEnding (default today). "
            "A department role sees its subtrees' tickets only."
        ),
    )
    async def hot_topics(
        self, info: Info, week_ending: date | None = None, limit: int = 10
    ) -> HotTopics:
        found = await topics.hot_topics(
            actor=info.context.actor, week_ending=week_ending, limit=max(1, min(limit, 50))
        )
        return HotTopics.from_topics(found)
