from __future__ import annotations

from typing import Any, Self

import strawberry
from strawberry import relay

from hotline.schema.context import Info
from hotline.schema.departments.types import Department, load_departments
from hotline.schema.loaders import loader
from hotline.tenants.routing import places_models


@strawberry.type(description="A function of the province catalogue departments are tagged with.")
class DepartmentFunction:
    code: str
    name: str
    dispatch: str = strawberry.field(
        description="city | district | street: the node of the tree that handles it."
    )
    duties: str
    keywords: list[str]
    routable: bool


@strawberry.type(description="A name of the city's gazetteer and the unit it implies.")
class GazetteerPlace(relay.Node):
    id: relay.NodeID[int]
    name: str
    kind: str
    aliases: list[str]
    department_id: strawberry.Private[int | None]

    @classmethod
    def from_model(cls, row: places_models.GazetteerPlace) -> Self:
        return cls(
            id=row.id,
            name=row.name,
            kind=row.kind,
            aliases=list(row.aliases),
            department_id=row.department_id,
        )

    @strawberry.field(
        description="The district, street or community it implies; none for a name-only "
        "place (added with the deprecated addPlaceNames: it marks a place, resolves no unit)."
    )
    async def department(self, info: Info) -> Department | None:
        if self.department_id is None:
            return None
        row = await loader(info, "department", load_departments).load(self.department_id)
        return Department.from_model(row) if row else None


@strawberry.type
class PlaceResolution:
    department: Department | None
    matched: list[str]


@strawberry.type(description="Measured precision of the top suggestion at a threshold.")
class ReliabilityPoint:
    threshold: float
    precision: float | None = strawberry.field(
        description="Share right among the requests at or above the threshold (none: no such)."
    )
    coverage: float = strawberry.field(
        description="Share of requests at or above it: what auto-dispatch would take."
    )


@strawberry.type(description="Mean confidence against accuracy in one confidence bin.")
class ReliabilityBin:
    low: float
    confidence: float
    accuracy: float
    count: int


@strawberry.type(
    description="The reliability curve of routing's probabilities on held-out requests."
)
class Reliability:
    samples: int
    thresholds: list[ReliabilityPoint]
    bins: list[ReliabilityBin]

    @classmethod
    def from_metrics(cls, data: dict[str, Any]) -> Self:
        return cls(
            samples=int(data.get("samples", 0)),
            thresholds=[ReliabilityPoint(**p) for p in data.get("thresholds", [])],
            bins=[ReliabilityBin(**b) for b in data.get("bins", [])],
        )


@strawberry.type(
    description=(
        "The province-wide function model the city's suggestions come from (version 0: "
        "the shipped corpus + catalogue model, before the province trained its own)."
    )
)
class ProvinceRoutingModel:
    version: int
    samples: int
    history: int = strawberry.field(description="Closed tickets of the province's cities in it.")
    top1_accuracy: float
    top3_accuracy: float
    heldout: int
    reliability: Reliability

    @classmethod
    def from_metrics(cls, samples: int, metrics: dict[str, Any]) -> Self:
        return cls(
            version=int(metrics.get("version", 0)),
            samples=samples,
            history=int(metrics.get("history", 0)),
            top1_accuracy=float(metrics.get("top1", 0.0)),
            top3_accuracy=float(metrics.get("top3", 0.0)),
            heldout=int(metrics.get("heldout", 0)),
            reliability=Reliability.from_metrics(metrics.get("reliability", {})),
        )


@strawberry.type
class FunctionAccuracy:
    function: str
    requests: int
    top1: float
    top3: float


@strawberry.type
class ConfusionPair:
    expected: str
    suggested: str
    count: int


@strawberry.type(description="The deployed routing measured on labelled requests.")
class RoutingEvaluation:
    requests: int
    top1: float
    top3: float
    function_top1: float
    function_top3: float
    per_function: list[FunctionAccuracy]
    confusions: list[ConfusionPair]
    place_checked: int
    place_accuracy: float | None
