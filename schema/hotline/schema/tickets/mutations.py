"""Ticket mutations: each parses its input, calls one function of the tickets domain
(``hotline.tenants.tickets.<intake|dispatch|extensions|review|center|transfer|supervision>``)
and shapes the payload. Live subscribers are told by the domain events, not here."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from decimal import Decimal

import strawberry
from strawberry import relay

from hotline.schema.context import Info
from hotline.schema.errors import Error, payload_errors
from hotline.schema.ids import decode_id
from hotline.schema.tickets.types import (
    Assignment,
    Channel,
    ExtensionRequest,
    Priority,
    Satisfaction,
    Supervision,
    Suspension,
    SuspensionCause,
    Ticket,
    TicketKind,
)
from hotline.tenants.tickets import (
    center,
    dispatch,
    extensions,
    intake,
    models,
    review,
    supervision,
    supplements,
    suspension,
    transfer,
)
from hotline.tenants.tickets.geo import Datum as DatumEnum

Datum = DatumEnum
strawberry.enum(DatumEnum, name="Datum")


def _ticket_id(gid: relay.GlobalID, field: str = "ticketId") -> int:
    return decode_id(gid, "Ticket", field=field)


def _assignment_id(gid: relay.GlobalID) -> int:
    return decode_id(gid, "Assignment", field="assignmentId")


@strawberry.type
class TicketPayload:
    ticket: Ticket | None
    errors: list[Error]


@strawberry.type
class CreateTicketPayload:
    ticket: Ticket | None
    query_code: str | None = strawberry.field(
        description="Tell the citizen once; only its hash is kept."
    )
    created: bool = strawberry.field(
        description="False when the idempotency key found an existing ticket."
    )
    errors: list[Error]


@strawberry.type(description="No ticket object: the citizen's side never sees personal data.")
class RatePayload:
    rated: bool
    errors: list[Error]


@strawberry.type
class AssignmentPayload:
    assignment: Assignment | None
    errors: list[Error]


@strawberry.type
class ExtensionPayload:
    extension: ExtensionRequest | None
    errors: list[Error]


@strawberry.type
class SupervisionPayload:
    supervision: Supervision | None
    errors: list[Error]


@strawberry.type
class SuspensionPayload:
    suspension: Suspension | None
    errors: list[Error]


@strawberry.type(description="No ticket object: the citizen's side never sees personal data.")
class SupplementPayload:
    added: bool
    errors: list[Error]


@strawberry.type
class TransferPayload:
    ticket: Ticket | None = strawberry.field(description="The old city's record, TRANSFERRED.")
    target_number: str | None = strawberry.field(description="The number in the new city.")
    target_query_code: str | None
    errors: list[Error]


@strawberry.input
class LocationInput:
    lng: Decimal
    lat: Decimal
    datum: Datum = DatumEnum.WGS84


@strawberry.input
class CreateTicketInput:
    channel: Channel
    kind: TicketKind
    content: str
    title: str = ""
    priority: Priority = models.Priority.NORMAL
    citizen_name: str | None = None
    citizen_phone: str | None = None
    anonymous: bool = False
    confidential: bool = False
    address: str = ""
    location: LocationInput | None = None
    category_id: relay.GlobalID | None = None
    area_id: relay.GlobalID | None = None
    idempotency_key: str | None = None


@strawberry.input
class DispatchTicketInput:
    ticket_id: relay.GlobalID
    lead_department_id: relay.GlobalID
    co_department_ids: list[relay.GlobalID] = strawberry.field(default_factory=list)
    reason: str = ""


@strawberry.input
class SubDispatchInput:
    assignment_id: relay.GlobalID
    department_id: relay.GlobalID
    reply_deadline: datetime | None = strawberry.field(
        default=None, description="No later than the parent's; defaults to the parent's."
    )
    reason: str = ""


@strawberry.input
class ReplyAssignmentInput:
    assignment_id: relay.GlobalID
    reply: str
    resolved: bool | None = None
    public_reply: str | None = None


@strawberry.input
class RevisitTicketInput:
    ticket_id: relay.GlobalID
    reached: bool
    grade: Satisfaction | None = None
    resolved: bool | None = None
    note: str = ""


@strawberry.input
class RateTicketInput:
    number: str
    query_code: str
    grade: Satisfaction
    resolved: bool | None = None
    note: str = ""


@strawberry.input
class ReclassifyTicketInput:
    ticket_id: relay.GlobalID
    category_id: relay.GlobalID | None = None
    area_id: relay.GlobalID | None = None
    kind: TicketKind | None = None
    reason: str = ""


def _opt(gid: relay.GlobalID | None, type_name: str, field: str) -> int | None:
    return decode_id(gid, type_name, field=field) if gid is not None else None


# One payload helper per object type: run the service call, shape the object or the errors.
async def _ticket_payload(call: Callable[[], Awaitable[models.Ticket]]) -> TicketPayload:
    row, errors = await payload_errors(call)
    return TicketPayload(ticket=Ticket.from_model(row) if row else None, errors=errors)


async def _assignment_payload(
    call: Callable[[], Awaitable[models.Assignment]],
) -> AssignmentPayload:
    row, errors = await payload_errors(call)
    return AssignmentPayload(assignment=Assignment.from_model(row) if row else None, errors=errors)


async def _suspension_payload(
    call: Callable[[], Awaitable[models.Suspension]],
) -> SuspensionPayload:
    row, errors = await payload_errors(call)
    return SuspensionPayload(suspension=Suspension.from_model(row) if row else None, errors=errors)


def _suspension_id(gid: relay.GlobalID) -> int:
    return decode_id(gid, "Suspension", field="suspensionId")


async def _supervision_payload(
    call: Callable[[], Awaitable[models.Supervision]],
) -> SupervisionPayload:
    row, errors = await payload_errors(call)
    return SupervisionPayload(
        supervision=Supervision.from_model(row) if row else None, errors=errors
    )


@strawberry.type
class TicketMutations:
    @strawberry.mutation(description="Record a submission (idempotent with idempotencyKey).")
    async def create_ticket(self, info: Info, input: CreateTicketInput) -> CreateTicketPayload:
        location = input.location

        async def call() -> intake.CreatedTicket:
            return await intake.create_ticket(
                actor=info.context.actor,
                channel=models.Channel(input.channel),
                kind=models.Kind(input.kind),
                content=input.content,
                title=input.title,
                priority=models.Priority(input.priority),
                citizen_name=input.citizen_name,
                citizen_phone=input.citizen_phone,
                anonymous=input.anonymous,
                confidential=input.confidential,
                address=input.address,
                lng=location.lng if location else None,
                lat=location.lat if location else None,
                datum=DatumEnum(location.datum) if location else DatumEnum.WGS84,
                category_id=_opt(input.category_id, "Category", "categoryId"),
                area_id=_opt(input.area_id, "Department", "areaId"),
                idempotency_key=input.idempotency_key,
            )

        made, errors = await payload_errors(call)
        return CreateTicketPayload(
            ticket=Ticket.from_model(made.ticket) if made else None,
            query_code=made.query_code if made else None,
            created=made.created if made else False,
            errors=errors,
        )

    @strawberry.mutation(description="Send to a lead department, with co-handlers.")
    async def dispatch_ticket(self, info: Info, input: DispatchTicketInput) -> TicketPayload:
        return await _ticket_payload(
            lambda: dispatch.dispatch_ticket(
                actor=info.context.actor,
                ticket_id=_ticket_id(input.ticket_id),
                lead_department_id=decode_id(
                    input.lead_department_id, "Department", field="leadDepartmentId"
                ),
                co_department_ids=[
                    decode_id(d, "Department", field="coDepartmentIds")
                    for d in input.co_department_ids
                ],
                reason=input.reason,
            ),
        )

    @strawberry.mutation
    async def sign_for_assignment(
        self, info: Info, assignment_id: relay.GlobalID
    ) -> AssignmentPayload:
        return await _assignment_payload(
            lambda: dispatch.sign_for_assignment(
                actor=info.context.actor, assignment_id=_assignment_id(assignment_id)
            ),
        )

    @strawberry.mutation(
        description="Before signing: back to the center. After: a request a supervisor decides."
    )
    async def return_assignment(
        self, info: Info, assignment_id: relay.GlobalID, reason: str
    ) -> AssignmentPayload:
        return await _assignment_payload(
            lambda: dispatch.return_assignment(
                actor=info.context.actor,
                assignment_id=_assignment_id(assignment_id),
                reason=reason,
            ),
        )

    @strawberry.mutation(description="A supervisor approves or refuses a return request.")
    async def decide_return(
        self, info: Info, assignment_id: relay.GlobalID, approve: bool, note: str = ""
    ) -> AssignmentPayload:
        return await _assignment_payload(
            lambda: dispatch.decide_return(
                actor=info.context.actor,
                assignment_id=_assignment_id(assignment_id),
                approve=approve,
                note=note,
            ),
        )

    @strawberry.mutation(description="Hand part of the work down the department's subtree.")
    async def sub_dispatch(self, info: Info, input: SubDispatchInput) -> AssignmentPayload:
        return await _assignment_payload(
            lambda: dispatch.sub_dispatch(
                actor=info.context.actor,
                assignment_id=_assignment_id(input.assignment_id),
                department_id=decode_id(input.department_id, "Department", field="departmentId"),
                reply_deadline=input.reply_deadline,
                reason=input.reason,
            ),
        )

    @strawberry.mutation
    async def request_extension(
        self, info: Info, assignment_id: relay.GlobalID, working_days: int, reason: str
    ) -> ExtensionPayload:
        row, errors = await payload_errors(
            lambda: extensions.request_extension(
                actor=info.context.actor,
                assignment_id=_assignment_id(assignment_id),
                working_days=working_days,
                reason=reason,
            ),
        )
        return ExtensionPayload(
            extension=ExtensionRequest.from_model(row) if row else None, errors=errors
        )

    @strawberry.mutation
    async def decide_extension(
        self, info: Info, extension_id: relay.GlobalID, approve: bool, note: str = ""
    ) -> ExtensionPayload:
        row, errors = await payload_errors(
            lambda: extensions.decide_extension(
                actor=info.context.actor,
                extension_id=decode_id(extension_id, "ExtensionRequest", field="extensionId"),
                approve=approve,
                note=note,
            ),
        )
        return ExtensionPayload(
            extension=ExtensionRequest.from_model(row) if row else None, errors=errors
        )

    @strawberry.mutation(description="The lead's reply, or a co-handler's opinion.")
    async def reply_assignment(self, info: Info, input: ReplyAssignmentInput) -> AssignmentPayload:
        return await _assignment_payload(
            lambda: dispatch.reply_assignment(
                actor=info.context.actor,
                assignment_id=_assignment_id(input.assignment_id),
                reply=input.reply,
                resolved=input.resolved,
                public_reply=input.public_reply,
            ),
        )

    @strawberry.mutation
    async def review_reply(
        self, info: Info, ticket_id: relay.GlobalID, approve: bool, reason: str = ""
    ) -> TicketPayload:
        return await _ticket_payload(
            lambda: review.review_reply(
                actor=info.context.actor,
                ticket_id=_ticket_id(ticket_id),
                approve=approve,
                reason=reason,
            ),
        )

    @strawberry.mutation
    async def revisit_ticket(self, info: Info, input: RevisitTicketInput) -> TicketPayload:
        return await _ticket_payload(
            lambda: review.revisit_ticket(
                actor=info.context.actor,
                ticket_id=_ticket_id(input.ticket_id),
                reached=input.reached,
                grade=models.Satisfaction(input.grade) if input.grade else None,
                resolved=input.resolved,
                note=input.note,
            ),
        )

    @strawberry.mutation(
        description="The citizen's own grade, with the number and query code (no login)."
    )
    async def rate_ticket(self, info: Info, input: RateTicketInput) -> RatePayload:
        row, errors = await payload_errors(
            lambda: review.rate_ticket(
                actor=info.context.actor,
                number=input.number,
                query_code=input.query_code,
                grade=models.Satisfaction(input.grade),
                resolved=input.resolved,
                note=input.note,
            ),
        )
        return RatePayload(rated=row is not None, errors=errors)

    @strawberry.mutation(description="Answer directly from a knowledge-base article.")
    async def answer_from_article(
        self,
        info: Info,
        ticket_id: relay.GlobalID,
        article_id: relay.GlobalID,
        answer: str | None = None,
    ) -> TicketPayload:
        return await _ticket_payload(
            lambda: review.answer_from_article(
                actor=info.context.actor,
                ticket_id=_ticket_id(ticket_id),
                article_id=decode_id(article_id, "Article", field="articleId"),
                answer=answer,
            ),
        )

    @strawberry.mutation
    async def cancel_ticket(
        self, info: Info, ticket_id: relay.GlobalID, reason: str
    ) -> TicketPayload:
        return await _ticket_payload(
            lambda: center.cancel_ticket(
                actor=info.context.actor, ticket_id=_ticket_id(ticket_id), reason=reason
            ),
        )

    @strawberry.mutation(description="Not accepted / out of scope (不予受理), with a reason.")
    async def reject_ticket(
        self, info: Info, ticket_id: relay.GlobalID, reason: str
    ) -> TicketPayload:
        return await _ticket_payload(
            lambda: center.reject_ticket(
                actor=info.context.actor, ticket_id=_ticket_id(ticket_id), reason=reason
            ),
        )

    @strawberry.mutation(description="The citizen urges (催办) an open ticket.")
    async def urge_ticket(
        self, info: Info, ticket_id: relay.GlobalID, note: str = ""
    ) -> TicketPayload:
        return await _ticket_payload(
            lambda: center.urge_ticket(
                actor=info.context.actor, ticket_id=_ticket_id(ticket_id), note=note
            ),
        )

    @strawberry.mutation(
        description="Change category, area or kind; old values stay in the timeline."
    )
    async def reclassify_ticket(self, info: Info, input: ReclassifyTicketInput) -> TicketPayload:
        return await _ticket_payload(
            lambda: center.reclassify_ticket(
                actor=info.context.actor,
                ticket_id=_ticket_id(input.ticket_id),
                category_id=_opt(input.category_id, "Category", "categoryId"),
                area_id=_opt(input.area_id, "Department", "areaId"),
                kind=models.Kind(input.kind) if input.kind else None,
                reason=input.reason,
            ),
        )

    @strawberry.mutation(description="Close a duplicate into another ticket.")
    async def merge_tickets(
        self,
        info: Info,
        ticket_id: relay.GlobalID,
        into_ticket_id: relay.GlobalID,
        reason: str = "",
    ) -> TicketPayload:
        return await _ticket_payload(
            lambda: center.merge_tickets(
                actor=info.context.actor,
                ticket_id=_ticket_id(ticket_id),
                into_ticket_id=_ticket_id(into_ticket_id, "intoTicketId"),
                reason=reason,
            ),
        )

    @strawberry.mutation(description="Hand a ticket to another city of the province.")
    async def transfer_ticket(
        self, info: Info, ticket_id: relay.GlobalID, to_tenant_id: relay.GlobalID, reason: str
    ) -> TransferPayload:
        moved, errors = await payload_errors(
            lambda: transfer.transfer_ticket(
                actor=info.context.actor,
                ticket_id=_ticket_id(ticket_id),
                to_tenant_id=decode_id(to_tenant_id, "Tenant", field="toTenantId"),
                reason=reason,
            ),
        )
        return TransferPayload(
            ticket=Ticket.from_model(moved.source) if moved else None,
            target_number=moved.target.number if moved else None,
            target_query_code=moved.query_code if moved else None,
            errors=errors,
        )

    @strawberry.mutation(description="Open a supervision order (督办).")
    async def open_supervision(
        self,
        info: Info,
        ticket_id: relay.GlobalID,
        reason: str,
        assignment_id: relay.GlobalID | None = None,
    ) -> SupervisionPayload:
        return await _supervision_payload(
            lambda: supervision.open_supervision(
                actor=info.context.actor,
                ticket_id=_ticket_id(ticket_id),
                reason=reason,
                assignment_id=_assignment_id(assignment_id) if assignment_id else None,
            ),
        )

    @strawberry.mutation
    async def escalate_supervision(
        self, info: Info, supervision_id: relay.GlobalID, reason: str = ""
    ) -> SupervisionPayload:
        return await _supervision_payload(
            lambda: supervision.escalate_supervision(
                actor=info.context.actor,
                supervision_id=decode_id(supervision_id, "Supervision", field="supervisionId"),
                reason=reason,
            ),
        )

    @strawberry.mutation
    async def comment_supervision(
        self, info: Info, supervision_id: relay.GlobalID, text: str
    ) -> SupervisionPayload:
        return await _supervision_payload(
            lambda: supervision.comment_supervision(
                actor=info.context.actor,
                supervision_id=decode_id(supervision_id, "Supervision", field="supervisionId"),
                text=text,
            ),
        )

    @strawberry.mutation
    async def close_supervision(
        self, info: Info, supervision_id: relay.GlobalID, note: str = ""
    ) -> SupervisionPayload:
        return await _supervision_payload(
            lambda: supervision.close_supervision(
                actor=info.context.actor,
                supervision_id=decode_id(supervision_id, "Supervision", field="supervisionId"),
                note=note,
            ),
        )

    @strawberry.mutation(
        description="The handling department asks the center to suspend (挂起) the ticket."
    )
    async def request_suspension(
        self, info: Info, assignment_id: relay.GlobalID, cause: SuspensionCause, reason: str
    ) -> SuspensionPayload:
        return await _suspension_payload(
            lambda: suspension.request_suspension(
                actor=info.context.actor,
                assignment_id=_assignment_id(assignment_id),
                cause=models.SuspensionCause(cause),
                reason=reason,
            ),
        )

    @strawberry.mutation(description="A supervisor suspends a ticket at once.")
    async def suspend_ticket(
        self, info: Info, ticket_id: relay.GlobalID, cause: SuspensionCause, reason: str
    ) -> SuspensionPayload:
        return await _suspension_payload(
            lambda: suspension.suspend_ticket(
                actor=info.context.actor,
                ticket_id=_ticket_id(ticket_id),
                cause=models.SuspensionCause(cause),
                reason=reason,
            ),
        )

    @strawberry.mutation(description="A supervisor approves (clocks stop) or refuses.")
    async def decide_suspension(
        self, info: Info, suspension_id: relay.GlobalID, approve: bool, note: str = ""
    ) -> SuspensionPayload:
        return await _suspension_payload(
            lambda: suspension.decide_suspension(
                actor=info.context.actor,
                suspension_id=_suspension_id(suspension_id),
                approve=approve,
                note=note,
            ),
        )

    @strawberry.mutation(description="End a suspension; the deadlines move by the pause.")
    async def resume_ticket(
        self, info: Info, suspension_id: relay.GlobalID, note: str = ""
    ) -> SuspensionPayload:
        return await _suspension_payload(
            lambda: suspension.resume_ticket(
                actor=info.context.actor,
                suspension_id=_suspension_id(suspension_id),
                note=note,
            ),
        )

    @strawberry.mutation(description="Record what the citizen adds to an open ticket (补充诉求).")
    async def add_supplement(
        self, info: Info, ticket_id: relay.GlobalID, text: str
    ) -> TicketPayload:
        return await _ticket_payload(
            lambda: supplements.add_supplement(
                actor=info.context.actor, ticket_id=_ticket_id(ticket_id), text=text
            ),
        )

    @strawberry.mutation(
        description="The citizen adds information with the number and query code (no login)."
    )
    async def supplement_ticket(
        self, info: Info, number: str, query_code: str, text: str
    ) -> SupplementPayload:
        row, errors = await payload_errors(
            lambda: supplements.citizen_supplement(
                actor=info.context.actor, number=number, query_code=query_code, text=text
            ),
        )
        return SupplementPayload(added=row is not None, errors=errors)
