"""The call center's agent screen (docs/channels.md, "Call center"): when a seat answers,
its screen pulls the caller's open tickets and earlier ones by the call's number, and the
ticket the agent writes can name the call (``createTicket(input: {callId})``).

The calls are the records the CTI system pushes (``pushCallRecords``,
:mod:`hotline.tenants.statistics.calls`): the caller's number is stored encrypted and as
the same keyed hash as a ticket's citizen phone, so the lookup is one indexed filter. The
number is shown masked, and every lookup is audited like ``citizenHistory``.
"""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.backends.base.client import BaseDBAsyncClient

from hotline.platform import outbox
from hotline.platform.crypto import decrypt
from hotline.platform.senders.errors import SendFailed
from hotline.tenants.channels import media
from hotline.tenants.evidence.models import Kind as EvidenceKind
from hotline.tenants.evidence.received import (
    attach_once,
)
from hotline.tenants.kernel.access import Action, Actor, require
from hotline.tenants.kernel.audit import record_audit
from hotline.tenants.kernel.errors import Invalid, NotFound
from hotline.tenants.statistics.calls import lock_calls, recording_job, recording_url_hash
from hotline.tenants.statistics.models import CallRecord
from hotline.tenants.tickets.flow import OPEN
from hotline.tenants.tickets.models import Ticket
from hotline.tenants.tickets.phones import mask_phone
from hotline.tenants.tickets.work import Change

MAX_CALL_ID = 100
HISTORY = 20  # earlier (closed) tickets shown, newest first


@dataclass(frozen=True)
class CallerScreen:
    call: CallRecord
    phone: str | None  # masked
    open_tickets: list[Ticket]
    history: list[Ticket]


async def call_of(call_id: str) -> CallRecord:
    """The current city's call by the CTI's id; another city's answers like a missing one."""
    key = call_id.strip()
    if not 1 <= len(key) <= MAX_CALL_ID:
        raise Invalid("a call id is 1 to {max} characters", field="callId", max=MAX_CALL_ID)
    found = await CallRecord.get_or_none(call_id=key)
    if found is None:
        raise NotFound("call", field="callId")
    return found


async def caller_screen(*, actor: Actor, call_id: str, ip: str | None = None) -> CallerScreen:
    """The answered call's caller: every open ticket and the last closed ones (audited)."""
    require(actor, Action.CITIZEN_HISTORY)
    call = await call_of(call_id)
    open_tickets: list[Ticket] = []
    history: list[Ticket] = []
    if call.caller_phone_hash is not None:
        mine = Ticket.filter(citizen_phone_hash=call.caller_phone_hash)
        open_tickets = list(
            await mine.filter(status__in=list(OPEN)).order_by("-received_at", "-id")
        )
        history = list(
            await Ticket.filter(citizen_phone_hash=call.caller_phone_hash)
            .exclude(status__in=list(OPEN))
            .order_by("-received_at", "-id")
            .limit(HISTORY)
        )
    phone = mask_phone(decrypt(call.caller_phone_enc)) if call.caller_phone_enc else None
    await record_audit(
        actor_id=actor.user_id,
        action="caller.screen",
        target=f"call:{call.call_id}",
        detail={"phone": phone, "open": len(open_tickets), "history": len(history)},
        tenant_id=actor.tenant_id,
        province_id=actor.province_id,
        ip=ip,
    )
    return CallerScreen(call=call, phone=phone, open_tickets=open_tickets, history=history)


async def link_call(call: CallRecord, ticket: Ticket, c: Change) -> None:
    """In the ticket's transaction: the call names its ticket (a later push of the same
    call that names none keeps the link, see ``statistics.calls``), and a recording the
    CTI already pushed is queued to become the ticket's audio evidence. Under the call's
    lock, like a push: a push moving the call to another day rewrites its row (same id),
    and an update racing it would be lost."""
    await lock_calls(c.conn, ticket.tenant_id, [call.call_id])
    call = await CallRecord.get(id=call.id, using_db=c.conn)
    await (
        CallRecord.filter(id=call.id)
        .using_db(c.conn)
        .update(ticket_id=ticket.id, ticket_number=ticket.number)
    )
    if call.recording_url and call.recording_evidence_id is None:
        c.outbox.append(
            recording_job(ticket.tenant_id, ticket.province_id, call.call_id, call.recording_url)
        )


async def deliver_recording(message: outbox.OutboxMessage) -> None:
    """The outbox handler of ``call_recording`` rows, in the row's city: the call's
    recording fetched through the SSRF guard (a CTI recording server on the city's own
    network needs ``HOTLINE_WEBHOOK_ALLOW_PRIVATE``), checked like an upload (audio
    only), put, then — under the call record's lock — recorded as the linked ticket's
    audio evidence and marked on the call, once, however often the job runs."""
    call = await CallRecord.get_or_none(call_id=message.payload["call_id"])
    if call is None or call.ticket_id is None or not call.recording_url:
        raise SendFailed("the call has no linked ticket or no recording", permanent=True)
    if call.recording_evidence_id is not None:
        return
    wanted = message.payload.get("url_sha256")
    if wanted is not None and wanted != recording_url_hash(call.recording_url):
        return  # the CTI corrected the URL since: the job of the new one fetches it
    try:
        received = await media.fetch_media(call.recording_url, field="recordingUrl")
    except media.MediaUnavailable as exc:  # unreachable or 5xx/429 for now: retried
        raise SendFailed(exc.message) from exc
    except Invalid as exc:  # refused by the checks: trying again changes nothing
        raise SendFailed(exc.message, permanent=True) from exc
    if received.kind is not EvidenceKind.AUDIO:
        raise SendFailed(f"the recording is {received.content_type}, not audio", permanent=True)

    async def claim(conn: BaseDBAsyncClient) -> int | None:
        row = await CallRecord.select_for_update().using_db(conn).get(id=call.id)
        return row.ticket_id if row.recording_evidence_id is None else None

    async def mark(conn: BaseDBAsyncClient, evidence_id: int) -> None:
        await CallRecord.filter(id=call.id).using_db(conn).update(recording_evidence_id=evidence_id)

    await attach_once(received, claim=claim, mark=mark)
