"""The one intake pipeline of every channel (docs/channels.md): normalize → dedupe by
(channel, the sender's message id) → create through the tickets' intake → detect
duplicates of open tickets (proposed, never merged silently) → route (the ``route``
outbox row the intake writes in the same transaction).

A channel is an adapter that turns its message into a :class:`Submission` and calls
:func:`submit` (or :func:`append` when the message answers an open ticket). The inbound
record, the proposals and the route row commit with the ticket, so a sender's retry —
even after a crash mid-way — finds the first result and changes nothing.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from decimal import Decimal

from tortoise.exceptions import IntegrityError

from hotline.tenants.channels import calls, duplicates
from hotline.tenants.channels.models import DuplicateProposal, InboundMessage, Outcome
from hotline.tenants.evidence.models import Evidence
from hotline.tenants.evidence.received import (
    Received,
    Stored,
    announce_received,
    discard_stored,
    record_received,
    store_received,
)
from hotline.tenants.kernel.access import Action, Actor, require
from hotline.tenants.kernel.errors import Invalid, NotFound
from hotline.tenants.statistics.models import CallRecord
from hotline.tenants.tickets import access
from hotline.tenants.tickets.geo import Datum
from hotline.tenants.tickets.intake import Earlier, create_ticket
from hotline.tenants.tickets.models import Channel, Kind, Priority, Ticket
from hotline.tenants.tickets.numbering import query_code_for_key
from hotline.tenants.tickets.supplements import supplement_in
from hotline.tenants.tickets.work import Change, change

MAX_EXTERNAL_ID = 200


@dataclass(frozen=True)
class Submission:
    """A citizen's message as any channel hands it over."""

    channel: Channel
    # the sender's own id of this message: the dedupe key (None: GraphQL's createTicket,
    # which brings its own ``idempotency_key`` or none)
    external_id: str | None
    content: str
    kind: Kind = Kind.REPORT
    title: str = ""
    priority: Priority = Priority.NORMAL
    citizen_name: str | None = None
    citizen_phone: str | None = None
    anonymous: bool = False
    confidential: bool = False
    address: str = ""
    lng: Decimal | float | None = None
    lat: Decimal | float | None = None
    datum: Datum = Datum.WGS84
    category_id: int | None = None
    area_id: int | None = None
    with_token: bool = False  # Open311: hand out a token for GET tokens/{token}
    idempotency_key: str | None = None  # only without external_id
    sender_hash: str | None = None  # who sent it (keyed hash), when the channel knows
    # checked files (Open311 media_url, a mail's attachments): stored before the
    # transaction, recorded as the citizen's evidence inside it
    attachments: tuple[Received, ...] = ()
    api_key_id: int | None = None  # the integration that sent them
    reply_to_enc: str | None = None  # WeChat: the sender's openid, encrypted
    call_id: str | None = None  # the call center's call the ticket was taken on
    # open tickets the message names but may not be appended to (an e-mail naming a
    # ticket number, from another or an unverified sender): proposed as duplicates
    named_ticket_ids: tuple[int, ...] = ()


Within = Callable[[Change, Ticket], Awaitable[None]]


@dataclass(frozen=True)
class Intake:
    ticket: Ticket
    query_code: str
    created: bool  # False: a repeat of a message already taken
    proposals: list[DuplicateProposal]
    token: str | None = None


_SPACES = re.compile(r"[ \t\u3000]+")

# Full-width digits and Latin letters fold to ASCII (ticket numbers, house numbers, plate
# numbers stay searchable); nothing else does: NFKC would also rewrite the citizen's
# full-width punctuation (，。：？！（）) to ASCII, changing what they wrote.
_FULL_WIDTH_ALNUM = str.maketrans(
    {
        code: code - 0xFEE0
        for lo, hi in ((0xFF10, 0xFF19), (0xFF21, 0xFF3A), (0xFF41, 0xFF5A))
        for code in range(lo, hi + 1)
    }
)


