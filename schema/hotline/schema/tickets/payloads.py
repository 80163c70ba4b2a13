"""Inputs, payloads and the small helpers the ticket mutations share: one payload
helper per object type runs the service call and shapes the object or the errors."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from decimal import Decimal

import strawberry
from strawberry import relay

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
    Ticket,
    TicketKind,
)
from hotline.tenants.tickets import (
    models,
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


async def _proposed_duplicates(root: CreateTicketPayload) -> list[Ticket]:
    return [] if root.proposed is None else await root.proposed()


@strawberry.type
class CreateTicketPayload:
    ticket: Ticket | None
    query_code: str | None = strawberry.field(
        description="Tell the citizen once; only its hash is kept."
    )
    created: bool = strawberry.field(
        description="False when the idempotency key found an existing ticket."
    )
    proposed_duplicates: list[Ticket] = strawberry.field(
        resolver=_proposed_duplicates,
        description="Open tickets of the same caller, or of the same place and category, "
        "that this one may repeat: proposed by the intake pipeline, never merged by it "
        "(mergeTickets merges).",
    )
    errors: list[Error]
    # read only when asked for (one statement a creation that does not ask saves)
    proposed: strawberry.Private[Callable[[], Awaitable[list[Ticket]]] | None] = None


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
    call_id: str | None = strawberry.field(
        default=None,
        description="The call center's call this ticket was taken on (pushCallRecords): "
        "the call is linked to the ticket; another city's or an unknown call is NOT_FOUND.",
    )


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
