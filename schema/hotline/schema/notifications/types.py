from __future__ import annotations

from datetime import datetime
from typing import Self

import strawberry
from strawberry import relay

from hotline.platform import outbox
from hotline.schema.context import Info
from hotline.schema.departments.types import Department, load_departments
from hotline.schema.loaders import loader
from hotline.schema.routing.types import Reliability
from hotline.tenants.notifications import models
from hotline.tenants.routing import insight, ml_models


@strawberry.type(description="A message that could not be delivered after its last attempt.")
class DeadLetter(relay.Node):
    id: relay.NodeID[int]
    channel: str
    event: str | None
    send_key: str
    attempts: int
    last_error: str
    created_at: datetime
    failed_at: datetime

    @classmethod
    def from_model(cls, row: outbox.OutboxMessage) -> Self:
        # the payload is not shown: it may hold a citizen's (encrypted) phone number
        event = row.payload.get("event")
        return cls(
            id=row.id,
            channel=row.kind,
            event=event.get("type") if isinstance(event, dict) else event,
            send_key=row.send_key,
            attempts=row.attempts,
            last_error=row.last_error,
            created_at=row.created_at,
            failed_at=row.updated_at,
        )


@strawberry.type(description="An in-app notice for the signed-in user.")
class Notice(relay.Node):
    id: relay.NodeID[int]
    event: str
    title: str
    body: str
    ticket_id: relay.GlobalID | None
    read_at: datetime | None
    created_at: datetime

    @classmethod
    def from_model(cls, row: models.Notice) -> Self:
        return cls(
            id=row.id,
            event=row.event,
            title=row.title,
            body=row.body,
            ticket_id=relay.GlobalID("Ticket", str(row.ticket_id)) if row.ticket_id else None,
            read_at=row.read_at,
            created_at=row.created_at,
        )


@strawberry.type(description="An integration's receiver of signed webhooks.")
class WebhookEndpoint(relay.Node):
    id: relay.NodeID[int]
    name: str
    url: str
    event_types: list[str]
    is_active: bool
    created_at: datetime

    @classmethod
    def from_model(cls, row: models.WebhookEndpoint) -> Self:
        return cls(
            id=row.id,
            name=row.name,
            url=row.url,
            event_types=list(row.event_types),
            is_active=row.is_active,
            created_at=row.created_at,
        )


@strawberry.type(description="A trained routing classifier and its held-out accuracy.")
class RoutingModel:
    version: int
    algorithm: str
    samples: int
    train_size: int
    test_size: int
    top1_accuracy: float
    top3_accuracy: float
    trained_at: datetime

    @classmethod
    def from_model(cls, row: ml_models.RoutingModelVersion) -> Self:
        return cls(
            version=row.version,
            algorithm=row.algorithm,
            samples=row.samples,
            train_size=row.train_size,
            test_size=row.test_size,
            top1_accuracy=row.top1_accuracy,
            top3_accuracy=row.top3_accuracy,
            trained_at=row.created_at,
        )

    @strawberry.field(
        description="The reliability curve of the suggestions' probabilities, measured on "
        "held-out requests (the province function model's, which every suggestion starts "
        "from): the precision at each threshold, to read before turning auto-dispatch on."
    )
    async def reliability(self) -> Reliability:
        _, metrics = await insight.province_model_info(actor=None)
        return Reliability.from_metrics(metrics.get("reliability", {}))


@strawberry.type
class DepartmentScore:
    department_id: strawberry.Private[int]
    confidence: float

    @strawberry.field
    async def department(self, info: Info) -> Department | None:
        row = await loader(info, "departments", load_departments).load(self.department_id)
        return Department.from_model(row) if row else None


@strawberry.type(
    description="How routing would send a ticket: a rule's pick, or the model's top 3."
)
class RoutingSuggestion:
    source: str  # rule | model | none
    confidence: float | None
    model_version: int | None
    auto_dispatch: bool
    suggestions: list[DepartmentScore]

    @classmethod
    def from_model(cls, row: ml_models.RoutingSuggestion) -> Self:
        return cls(
            source=row.source,
            confidence=row.confidence,
            model_version=row.model_version,
            auto_dispatch=row.auto_dispatch,
            suggestions=[
                DepartmentScore(department_id=s["department_id"], confidence=s["confidence"])
                for s in row.suggestions
            ],
        )
