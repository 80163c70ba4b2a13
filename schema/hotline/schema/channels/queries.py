"""The channels' reads for the center: the agent's screen of an answered call and the
queue of duplicate proposals (docs/channels.md)."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import relay

from hotline.schema.context import Info
from hotline.schema.ids import decode_id, encode_id
from hotline.schema.permissions import can
from hotline.schema.tickets.types import Ticket
from hotline.tenants.channels import calls, imap, proposals
from hotline.tenants.channels.models import DuplicateProposal as ProposalRow
from hotline.tenants.kernel.access import Action
from hotline.tenants.tickets import access
from hotline.tenants.tickets.models import Ticket as TicketRow

PROPOSAL = "DuplicateProposal"


@strawberry.type(description="An answered call as the agent's screen shows it.")
class CallerScreen:
    call_id: str
    queue: str
    seat: str | None
    answered_at: datetime | None
    caller_phone: str | None = strawberry.field(description="Masked: 139****1111.")
    open_tickets: list[Ticket] = strawberry.field(description="Every open ticket, newest first.")
    history: list[Ticket] = strawberry.field(
        description=f"The last {calls.HISTORY} closed ones, newest first."
    )


@strawberry.type(description="A new ticket that looks like an open one, for the center.")
class DuplicateProposal:
    id: relay.GlobalID
    reason: str = strawberry.field(
        description="same_caller | same_place | names_ticket (a mail named the ticket "
        "but was not appended to it: another sender, or one the mail server did not verify)"
    )
    status: str = strawberry.field(description="proposed | merged | dismissed")
    proposed_at: datetime
    ticket: Ticket = strawberry.field(description="The new ticket (merged away on accept).")
    candidate: Ticket = strawberry.field(description="The open ticket it may repeat.")

    @classmethod
    def build(cls, row: ProposalRow, tickets: dict[int, TicketRow]) -> DuplicateProposal:
        return cls(
            id=encode_id(PROPOSAL, row.id),
            reason=row.reason,
            status=row.status.value,
            proposed_at=row.created_at,
            ticket=Ticket.from_model(tickets[row.ticket_id]),
            candidate=Ticket.from_model(tickets[row.candidate_id]),
        )


async def with_tickets(info: Info, rows: list[ProposalRow]) -> list[DuplicateProposal]:
    ids = {i for r in rows for i in (r.ticket_id, r.candidate_id)}
    with access.city_scope(info.context.actor):
        tickets = {t.id: t for t in await TicketRow.filter(id__in=list(ids))}
    return [DuplicateProposal.build(r, tickets) for r in rows]


@strawberry.type(description="A city's mailbox for e-mail intake, as set (no password).")
class Mailbox:
    host: str
    port: int
    security: str = strawberry.field(description="ssl | starttls")
    username: str
    folder: str
    is_active: bool
    authserv_id: str = strawberry.field(
        description="Whose Authentication-Results verdict is trusted; empty: none is, and "
        "no mail is ever appended to a ticket."
    )
    last_polled_at: datetime | None
    last_error: str = strawberry.field(
        description="The last poll's failure; empty after one that worked."
    )


@strawberry.type
class ChannelQueries:
    @strawberry.field(
        permission_classes=[can(Action.APIKEY_MANAGE)],
        description="The city's mailboxes (setMailbox): what the e-mail worker polls, when "
        "it last did and its last error. City admins only; the password is never shown.",
    )
    async def mailboxes(self, info: Info) -> list[Mailbox]:
        return [
            Mailbox(
                host=b.host,
                port=b.port,
                security=b.security.value,
                username=b.username,
                folder=b.folder,
                is_active=b.is_active,
                authserv_id=b.authserv_id,
                last_polled_at=b.last_polled_at,
                last_error=b.last_error,
            )
            for b in await imap.mailboxes(actor=info.context.actor)
        ]

    @strawberry.field(
        permission_classes=[can(Action.CITIZEN_HISTORY)],
        description=(
            "On an answered call: the caller's open tickets and history by the number the "
            "call center pushed for `callId` (pushCallRecords); the number masked, the "
            "lookup audited. Another city's call id is NOT_FOUND."
        ),
    )
    async def caller_screen(self, info: Info, call_id: str) -> CallerScreen:
        screen = await calls.caller_screen(
            actor=info.context.actor, call_id=call_id, ip=info.context.ip
        )
        return CallerScreen(
            call_id=screen.call.call_id,
            queue=screen.call.queue,
            seat=screen.call.seat,
            answered_at=screen.call.answered_at,
            caller_phone=screen.phone,
            open_tickets=[Ticket.from_model(t) for t in screen.open_tickets],
            history=[Ticket.from_model(t) for t in screen.history],
        )

    @strawberry.field(
        permission_classes=[can(Action.TICKET_DISPATCH)],
        description=(
            "The center's queue: undecided duplicate proposals whose two tickets are both "
            "open, oldest first (`after`: the last id of the previous page)."
        ),
    )
    async def duplicate_proposals(
        self, info: Info, first: int = 50, after: relay.GlobalID | None = None
    ) -> list[DuplicateProposal]:
        after_id = decode_id(after, PROPOSAL, field="after") if after is not None else 0
        rows = await proposals.pending(actor=info.context.actor, first=first, after_id=after_id)
        return await with_tickets(info, rows)
