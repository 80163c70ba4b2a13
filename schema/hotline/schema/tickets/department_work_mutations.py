"""Department work on an assignment: sign for, return, sub-dispatch and recall, extend, reply,
ask to suspend.

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
    ExtensionPayload,
    ReplyAssignmentInput,
    SubDispatchInput,
    SuspensionPayload,
    _assignment_id,
    _assignment_payload,
    _suspension_payload,
)
from hotline.schema.tickets.types import (
    ExtensionRequest,
    SuspensionCause,
)
from hotline.tenants.tickets import (
    dispatch,
    extensions,
    models,
    suspension,
)


@strawberry.type
class DepartmentWorkMutations:
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

    @strawberry.mutation(
        description="Take back a sub-dispatch that has not replied (the department that "
        "sub-dispatched it, or the center); what it sub-dispatched further is cancelled too."
    )
    async def recall_assignment(
        self, info: Info, assignment_id: relay.GlobalID, reason: str
    ) -> AssignmentPayload:
        return await _assignment_payload(
            lambda: dispatch.recall_assignment(
                actor=info.context.actor,
                assignment_id=_assignment_id(assignment_id),
                reason=reason,
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
