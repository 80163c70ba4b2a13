"""Reading one e-mail for intake (pure, standard library): its sender, subject, text
and attachments; whether a machine sent it (bounces, auto-replies: ignored); the ticket
number it answers (subject or thread headers)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email import errors, policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr

MAX_TEXT = 4000
# JN20261123000123: a city's prefix (2–4 letters), the local day, six digits.
NUMBER = re.compile(r"\b([A-Z]{2,4}\d{14})\b")
_TAGS = re.compile(r"<[^>]+>")
_QUOTE_MARKERS = ("-----Original Message-----", "-----原始邮件-----", "________________")


@dataclass(frozen=True)
class Attachment:
    file_name: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Mail:
    message_id: str
    sender: str  # the address, lower case
    sender_name: str
    subject: str
    text: str
    automatic: bool
    numbers: list[str]  # ticket numbers named in the subject or thread headers
    attachments: list[Attachment] = field(default_factory=list)
    # every header in its order (top first): the MTA's verdict is read from them
    # (:mod:`.mailauth`), and how many From addresses the mail has
    headers: tuple[tuple[str, str], ...] = ()
    from_count: int = 0

    @property
    def sender_domain(self) -> str:
        return self.sender.rpartition("@")[2]


def _automatic(msg: EmailMessage, sender: str) -> bool:
    """RFC 3834 Auto-Submitted, the common auto-reply headers, delivery reports, the
    system senders of bounces, and the empty return path of a bounce."""
    auto = str(msg.get("Auto-Submitted", "no")).strip().lower()
    if auto and auto != "no":
        return True
    if any(msg.get(h) for h in ("X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress")):
        return True
    if str(msg.get("Precedence", "")).strip().lower() in ("bulk", "junk", "auto_reply", "list"):
        return True
    if msg.get_content_type() == "multipart/report":
        return True
    if str(msg.get("Return-Path", "")).strip() == "<>":
        return True
    local = sender.split("@", 1)[0]
    return local in ("mailer-daemon", "postmaster", "no-reply", "noreply")


def _body(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    content = part.get_content()
    text = str(content) if not isinstance(content, bytes) else content.decode(errors="replace")
    if part.get_content_subtype() == "html":
        text = _TAGS.sub(" ", text)
    lines = []
    for line in text.splitlines():
        if line.strip().startswith(_QUOTE_MARKERS) or (
            line.startswith("On ") and line.rstrip().endswith("wrote:")
        ):
            break  # what follows quotes the earlier mail
        if not line.startswith(">"):
            lines.append(line.rstrip())
    return "\n".join(lines).strip()[:MAX_TEXT]


def _bytes(part: EmailMessage) -> bytes:
    payload = part.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else b""


def _malformed_from(msg: EmailMessage) -> bool:
    """A From header the parser had to repair ("victim@qq.com <attacker@qq.com>" reads as
    victim@qq.com, while the MTA checked and DKIM signed attacker@qq.com): the address we
    would take is not the one the verdict is about. Obsolete but valid syntax (a period
    in an unquoted display name) is not a repair."""
    return any(
        not isinstance(defect, errors.ObsoleteHeaderDefect)
        for header in msg.get_all("From", [])
        for defect in getattr(header, "defects", ())
    )


def parse_mail(raw: bytes) -> Mail:
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(msg, EmailMessage)
    name, address = parseaddr(str(msg.get("From", "")))
    froms = [a for _, a in getaddresses([str(v) for v in msg.get_all("From", [])]) if a]
    if _malformed_from(msg):
        froms = []  # unverifiable: never appended (see _malformed_from)
    sender = address.strip().lower()
    subject = " ".join(str(msg.get("Subject", "")).split())
    threads = " ".join(str(msg.get(h, "")) for h in ("In-Reply-To", "References"))
    numbers = list(dict.fromkeys(NUMBER.findall(f"{subject.upper()} {threads.upper()}")))
    attachments = [
        Attachment(
            file_name=part.get_filename() or "attachment",
            content_type=part.get_content_type(),
            data=_bytes(part),
        )
        for part in msg.iter_attachments()
        if isinstance(part, EmailMessage)
    ]
    return Mail(
        message_id=str(msg.get("Message-ID", "")).strip().strip("<>")[:200],
        sender=sender,
        sender_name=name.strip(),
        subject=subject[:200],
        text=_body(msg),
        automatic=_automatic(msg, sender),
        numbers=numbers,
        attachments=attachments,
        headers=tuple((str(k), str(v)) for k, v in msg.items()),
        from_count=len(froms),
    )
