"""The e-mail channel: a worker polls each city's mailbox over IMAP (TLS: implicit or
STARTTLS, never in clear) and takes every new mail once (docs/channels.md).

UID-based, at-least-once with dedupe: a poll fetches the mails above the mailbox's
``last_uid`` and, for each in UID order, takes it (ticket, reply appended, or ignored)
and then commits ``last_uid``. A worker that dies between the two takes the mail again
at the next poll, and the inbound record (``channel_messages``, by Message-ID) makes
the second time change nothing. A new UIDVALIDITY starts again from 0 the same way.

A mail naming the number of an open ticket (subject, In-Reply-To, References) that the
same address reported by mail is appended to it — only when the city's mail server
vouches for the From (DMARC, or DKIM aligned with it; :mod:`.mailauth`) —; any other
mail from a person becomes a ticket (channel ``email``), proposed to the center as a
duplicate of the tickets it names; bounces and auto-replies are skipped. Attachments pass the
evidence checks (a refused one is left out, the mail is still taken).
"""

from __future__ import annotations

import asyncio
import hashlib
import imaplib
import re
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog

from hotline.platform import clock
from hotline.platform.crypto import decrypt, encrypt, keyed_hash
from hotline.platform.senders.http import tls_context
from hotline.tenants.channels import mailauth, pipeline
from hotline.tenants.channels.mail import Mail, parse_mail
from hotline.tenants.channels.models import InboundMessage, Mailbox, MailSecurity
from hotline.tenants.evidence.received import Received, check_received
from hotline.tenants.kernel.access import Action, Actor, require
from hotline.tenants.kernel.errors import DomainError, Invalid
from hotline.tenants.kernel.roles import Role
from hotline.tenants.tickets import access
from hotline.tenants.tickets.flow import OPEN
from hotline.tenants.tickets.models import Channel, Kind, Ticket

log = structlog.get_logger(__name__)

BATCH = 50  # mails per poll; the next poll goes on from there
TIMEOUT_SECONDS = 30.0
SENDER_PURPOSE = "mail-sender"
# An authserv-id is a name (usually the MTA's host name), RFC 8601 §2.5.
_AUTHSERV_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")

# Called after a mail is taken and before its UID is committed (tests: a crash there).
AfterTaken = Callable[[int], Awaitable[None]]


@dataclass(frozen=True)
class PollResult:
    fetched: int
    created: int
    appended: int
    ignored: int


async def set_mailbox(
    *,
    actor: Actor,
    host: str,
    port: int,
    username: str,
    password: str,
    security: MailSecurity | str = MailSecurity.SSL,
    folder: str = "INBOX",
    authserv_id: str = "",
) -> Mailbox:
    """The city's mailbox (one per host, user and folder); the password is encrypted.
    ``authserv_id``: the name the city's mail server gives itself in its
    Authentication-Results headers; without it no mail is ever appended to a ticket."""
    require(actor, Action.APIKEY_MANAGE)
    authserv_id = authserv_id.strip()
    if authserv_id and not _AUTHSERV_ID.fullmatch(authserv_id):
        raise Invalid(
            "an authserv-id is the mail server's name: letters, digits, dots and dashes",
            field="authservId",
        )
    if str(security) not in {s.value for s in MailSecurity}:
        raise Invalid("security is ssl or starttls", field="security")
    if not host.strip() or not 1 <= port <= 65535 or not username.strip() or not password:
        raise Invalid("a mailbox needs a host, a port, a user name and a password", field="host")
    with access.city_scope(actor):
        box, _ = await Mailbox.update_or_create(
            host=host.strip(),
            username=username.strip(),
            folder=folder.strip() or "INBOX",
            defaults={
                "port": port,
                "security": MailSecurity(security),
                "password_enc": encrypt(password),
                "is_active": True,
                "last_error": "",
                "authserv_id": authserv_id,
            },
        )
    return box


async def mailboxes(*, actor: Actor) -> list[Mailbox]:
    """The city's mailboxes as configured, with their last poll and error (read back by
    its admins; the password never leaves the row)."""
    require(actor, Action.APIKEY_MANAGE)
    with access.city_scope(actor):
        return await Mailbox.all().order_by("id")


def _fetch(
    box: Mailbox, password: str, context: ssl.SSLContext
) -> tuple[int, list[tuple[int, bytes]]]:
    """(UIDVALIDITY, [(uid, raw mail)]) above the box's last UID: blocking, in a thread."""
    if box.security is MailSecurity.SSL:
        client: imaplib.IMAP4 = imaplib.IMAP4_SSL(
            box.host, box.port, ssl_context=context, timeout=TIMEOUT_SECONDS
        )
    else:
        client = imaplib.IMAP4(box.host, box.port, timeout=TIMEOUT_SECONDS)
        client.starttls(ssl_context=context)
    try:
        client.login(box.username, password)
        status, _ = client.select(box.folder, readonly=True)
        if status != "OK":
            raise imaplib.IMAP4.error(f"cannot select {box.folder}")
        validity = int((client.response("UIDVALIDITY")[1] or [b"0"])[0] or b"0")
        start = box.last_uid + 1 if validity == box.uid_validity else 1
        _, found = client.uid("SEARCH", "UID", f"{start}:*")
        uids = sorted(int(u) for u in (found[0] or b"").split() if int(u) >= start)[:BATCH]
        mails = []
        for uid in uids:
            _, data = client.uid("FETCH", str(uid), "(BODY.PEEK[])")
            raw = next((p[1] for p in data if isinstance(p, tuple)), None)
            if isinstance(raw, bytes):
                mails.append((uid, raw))
        return validity, mails
    finally:
        try:
            client.logout()
        except (imaplib.IMAP4.error, OSError):
            log.info("imap.logout_failed", host=box.host)


