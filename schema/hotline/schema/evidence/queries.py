from __future__ import annotations

import strawberry
from strawberry import relay

from hotline.schema.context import Info
from hotline.schema.evidence.types import (
    CitizenTicketInput,
    Evidence,
    EvidencePolicy,
    PublicEvidence,
)
from hotline.schema.ids import decode_id
from hotline.schema.permissions import can
from hotline.tenants.evidence import downloads, policy
from hotline.tenants.kernel.access import Action


@strawberry.type
class EvidenceQueries:
    @strawberry.field(
        permission_classes=[can(Action.EVIDENCE_READ)],
        description=(
            "A ticket's evidence, oldest first: the center sees every ticket's, a department "
            "those of tickets assigned to it or below it."
        ),
    )
    async def evidence(self, info: Info, ticket_id: relay.GlobalID) -> list[Evidence]:
        rows = await downloads.list_ticket_evidence(
            actor=info.context.actor, ticket_id=decode_id(ticket_id, "Ticket", field="ticketId")
        )
        return [Evidence.from_model(r) for r in rows]

    @strawberry.field(
        description="For the citizen (no login): their own uploads and published evidence."
    )
    async def citizen_evidence(
        self, info: Info, citizen: CitizenTicketInput
    ) -> list[PublicEvidence]:
        proof = citizen.proof()
        rows = await downloads.list_citizen_evidence(citizen=proof)
        return [PublicEvidence.from_model(r, proof) for r in rows]

    @strawberry.field(permission_classes=[can(Action.EVIDENCE_READ)])
    async def evidence_policy(self, info: Info) -> EvidencePolicy:
        return EvidencePolicy.from_policy(await policy.evidence_policy(actor=info.context.actor))
