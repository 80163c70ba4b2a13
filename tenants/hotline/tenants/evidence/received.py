"""Files an intake channel received itself (an Open311 ``media_url``, a mail's
attachment, a WeChat image): the same checks as an upload — the city's types and size
limits, the real type by magic bytes — then stored under the city's key and finalized
like an upload (the worker verifies the sha256 and makes the thumbnails).

:func:`check_received` runs before the ticket exists, so a refused file stores nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from hotline.platform import clock, storage
from hotline.platform.media.sniff import sniff
from hotline.tenants.evidence import rules
from hotline.tenants.evidence.models import Evidence, Kind, Purpose
from hotline.tenants.evidence.policy import current_policy
from hotline.tenants.evidence.verification import finalize_received
from hotline.tenants.kernel.errors import Invalid
from hotline.tenants.tickets.models import Ticket


@dataclass(frozen=True)
class Received:
    """A checked file, ready to attach: its kind, real type and digest."""

    file_name: str
    content_type: str
    kind: Kind
    data: bytes
    sha256: str


async def check_received(
    *, file_name: str, content_type: str, data: bytes, field: str = "media"
) -> Received:
    """The upload checks on a file in hand, in the current city; Invalid when refused.
    The type the sender declared is only a hint: the bytes decide."""
    sniffed = sniff(data)
    mime = sniffed.mime if sniffed else content_type
    digest = hashlib.sha256(data).hexdigest()
    policy = await current_policy()
    try:
        kind, mime = rules.check_upload_request(
            policy, file_name=file_name or "media", content_type=mime, size=len(data), sha256=digest
        )
    except Invalid as exc:
        raise Invalid("the attached file is refused: {why}", field=field, why=exc.message) from exc
    problem = rules.sniffed_type_problem(
        policy, declared_kind=kind, sniffed=sniffed.mime if sniffed else None
    )
    if problem is not None:
        raise Invalid("the attached file is refused: {why}", field=field, why=problem)
    return Received(
        file_name=(file_name or "media").strip()[:200],
        content_type=mime,
        kind=kind,
        data=data,
        sha256=digest,
    )


async def attach_received(
    *, ticket: Ticket, received: Received, api_key_id: int | None = None
) -> Evidence:
    """Store a checked file as the citizen's evidence of ``ticket`` (current city)."""
    key = storage.tenant_key("evidence")
    evidence = await Evidence.create(
        ticket_id=ticket.id,
        purpose=Purpose.CITIZEN,
        kind=received.kind,
        file_name=received.file_name,
        declared_type=received.content_type,
        size=len(received.data),
        sha256=received.sha256,
        object_key=key,
        uploaded_by_api_key_id=api_key_id,
        upload_expires_at=clock.now() + rules.UPLOAD_LINK_TTL,
    )
    await storage.put(key, received.data, content_type=received.content_type)
    return await finalize_received(evidence)
