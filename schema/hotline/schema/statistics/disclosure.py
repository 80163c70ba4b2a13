"""Public disclosure through GraphQL: publishing (a city's admins and supervisors) and
reading without login (docs/statistics.md, "Public disclosure")."""

from __future__ import annotations

from datetime import date, datetime
from typing import Self

import strawberry
from strawberry import relay

from hotline.schema.context import Info
from hotline.schema.errors import Error, payload_errors
from hotline.schema.ids import decode_id
from hotline.tenants.statistics import disclosure
from hotline.tenants.statistics.models import PublishedCase, PublishedMonth


@strawberry.type(description="A month's figures as the city published them (rates 0–1).")
class PublishedFigures:
    month: date = strawberry.field(description="The month's first day.")
    received: int
    direct_answered: int
    direct_answer_rate: float | None
    replied_on_time_rate: float | None
    satisfaction_rate: float | None
    handling_rate: float | None
    completion_rate: float | None
    connection_rate: float | None
    published_at: datetime

    @classmethod
    def from_model(cls, row: PublishedMonth) -> Self:
        f = row.figures
        return cls(
            month=row.month,
            published_at=row.published_at,
            received=int(f.get("received") or 0),
            direct_answered=int(f.get("direct_answered") or 0),
            direct_answer_rate=f.get("direct_answer_rate"),
            replied_on_time_rate=f.get("replied_on_time_rate"),
            satisfaction_rate=f.get("satisfaction_rate"),
            handling_rate=f.get("handling_rate"),
            completion_rate=f.get("completion_rate"),
            connection_rate=f.get("connection_rate"),
        )


@strawberry.type(description="A published case: its redacted text only.")
class PublicCase:
    month: date
    category: str
    kind: str
    title: str
    content: str
    reply: str

    @classmethod
    def from_model(cls, row: PublishedCase) -> Self:
        return cls(
            month=row.month,
            category=row.category,
            kind=row.kind,
            title=row.title,
            content=row.content,
            reply=row.reply,
        )


@strawberry.type(description="A city's published figures, as anyone may read them.")
class PublicCity:
    slug: str
    name: str
    months: list[PublishedFigures]


@strawberry.type
class PublishFiguresPayload:
    figures: PublishedFigures | None
    errors: list[Error]


@strawberry.type
class PublishCasePayload:
    case: PublicCase | None
    errors: list[Error]


@strawberry.type
class DisclosureMutations:
    @strawberry.mutation(description="Publish (or publish again) an ended month's figures.")
    async def publish_monthly_figures(self, info: Info, month: date) -> PublishFiguresPayload:
        row, errors = await payload_errors(
            lambda: disclosure.publish_month(actor=info.context.actor, month=month)
        )
        return PublishFiguresPayload(
            figures=None if row is None else PublishedFigures.from_model(row), errors=errors
        )

    @strawberry.mutation(description="Publish a closed, non-confidential case, its text redacted.")
    async def publish_case(self, info: Info, ticket_id: relay.GlobalID) -> PublishCasePayload:
        row, errors = await payload_errors(
            lambda: disclosure.publish_case(
                actor=info.context.actor,
                ticket_id=decode_id(ticket_id, "Ticket", field="ticketId"),
            )
        )
        return PublishCasePayload(
            case=None if row is None else PublicCase.from_model(row), errors=errors
        )


@strawberry.type
class DisclosureQueries:
    @strawberry.field(description="A city's published monthly figures (no login).")
    async def public_figures(self, city: str, months: int = 12) -> PublicCity:
        tenant = await disclosure.public_city(city)
        rows = await disclosure.public_months(tenant, limit=max(1, min(months, 60)))
        return PublicCity(
            slug=tenant.slug,
            name=tenant.name,
            months=[PublishedFigures.from_model(r) for r in rows],
        )

    @strawberry.field(description="A city's published cases, newest first (no login).")
    async def public_cases(self, city: str, limit: int = 20) -> list[PublicCase]:
        tenant = await disclosure.public_city(city)
        rows = await disclosure.public_cases(tenant, limit=max(1, min(limit, 100)))
        return [PublicCase.from_model(r) for r in rows]
