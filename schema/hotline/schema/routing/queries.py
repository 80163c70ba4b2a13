from __future__ import annotations

import strawberry

from hotline.schema.context import Info
from hotline.schema.departments.types import Department
from hotline.schema.permissions import can, signed_in
from hotline.schema.routing.types import (
    ConfusionPair,
    DepartmentFunction,
    FunctionAccuracy,
    GazetteerPlace,
    PlaceResolution,
    ProvinceRoutingModel,
    RoutingEvaluation,
)
from hotline.tenants.departments.functions import catalogue
from hotline.tenants.kernel.access import Action
from hotline.tenants.routing import gazetteer, insight


@strawberry.type
class RoutingQueries:
    @strawberry.field(
        permission_classes=[signed_in],
        description="The province catalogue of department functions.",
    )
    def department_functions(self) -> list[DepartmentFunction]:
        return [
            DepartmentFunction(
                code=f.code,
                name=f.name,
                dispatch=f.dispatch,
                duties=f.duties,
                keywords=list(f.keywords),
                routable=f.routable,
            )
            for f in catalogue().values()
        ]

    @strawberry.field(
        permission_classes=[can(Action.ROUTING_MANAGE)],
        description="The city's edited gazetteer rows (landmarks, old names, aliases); "
        "its districts, streets and communities count as places without rows.",
    )
    async def gazetteer(self, info: Info) -> list[GazetteerPlace]:
        rows = await gazetteer.list_places(actor=info.context.actor)
        return [GazetteerPlace.from_model(r) for r in rows]

    @strawberry.field(
        permission_classes=[can(Action.TICKET_QUEUE_READ)],
        description="The administrative unit a request's text and location resolve to.",
    )
    async def resolve_place(
        self, info: Info, text: str, location: str | None = None
    ) -> PlaceResolution:
        row, matched = await gazetteer.resolve_place(
            actor=info.context.actor, text=text, location=location
        )
        return PlaceResolution(
            department=Department.from_model(row) if row else None, matched=list(matched)
        )

    @strawberry.field(
        permission_classes=[can(Action.ROUTING_MANAGE)],
        description="The province function model the city's suggestions come from, with "
        "its held-out accuracy and reliability curve (precision at each threshold).",
    )
    async def province_routing_model(self, info: Info) -> ProvinceRoutingModel:
        samples, metrics = await insight.province_model_info(actor=info.context.actor)
        return ProvinceRoutingModel.from_metrics(samples, metrics)

    @strawberry.field(
        permission_classes=[can(Action.ROUTING_MANAGE)],
        description="The deployed routing on labelled requests (JSON lines: text, "
        "location?, expected_function, expected_department?, expected_place?).",
    )
    async def evaluate_routing(self, info: Info, jsonl: str) -> RoutingEvaluation:
        rows = insight.parse_rows(jsonl)
        report = await insight.evaluate_deployed(actor=info.context.actor, rows=rows)
        return RoutingEvaluation(
            requests=report.requests,
            top1=report.top1,
            top3=report.top3,
            function_top1=report.function_top1,
            function_top3=report.function_top3,
            per_function=[
                FunctionAccuracy(
                    function=code, requests=int(s["n"]), top1=s["top1"], top3=s["top3"]
                )
                for code, s in sorted(report.per_function.items())
            ],
            confusions=[
                ConfusionPair(expected=e, suggested=g, count=c) for e, g, c in report.confusions
            ],
            place_checked=report.place_checked,
            place_accuracy=report.place_accuracy,
        )
