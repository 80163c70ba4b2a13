"""Intake: a submission becomes a work order; the citizen rates and adds information (no login).

Each mutation parses its input, calls one function of the tickets domain and shapes the
payload (:mod:`.payloads`). Live subscribers are told by the domain events, not here."""

from __future__ import annotations

import strawberry
from strawberry import relay

from hotline.schema.context import Info
from hotline.schema.errors import payload_errors
from hotline.schema.tickets.payloads import (
    CreateTicketInput,
    CreateTicketPayload,
    RatePayload,
    RateTicketInput,
    SupplementPayload,
    TicketPayload,
    _opt,
    _ticket_id,
    _ticket_payload,
)
from hotline.schema.tickets.types import (
    Ticket,
)
from hotline.tenants.channels import pipeline
from hotline.tenants.tickets import (
    models,
    review,
    supplements,
)
from hotline.tenants.tickets.geo import Datum as DatumEnum


@strawberry.type
class IntakeMutations:
    @strawberry.mutation(description="Record a submission (idempotent with idempotencyKey).")
    async def create_ticket(self, info: Info, input: CreateTicketInput) -> CreateTicketPayload:
        location = input.location

        async def call() -> pipeline.Intake:
            # the one intake pipeline of every channel (docs/channels.md)
            return await pipeline.submit(
                actor=info.context.actor,
                submission=pipeline.Submission(
                    channel=models.Channel(input.channel),
                    external_id=None,
                    idempotency_key=input.idempotency_key,
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
                    call_id=input.call_id,
                ),
            )

        made, errors = await payload_errors(call)
        actor = info.context.actor

        async def proposed() -> list[Ticket]:
            assert made is not None
            return [
                Ticket.from_model(t)
                for t in await pipeline.proposed_tickets(actor=actor, intake=made)
            ]

        return CreateTicketPayload(
            ticket=Ticket.from_model(made.ticket) if made else None,
            query_code=made.query_code if made else None,
            created=made.created if made else False,
            errors=errors,
            proposed=proposed if made and made.proposals else None,
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

    @strawberry.mutation(
        description=(
            "Record what the citizen adds to an open ticket (补充诉求); idempotent with "
            "idempotencyKey (a retry adds nothing)."
        )
    )
    async def add_supplement(
        self,
        info: Info,
        ticket_id: relay.GlobalID,
        text: str,
        idempotency_key: str | None = None,
    ) -> TicketPayload:
        return await _ticket_payload(
            lambda: supplements.add_supplement(
                actor=info.context.actor,
                ticket_id=_ticket_id(ticket_id),
                text=text,
                idempotency_key=idempotency_key,
            ),
        )

    @strawberry.mutation(
        description=(
            "The citizen adds information with the number and query code (no login); "
            "idempotent with idempotencyKey (a retry adds nothing)."
        )
    )
    async def supplement_ticket(
        self,
        info: Info,
        number: str,
        query_code: str,
        text: str,
        idempotency_key: str | None = None,
    ) -> SupplementPayload:
        row, errors = await payload_errors(
            lambda: supplements.citizen_supplement(
                actor=info.context.actor,
                number=number,
                query_code=query_code,
                text=text,
                idempotency_key=idempotency_key,
            ),
        )
        return SupplementPayload(added=row is not None, errors=errors)