def _intake_actor(box: Mailbox) -> Actor:
    return Actor(
        user_id=None,
        tenant_id=box.tenant_id,
        province_id=box.province_id,
        roles=frozenset({Role.AGENT}),
        username="mail-intake",
    )


async def _checked(mail: Mail) -> list[Received]:
    kept = []
    for a in mail.attachments:
        try:
            kept.append(
                await check_received(
                    file_name=a.file_name, content_type=a.content_type, data=a.data
                )
            )
        except Invalid as exc:
            log.info("mail.attachment_refused", file=a.file_name, why=exc.message)
    return kept


async def _named(mail: Mail) -> list[Ticket]:
    """The open tickets of the current city the mail names by number."""
    if not mail.numbers:
        return []
    found: list[Ticket] = await Ticket.filter(
        number__in=mail.numbers, status__in=list(OPEN)
    ).order_by("id")
    return found


async def _answered(
    box: Mailbox, mail: Mail, named: list[Ticket], sender_hash: str
) -> Ticket | None:
    """The open ticket the mail answers: named by number, reported by this address —
    and that address proven by the city's mail server (:mod:`.mailauth`), never by the
    From header alone (anyone can write a reporter's address and a ticket number)."""
    if not named:
        return None
    reported = set(
        await InboundMessage.filter(
            channel=Channel.EMAIL.value,
            ticket_id__in=[t.id for t in named],
            sender_hash=sender_hash,
        ).values_list("ticket_id", flat=True)
    )
    ticket = next((t for t in named if t.id in reported), None)
    if ticket is None:
        return None
    if not mailauth.sender_verified(
        mail.headers,
        authserv_id=box.authserv_id,
        from_domain=mail.sender_domain,
        from_count=mail.from_count,
    ):
        log.info("mail.reply_not_verified", ticket=ticket.number, mailbox=box.id)
        return None
    return ticket


async def take_mail(box: Mailbox, uid: int, validity: int, raw: bytes) -> str:
    """One mail of the current city: created | appended | ignored | duplicate."""
    mail = parse_mail(raw)
    if mail.automatic or not mail.sender:
        return "ignored"
    external_id = mail.message_id or f"uid:{box.id}:{validity}:{uid}"
    if len(external_id) > pipeline.MAX_EXTERNAL_ID:
        external_id = "sha256:" + hashlib.sha256(external_id.encode()).hexdigest()
    if await InboundMessage.exists(channel=Channel.EMAIL.value, external_id=external_id):
        return "duplicate"
    actor = _intake_actor(box)
    sender_hash = keyed_hash(mail.sender, SENDER_PURPOSE)
    named = await _named(mail)
    ticket = await _answered(box, mail, named, sender_hash)
    if ticket is not None and mail.text:
        done = await pipeline.append(
            actor=actor,
            channel=Channel.EMAIL,
            external_id=external_id,
            ticket_id=ticket.id,
            text=mail.text,
            sender_hash=sender_hash,
        )
        return "appended" if done else "duplicate"
    content = "\n".join(p for p in (mail.subject, mail.text) if p)
    if not content:
        return "ignored"
    received = await _checked(mail)
    intake = await pipeline.submit(
        actor=actor,
        submission=pipeline.Submission(
            channel=Channel.EMAIL,
            external_id=external_id,
            content=content,
            kind=Kind.REPORT,
            title=mail.subject,
            citizen_name=mail.sender_name or None,
            sender_hash=sender_hash,
            attachments=tuple(received),
            # not appended (another sender, or one the MTA did not verify): the center
            # is asked whether it repeats the tickets it names
            named_ticket_ids=tuple(t.id for t in named),
        ),
    )
    return "created" if intake.created else "duplicate"


async def poll_mailbox(
    *,
    mailbox_id: int,
    ssl_context: ssl.SSLContext | None = None,
    after_taken: AfterTaken | None = None,
) -> PollResult:
    """Poll one mailbox of the current city (``ssl_context``: tests trust their server)."""
    box = await Mailbox.get(id=mailbox_id)
    context = ssl_context or tls_context()
    try:
        validity, mails = await asyncio.to_thread(_fetch, box, decrypt(box.password_enc), context)
    except (imaplib.IMAP4.error, OSError, ssl.SSLError) as exc:
        await Mailbox.filter(id=box.id).update(
            last_polled_at=clock.now(), last_error=f"{type(exc).__name__}: {exc}"[:300]
        )
        raise
    if validity != box.uid_validity:
        await Mailbox.filter(id=box.id).update(uid_validity=validity, last_uid=0)
    counts = {"created": 0, "appended": 0, "ignored": 0, "duplicate": 0}
    for uid, raw in mails:
        try:
            outcome = await take_mail(box, uid, validity, raw)
        except DomainError as exc:  # a mail we cannot take (bad data): skipped, logged
            log.warning("mail.refused", uid=uid, why=exc.message)
            outcome = "ignored"
        counts[outcome] += 1
        if after_taken is not None:
            await after_taken(uid)
        await Mailbox.filter(id=box.id).update(last_uid=uid)
    await Mailbox.filter(id=box.id).update(last_polled_at=clock.now(), last_error="")
    return PollResult(
        fetched=len(mails),
        created=counts["created"],
        appended=counts["appended"],
        ignored=counts["ignored"],
    )


async def active_mailboxes() -> list[int]:
    """The current city's mailboxes to poll."""
    return [b.id for b in await Mailbox.filter(is_active=True).order_by("id")]