def fold_text(text: str) -> str:
    """NFC, with full-width digits and letters made ASCII; punctuation kept as written."""
    return unicodedata.normalize("NFC", text).translate(_FULL_WIDTH_ALNUM)


def normalize(submission: Submission) -> Submission:
    """Unicode NFC with full-width digits and letters folded (punctuation kept), trimmed
    lines, collapsed spaces."""
    external_id = submission.external_id
    if external_id is not None:
        external_id = external_id.strip()
        if not 1 <= len(external_id) <= MAX_EXTERNAL_ID:
            raise Invalid(
                "a message id is 1 to {max} characters", field="externalId", max=MAX_EXTERNAL_ID
            )

    def clean(text: str) -> str:
        lines = (_SPACES.sub(" ", line).strip() for line in text.splitlines())
        return "\n".join(line for line in lines if line)

    return replace(
        submission,
        external_id=external_id,
        content=clean(fold_text(submission.content)),
        title=clean(fold_text(submission.title)),
        address=clean(fold_text(submission.address)),
        citizen_name=(submission.citizen_name or "").strip() or None,
        citizen_phone=(submission.citizen_phone or "").strip() or None,
    )


def idempotency_key(channel: Channel, external_id: str) -> str:
    """The ticket's idempotency key of a channel's message (at most 100 characters)."""
    key = f"{channel.value}:{external_id}"
    if len(key) <= 100:
        return key
    return f"{channel.value}:sha256:{hashlib.sha256(external_id.encode()).hexdigest()}"


async def _seen(channel: Channel, external_id: str) -> InboundMessage | None:
    found: InboundMessage | None = await InboundMessage.get_or_none(
        channel=channel.value, external_id=external_id
    )
    return found


async def _repeat(inbound: InboundMessage) -> Intake:
    if inbound.ticket_id is None:
        raise NotFound("ticket")
    ticket = await Ticket.get(id=inbound.ticket_id)
    key = idempotency_key(Channel(inbound.channel), inbound.external_id)
    return Intake(
        ticket=ticket,
        query_code=query_code_for_key(ticket.tenant_id, key)
        if ticket.idempotency_key == key
        else "",
        created=False,
        proposals=await duplicates.proposals_of(ticket.id),
        token=inbound.token,
    )


async def submit(*, actor: Actor, submission: Submission, within: Within | None = None) -> Intake:
    """Take one message as a new ticket (or return what its first delivery made).

    Attachments are put in the object store first (a store that is down refuses the
    message: nothing recorded, the sender retries) and their evidence rows are written in
    the ticket's transaction; a repeat removes the objects it put. ``within`` runs in the
    ticket's transaction too, after the inbound record (a channel's own rows)."""
    require(actor, Action.TICKET_CREATE)
    s = normalize(submission)
    with access.city_scope(actor):
        call = await calls.call_of(s.call_id) if s.call_id is not None else None
        stored: list[Stored] = []
        try:
            for received in s.attachments:
                stored.append(await store_received(received))
        except BaseException:
            await discard_stored(stored)
            raise
    try:
        return await _submit(actor, s, stored, within, call)
    except BaseException:
        with access.city_scope(actor):
            await discard_stored(stored)
        raise


