"""The center and its supervisors on whole work orders: dispatch, decide requests,
review, revisit, answer, cancel, refuse, urge, reclassify, merge, transfer, suspend.

Each mutation parses its input, calls one function of the tickets domain and shapes the
payload (:mod:`.payloads`). Live subscribers are told by the domain events, not here."""

from __future__ import annotations

import strawberry
from strawberry import relay

from hotline.schema.context import Info
from hotline.schema.errors import payload_errors
from hotline.schema.ids import decode_id
from hotline.schema.tickets.payloads import (
    AssignmentPayload,
    DispatchTicketInput,
    ExtensionPayload,
    ReclassifyTicketInput,
    RevisitTicketInput,
    SuspensionPayload,
    TicketPayload,
    TransferPayload,
    _assignment_id,
    _assignment_payload,
    _opt,
    _suspension_id,
    _suspension_payload,
    _ticket_id,
    _ticket_payload,
)
from hotline.schema.tickets.types import (
    ExtensionRequest,
    SuspensionCause,
    Ticket,
)
from hotline.tenants.tickets import (
    center,
    dispatch,
    extensions,
    models,
    review,
    suspension,
    transfer,
)


@strawberry.type
class CenterMutations:
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
