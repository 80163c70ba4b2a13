"""Inbound SMS (docs/channels.md): a gateway posts each message to the city's signed
webhook; the message becomes a ticket (channel ``sms``), is appended to the sender's
open ticket when it answers one, or is answered with a question when it is too short or
names no place. Replies go through the outbox's SMS sender (``sms`` kind).

Which of the three:

1. it names the number of one of the sender's open tickets → appended to that ticket;
2. it is a short follow-up (it alone lacks what or where) and the sender has an open
   SMS ticket from the last :data:`FOLLOW_UP` → appended to that ticket;
3. otherwise, joined with what the sender said in messages we answered with a question
   in the last :data:`FOLLOW_UP`, it must say what (:data:`MIN_CHARS`) and where
   (:mod:`.places`): then a new ticket (and a reply with its number and query code),
   else a question asking for what is missing.

A message id seen before changes nothing (the gateway's retries).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import timedelta

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from hotline.platform import clock, outbox
from hotline.platform.crypto import encrypt
from hotline.platform.senders.config import get_delivery_settings
from hotline.tenants.channels import pipeline, places
from hotline.tenants.channels.models import InboundMessage, Outcome
from hotline.tenants.kernel.access import Actor
from hotline.tenants.kernel.errors import Invalid
from hotline.tenants.kernel.roles import Role
from hotline.tenants.notifications.templates import cap_sms
from hotline.tenants.provinces.models import Tenant
from hotline.tenants.tickets import access
from hotline.tenants.tickets.flow import OPEN
from hotline.tenants.tickets.models import Channel, Kind, Ticket
from hotline.tenants.tickets.numbering import query_code_for_key
from hotline.tenants.tickets.phones import normalize_phone, phone_hash
from hotline.tenants.tickets.work import Change

MIN_CHARS = 8  # what: at least this many characters, spaces aside
MAX_CHARS = 1000  # a long message arrives joined from its segments
FOLLOW_UP = timedelta(hours=24)
WHAT = "问题的具体情况"
WHERE = "发生地点（区县、街道或路名门牌）"


class Result(enum.StrEnum):
    CREATED = "created"
    APPENDED = "appended"
    ASKED = "asked"
    DUPLICATE = "duplicate"


@dataclass(frozen=True)
class SmsOutcome:
    result: Result
    ticket_number: str | None = None


def gateway(tenant: Tenant) -> Actor:
    """The SMS gateway acting in its city: takes tickets like an agent, nothing more."""
    return Actor(
        user_id=None,
        tenant_id=tenant.id,
        province_id=tenant.province_id,
        roles=frozenset({Role.AGENT}),
        username="sms-gateway",
    )


def missing(text: str, names: list[str]) -> list[str]:
    """What a report still lacks: what happened, where, both or nothing."""
    lacks = []
    if len("".join(text.split())) < MIN_CHARS:
        lacks.append(WHAT)
    if not places.names_place(text, names):
        lacks.append(WHERE)
    return lacks


def ask_text(lacks: list[str]) -> str:
    return (
        f"您好，12345热线已收到您的短信，请补充{'和'.join(lacks)}后回复本短信，"
        "例如：历下区泉城路1号路灯不亮。"
    )


def _sms(tenant: Tenant, phone: str, text: str) -> dict[str, str]:
    return {
        "to_enc": encrypt(phone),
        "text": cap_sms(get_delivery_settings().sms_signature + text),
        "timezone": tenant.timezone,
    }


async def receive_sms(*, tenant: Tenant, message_id: str, sender: str, text: str) -> SmsOutcome:
    """Take one inbound message of ``tenant`` (already authenticated by its signature)."""
    actor = gateway(tenant)
    message_id = message_id.strip()
    if not 1 <= len(message_id) <= pipeline.MAX_EXTERNAL_ID:
        raise Invalid(
            "message_id is 1 to {max} characters", field="message_id", max=pipeline.MAX_EXTERNAL_ID
        )
    phone = normalize_phone(sender)
    text = " ".join(pipeline.fold_text(text).split())
    if not text:
        raise Invalid("the message has no text", field="text")
    if len(text) > MAX_CHARS:
        raise Invalid("a message has at most {max} characters", field="text", max=MAX_CHARS)
    sender_hash = phone_hash(phone)
    with access.city_scope(actor):
        seen = await InboundMessage.get_or_none(channel=Channel.SMS.value, external_id=message_id)
        if seen is not None:
            return SmsOutcome(Result.DUPLICATE, await _number(seen.ticket_id))
        # the gazetteer is read only when the shape of an address does not already say
        # where (most reports name a road or a house number): what the message joined
        # with earlier ones is checked against contains the message itself
        names = [] if places.has_address(text) else await places.place_names()
        since = clock.now() - FOLLOW_UP
        mine = await Ticket.filter(citizen_phone_hash=sender_hash, status__in=list(OPEN)).order_by(
            "-received_at", "-id"
        )
        named = next((t for t in mine if t.number in text.upper()), None)
        follow_up = next(
            (t for t in mine if t.channel is Channel.SMS and t.received_at >= since), None
        )
        target = named or (follow_up if missing(text, names) else None)
        pending = await InboundMessage.filter(
            channel=Channel.SMS.value,
            outcome=Outcome.ASKED,
            sender_hash=sender_hash,
            ticket_id=None,
            created_at__gte=since,
        ).order_by("id")
    if target is not None:
        appended = await pipeline.append(
            actor=actor,
            channel=Channel.SMS,
            external_id=message_id,
            ticket_id=target.id,
            text=text,
        )
        return SmsOutcome(Result.APPENDED if appended else Result.DUPLICATE, target.number)
    joined = " ".join([*(p.body for p in pending), text])
    lacks = missing(joined, names)
    if lacks:
        return await _ask(tenant, actor, message_id, phone, sender_hash, text, lacks)
    key = pipeline.idempotency_key(Channel.SMS, message_id)

    async def within(c: Change, ticket: Ticket) -> None:
        """In the ticket's transaction: the questions answered point at it, and the
        citizen's confirmation (number and query code, which the message's key fixes)
        is queued with the ticket's own outbox rows — never lost to a crash after the
        commit, and one INSERT with the routing row."""
        if pending:
            await (
                InboundMessage.filter(id__in=[p.id for p in pending])
                .using_db(c.conn)
                .update(ticket_id=ticket.id)
            )
        code = query_code_for_key(ticket.tenant_id, key)
        c.outbox.append(
            outbox.NewMessage(
                kind="sms",
                tenant_id=tenant.id,
                province_id=tenant.province_id,
                payload=_sms(
                    tenant,
                    phone,
                    f"您的诉求已受理，工单号{ticket.number}，查询码{code}。回复本短信可补充情况。",
                ),
                send_key=f"sms-ack-{tenant.id}-{ticket.id}",
            )
        )

    intake = await pipeline.submit(
        actor=actor,
        submission=pipeline.Submission(
            channel=Channel.SMS,
            external_id=message_id,
            content=joined,
            kind=Kind.REPORT,
            citizen_phone=phone,
        ),
        within=within,
    )
    return SmsOutcome(Result.CREATED if intake.created else Result.DUPLICATE, intake.ticket.number)


async def _ask(
    tenant: Tenant,
    actor: Actor,
    message_id: str,
    phone: str,
    sender_hash: str,
    text: str,
    lacks: list[str],
) -> SmsOutcome:
    """Remember the message and ask for what is missing, in one transaction."""
    try:
        with access.city_scope(actor):
            async with in_transaction("default") as conn:
                await InboundMessage.create(
                    channel=Channel.SMS.value,
                    external_id=message_id,
                    outcome=Outcome.ASKED,
                    sender_hash=sender_hash,
                    body=text,
                    using_db=conn,
                )
                await outbox.add(
                    kind="sms",
                    tenant_id=tenant.id,
                    province_id=tenant.province_id,
                    payload=_sms(tenant, phone, ask_text(lacks)),
                    send_key=f"sms-ask-{tenant.id}-{sender_hash[:16]}-{message_id}"[:160],
                    connection=conn,
                )
    except IntegrityError:  # the same message, concurrently
        return SmsOutcome(Result.DUPLICATE)
    return SmsOutcome(Result.ASKED)


async def _number(ticket_id: int | None) -> str | None:
    if ticket_id is None:
        return None
    ticket = await Ticket.get_or_none(id=ticket_id)
    return ticket.number if ticket else None
