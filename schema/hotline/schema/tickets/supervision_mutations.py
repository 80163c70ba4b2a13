"""Supervision orders (督办): open, escalate, comment, close.

Each mutation parses its input, calls one function of the tickets domain and shapes the
payload (:mod:`.payloads`). Live subscribers are told by the domain events, not here."""

from __future__ import annotations

import strawberry
from strawberry import relay

from hotline.schema.context import Info
from hotline.schema.ids import decode_id
from hotline.schema.tickets.payloads import (
    SupervisionPayload,
    _assignment_id,
    _supervision_payload,
    _ticket_id,
)
from hotline.tenants.tickets import (
    supervision,
)


@strawberry.type
class SupervisionMutations:
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
