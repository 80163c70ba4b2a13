"""Files an intake channel received itself (an Open311 ``media_url``, a mail's
attachment, a WeChat image): the same checks as an upload — the city's types and size
limits, the real type by magic bytes — then stored under the city's key and finalized
like an upload (the worker verifies the sha256 and makes the thumbnails).

:func:`check_received` runs before the ticket exists, so a refused file stores nothing;
:func:`store_received` puts the object before the intake's transaction and
:func:`record_received` writes its row inside it, so a store that is down refuses the
intake (nothing stored) and a crash after the commit loses no file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from hotline.platform import clock, jobs, storage
from hotline.platform.media.sniff import sniff
from hotline.tenants.evidence import rules
from hotline.tenants.evidence.models import Evidence, EvidenceStatus, Kind, Purpose
from hotline.tenants.evidence.policy import current_policy, job_id
from hotline.tenants.evidence.verification import VERIFY_TASK
from hotline.tenants.kernel.errors import Invalid

log = structlog.get_logger(__name__)


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


@dataclass(frozen=True)
class Stored:
    """A checked file already in the object store, not yet recorded as evidence."""

    received: Received
    object_key: str


async def store_received(received: Received) -> Stored:
    """Put the object first (current city), before the intake's transaction: a store
    that is down fails the intake (503, nothing recorded) instead of losing the file
    after the ticket committed."""
    key = storage.tenant_key("evidence")
    await storage.put(key, received.data, content_type=received.content_type)
    return Stored(received=received, object_key=key)


async def record_received(
    *,
    ticket_id: int,
    stored: Stored,
    api_key_id: int | None = None,
    conn: BaseDBAsyncClient | None = None,
) -> Evidence:
    """The evidence row of a stored file, in the caller's transaction (``conn``). The
    bytes were checked in hand (:func:`check_received`: sizes, types, magic bytes), so
    the row starts where an upload's finalize leaves it: verifying, for the worker's
    sha256 check and thumbnails (:func:`announce_received` after the commit; the sweep
    re-enqueues a verification lost to a crash)."""
    received = stored.received
    now = clock.now()
    evidence: Evidence = await Evidence.create(
        ticket_id=ticket_id,
        purpose=Purpose.CITIZEN,
        status=EvidenceStatus.VERIFYING,
        kind=received.kind,
        file_name=received.file_name,
        declared_type=received.content_type,
        content_type=received.content_type,
        size=len(received.data),
        sha256=received.sha256,
        object_key=stored.object_key,
        uploaded_by_api_key_id=api_key_id,
        upload_expires_at=now + rules.UPLOAD_LINK_TTL,
        finalized_at=now,
        using_db=conn,
    )
    return evidence


async def announce_received(evidence: list[Evidence]) -> None:
    """After the commit: the worker's verification of each recorded file. A failure to
    enqueue is left to the sweep (``sweep_unfinalized`` re-enqueues stale ones): this
    never raises, the files are committed already."""
    for item in evidence:
        try:
            await jobs.enqueue(
                VERIFY_TASK,
                tenant_id=item.tenant_id,
                job_id=job_id("verify", item.id),
                evidence_id=item.id,
            )
        except Exception as exc:
            log.warning("evidence.verify_enqueue_failed", evidence=item.id, error=str(exc))


async def discard_stored(stored: list[Stored]) -> None:
    """Objects put for an intake that recorded nothing (a refusal, a repeat): removed,
    best effort (an object no row names is never served)."""
    if not stored:
        return
    try:
        await storage.delete(*[s.object_key for s in stored])
    except Exception as exc:
        log.warning("evidence.discard_failed", error=str(exc))


async def attach_once(
    received: Received,
    *,
    claim: Callable[[BaseDBAsyncClient], Awaitable[int | None]],
    mark: Callable[[BaseDBAsyncClient, int], Awaitable[None]],
) -> bool:
    """A fetched file recorded once however often a job runs: the object is put first,
    then, in one transaction, ``claim`` locks the row that remembers it and answers the
    ticket to attach it to (None when it is recorded already), the evidence row is
    written and ``mark`` records its id. A run that lost the race removes its object.
    Answers whether this run recorded it."""
    stored = await store_received(received)
    made: list[Evidence] = []
    async with in_transaction("default") as conn:
        ticket_id = await claim(conn)
        if ticket_id is not None:
            evidence = await record_received(ticket_id=ticket_id, stored=stored, conn=conn)
            await mark(conn, evidence.id)
            made.append(evidence)
    if not made:  # a concurrent run recorded it first
        await discard_stored([stored])
    await announce_received(made)
    return bool(made)