async def _submit(
    actor: Actor,
    s: Submission,
    stored: list[Stored],
    extra: Within | None,
    call: CallRecord | None,
) -> Intake:
    # A repeat is found by the ticket's idempotency key (create_ticket's first lookup),
    # then its inbound record: no lookup of its own on the common path.
    external_id = s.external_id
    token = secrets.token_urlsafe(18) if s.with_token else None
    proposals: list[DuplicateProposal] = []
    evidence: list[Evidence] = []

    async def within(c: Change, ticket: Ticket, earlier: list[Earlier]) -> None:
        if external_id is not None:
            await InboundMessage.create(
                channel=s.channel.value,
                external_id=external_id,
                outcome=Outcome.CREATED,
                ticket_id=ticket.id,
                token=token,
                sender_hash=s.sender_hash,
                reply_to_enc=s.reply_to_enc,
                using_db=c.conn,
            )
        for file in stored:
            evidence.append(
                await record_received(
                    ticket_id=ticket.id, stored=file, api_key_id=s.api_key_id, conn=c.conn
                )
            )
        proposals.extend(
            await duplicates.propose(ticket, earlier, conn=c.conn, named=s.named_ticket_ids)
        )
        if call is not None:
            await calls.link_call(call, ticket, c)
        if extra is not None:
            await extra(c, ticket)

    created = await create_ticket(
        actor=actor,
        channel=s.channel,
        kind=s.kind,
        content=s.content,
        title=s.title,
        priority=s.priority,
        citizen_name=s.citizen_name,
        citizen_phone=s.citizen_phone,
        anonymous=s.anonymous,
        confidential=s.confidential,
        address=s.address,
        lng=s.lng,
        lat=s.lat,
        datum=s.datum,
        category_id=s.category_id,
        area_id=s.area_id,
        idempotency_key=s.idempotency_key
        if external_id is None
        else idempotency_key(s.channel, external_id),
        within=within,
        repeats=duplicates.REPEATS,
    )
    if created.created:
        # committed: the evidence rows own the objects now, whatever happens next (a
        # cancelled announcement must not delete files a ticket points at)
        stored.clear()
    else:  # a repeated key, or a concurrent delivery of the message
        with access.city_scope(actor):
            await discard_stored(stored)  # the first delivery's files stand
            seen = None if external_id is None else await _seen(s.channel, external_id)
            if seen is not None:
                return await _repeat(seen)
            earlier = await duplicates.proposals_of(created.ticket.id)
        return Intake(
            ticket=created.ticket, query_code=created.query_code, created=False, proposals=earlier
        )
    with access.city_scope(actor):
        await announce_received(evidence)
    return Intake(
        ticket=created.ticket,
        query_code=created.query_code,
        created=True,
        proposals=proposals,
        token=token,
    )


async def append(
    *,
    actor: Actor,
    channel: Channel,
    external_id: str,
    ticket_id: int,
    text: str,
    sender_hash: str | None = None,
) -> bool:
    """Add a message to the sender's open ticket; False when this message was taken
    already (a repeat changes nothing)."""
    require(actor, Action.TICKET_CREATE)
    external_id = (
        normalize(Submission(channel=channel, external_id=external_id, content="")).external_id
        or ""
    )
    try:
        async with change(actor, Action.TICKET_CREATE, checked=True) as c:
            ticket = await c.lock(ticket_id)
            if (
                await InboundMessage.filter(channel=channel.value, external_id=external_id)
                .using_db(c.conn)
                .exists()
            ):
                return False
            await supplement_in(c, ticket, text, source=channel.value)
            await InboundMessage.create(
                channel=channel.value,
                external_id=external_id,
                outcome=Outcome.APPENDED,
                ticket_id=ticket.id,
                sender_hash=sender_hash,
                using_db=c.conn,
            )
    except IntegrityError:  # the same message appended concurrently
        return False
    return True


async def seen(*, actor: Actor, channel: Channel, external_id: str) -> InboundMessage | None:
    """The record of a message already taken, in the actor's city."""
    with access.city_scope(actor):
        return await _seen(channel, external_id.strip())


async def proposed_tickets(*, actor: Actor, intake: Intake) -> list[Ticket]:
    """The open tickets an intake's proposals name, in proposal order."""
    ids = [p.candidate_id for p in intake.proposals]
    if not ids:
        return []
    with access.city_scope(actor):
        rows = {t.id: t for t in await Ticket.filter(id__in=ids)}
    return [rows[i] for i in ids if i in rows]
