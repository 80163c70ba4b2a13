"""Business requests through GraphQL: submitted and rated by enterprise users, answered
or dispatched by their service manager, figures for the city's staff."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Self

import strawberry
from strawberry import relay

from hotline.schema.context import Info
from hotline.schema.errors import Error, payload_errors
from hotline.schema.ids import decode_id, encode_id
from hotline.schema.pagination import Connection, build_connection, decode_cursor, page_size
from hotline.schema.permissions import can
from hotline.tenants.business import models, requests, usefulness
from hotline.tenants.kernel.access import Action

RequestTopic = models.RequestTopic
Usefulness = models.Usefulness
Dimension = usefulness.Dimension
strawberry.enum(models.RequestTopic, name="BusinessRequestTopic")
strawberry.enum(models.Usefulness, name="Usefulness")
strawberry.enum(usefulness.Dimension, name="BusinessFigureDimension")


@strawberry.type(description="A ticket of the business kind, linked to an enterprise.")
class BusinessRequest:
    id: relay.GlobalID
    ticket_id: relay.GlobalID
    number: str
    status: str = strawberry.field(description="The ticket's status (received, dispatched …).")
    enterprise_id: relay.GlobalID
    topic: RequestTopic
    title: str
    content: str
    answer: str = strawberry.field(description="The manager's direct answer or the reply.")
    manager_id: relay.GlobalID | None
    response_deadline: datetime
    responded_at: datetime | None
    rating: Usefulness | None
    rating_comment: str
    created_at: datetime

    @classmethod
    def from_request(cls, got: requests.Request) -> Self:
        r, t = got.request, got.ticket
        return cls(
            id=encode_id("BusinessRequest", r.id),
            ticket_id=encode_id("Ticket", t.id),
            number=t.number,
            status=t.status.value,
            enterprise_id=encode_id("Enterprise", r.enterprise_id),
            topic=r.topic,
            title=t.title,
            content=t.content,
            answer=t.public_reply,
            manager_id=encode_id("User", r.manager_id) if r.manager_id else None,
            response_deadline=r.response_deadline,
            responded_at=r.responded_at,
            rating=r.rating,
            rating_comment=r.rating_comment,
            created_at=r.created_at,
        )


@strawberry.type
class BusinessRequestPayload:
    request: BusinessRequest | None
    errors: list[Error]


@strawberry.type(description="Workload, first response and usefulness of one group.")
class BusinessFigures:
    key: str | None = strawberry.field(
        description="A user id (manager), a division code (industry), a department id "
        "(area, department) or a city's id (city)."
    )
    city_id: relay.GlobalID | None = strawberry.field(
        description="Province roll-ups: the city a manager, area or department key "
        "belongs to (null where the key adds up over cities: industry, city)."
    )
    requests: int
    open: int
    responded: int
    responded_on_time: int
    overdue_unresponded: int
    rated: int
    useful: int
    partly: int
    not_useful: int
    useful_rate: Decimal | None = strawberry.field(description="useful / rated")
    on_time_rate: Decimal | None = strawberry.field(
        description="responded on time / (responded + overdue without response)"
    )
    financing_applications: int = strawberry.field(
        description="Financing applications made on these requests."
    )
    financing_approved: int
    financing_rejected: int
    financing_withdrawn: int
    financing_approved_amount: Decimal = strawberry.field(description="Yuan approved in all.")


@strawberry.type
class BusinessRequestQueries:
    @strawberry.field(
        permission_classes=[can(Action.ENTERPRISE_READ)],
        description=(
            "Business requests, newest first: an enterprise user's own enterprise's, a "
            "service manager's, or the whole city's (admins, supervisors)."
        ),
    )
    async def business_requests(
        self,
        info: Info,
        enterprise_id: relay.GlobalID | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[BusinessRequest]:
        size = page_size(first)
        rows = await requests.list_requests(
            actor=info.context.actor,
            enterprise_id=decode_id(enterprise_id, "Enterprise", field="enterpriseId")
            if enterprise_id
            else None,
            after=decode_cursor(after),
            first=size,
        )
        return build_connection(
            rows, size, lambda r: r.request.id, BusinessRequest.from_request, after=after
        )

    @strawberry.field(permission_classes=[can(Action.ENTERPRISE_READ)])
    async def business_request(self, info: Info, id: relay.GlobalID) -> BusinessRequest:
        got = await requests.access_request(
            actor=info.context.actor, request_id=decode_id(id, "BusinessRequest", field="id")
        )
        return BusinessRequest.from_request(got)

    @strawberry.field(
        permission_classes=[can(Action.BUSINESS_READ)],
        description="Requests submitted over [from, to] (UTC days), per manager, industry, "
        "area (district) or lead department.",
    )
    async def business_figures(
        self,
        info: Info,
        by: Dimension,
        first: Annotated[date, strawberry.argument(name="from")],
        last: Annotated[date, strawberry.argument(name="to")],
    ) -> list[BusinessFigures]:
        rows = await usefulness.usefulness(actor=info.context.actor, by=by, first=first, last=last)
        return [_figures(r) for r in rows]

    @strawberry.field(
        permission_classes=[can(Action.STATISTICS_PROVINCE_READ)],
        description="businessFigures rolled up over every city of the province (province "
        "admins): industries and cities add up, managers, areas and departments per city.",
    )
    async def province_business_figures(
        self,
        info: Info,
        by: Dimension,
        first: Annotated[date, strawberry.argument(name="from")],
        last: Annotated[date, strawberry.argument(name="to")],
    ) -> list[BusinessFigures]:
        rows = await usefulness.province_usefulness(
            actor=info.context.actor, by=by, first=first, last=last
        )
        return [_figures(r) for r in rows]


def _figures(r: usefulness.Usefulness) -> BusinessFigures:
    return BusinessFigures(
        key=r.key,
        city_id=encode_id("Tenant", r.city_id) if r.city_id is not None else None,
        requests=r.requests,
        open=r.open,
        responded=r.responded,
        responded_on_time=r.responded_on_time,
        overdue_unresponded=r.overdue_unresponded,
        rated=r.rated,
        useful=r.useful,
        partly=r.partly,
        not_useful=r.not_useful,
        useful_rate=r.useful_rate,
        on_time_rate=r.on_time_rate,
        financing_applications=r.applications,
        financing_approved=r.approved,
        financing_rejected=r.rejected,
        financing_withdrawn=r.withdrawn,
        financing_approved_amount=r.approved_amount,
    )


@strawberry.type
class BusinessRequestMutations:
    @strawberry.mutation(
        permission_classes=[can(Action.BUSINESS_REQUEST_SUBMIT)],
        description="An enterprise user's request; it reaches the enterprise's manager first.",
    )
    async def submit_business_request(
        self, info: Info, topic: RequestTopic, title: str, content: str
    ) -> BusinessRequestPayload:
        async def call() -> BusinessRequest:
            got = await requests.submit_request(
                actor=info.context.actor, topic=topic, title=title, content=content
            )
            return BusinessRequest.from_request(got)

        found, errors = await payload_errors(call)
        return BusinessRequestPayload(request=found, errors=errors)

    @strawberry.mutation(
        permission_classes=[can(Action.BUSINESS_REQUEST_HANDLE)],
        description="The manager answers directly; the ticket closes as answered.",
    )
    async def answer_business_request(
        self, info: Info, id: relay.GlobalID, answer: str
    ) -> BusinessRequestPayload:
        async def call() -> BusinessRequest:
            got = await requests.answer_request(
                actor=info.context.actor,
                request_id=decode_id(id, "BusinessRequest", field="id"),
                answer=answer,
            )
            return BusinessRequest.from_request(got)

        found, errors = await payload_errors(call)
        return BusinessRequestPayload(request=found, errors=errors)

    @strawberry.mutation(
        permission_classes=[can(Action.BUSINESS_REQUEST_HANDLE)],
        description="The manager dispatches to departments, exactly like dispatchTicket.",
    )
    async def dispatch_business_request(
        self,
        info: Info,
        id: relay.GlobalID,
        lead_department_id: relay.GlobalID,
        co_department_ids: list[relay.GlobalID] | None = None,
        reason: str = "",
    ) -> BusinessRequestPayload:
        async def call() -> BusinessRequest:
            got = await requests.dispatch_request(
                actor=info.context.actor,
                request_id=decode_id(id, "BusinessRequest", field="id"),
                lead_department_id=decode_id(
                    lead_department_id, "Department", field="leadDepartmentId"
                ),
                co_department_ids=[
                    decode_id(d, "Department", field="coDepartmentIds")
                    for d in co_department_ids or []
                ],
                reason=reason,
            )
            return BusinessRequest.from_request(got)

        found, errors = await payload_errors(call)
        return BusinessRequestPayload(request=found, errors=errors)

    @strawberry.mutation(
        permission_classes=[can(Action.BUSINESS_REQUEST_SUBMIT)],
        description="The enterprise rates the outcome once (useful / partly / not useful).",
    )
    async def rate_business_request(
        self, info: Info, id: relay.GlobalID, rating: Usefulness, comment: str = ""
    ) -> BusinessRequestPayload:
        async def call() -> BusinessRequest:
            got = await requests.rate_request(
                actor=info.context.actor,
                request_id=decode_id(id, "BusinessRequest", field="id"),
                rating=rating,
                comment=comment,
            )
            return BusinessRequest.from_request(got)

        found, errors = await payload_errors(call)
        return BusinessRequestPayload(request=found, errors=errors)
