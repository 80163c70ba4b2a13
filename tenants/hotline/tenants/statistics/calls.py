"""Call records from the call center's CTI system, and the call figures built on them
(docs/statistics.md, "Calls").

:func:`push_calls` takes a batch from the CTI system's API key and upserts it by
``(city, call id)``: a replayed record changes nothing (its keyed digest is the stored
one), an updated record replaces the stored one once — except a ticket link: a record
that names no ticket keeps the one the agent linked (``createTicket(callId)``).
The caller's number is stored like a citizen's phone on a ticket: encrypted (Fernet)
plus a keyed hash of its canonical form, never in clear. A linked ticket number is
resolved inside the city only.

:func:`call_figures` sums the records of a period per city-local day, queue and seat
group: calls are few next to tickets (one row per call, indexed by city and day), so
the figures are one grouped scan, no daily aggregate.
"""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from hotline.platform import clock, outbox
from hotline.platform.crypto import encrypt, keyed_hash
from hotline.platform.db.replica import read_connection
from hotline.tenants.kernel.access import Action, Actor, require
from hotline.tenants.kernel.errors import Invalid, NotFound, PermissionDenied
from hotline.tenants.provinces.models import Tenant
from hotline.tenants.statistics.aggregates import local_day
from hotline.tenants.statistics.metrics import rate
from hotline.tenants.statistics.models import CallRecord
from hotline.tenants.tickets.phones import PHONE_PURPOSE, normalize_phone

MAX_BATCH = 1000
RECORDING_KIND = "call_recording"
_DIGEST_PURPOSE = "call-record"


class CallOutcome(enum.StrEnum):
    ANSWERED = "answered"  # a seat answered (answered_at set)
    ABANDONED = "abandoned"  # the caller hung up while queued
    OVERFLOW = "overflow"  # queued, then sent on (voicemail, callback, another center)
    IVR = "ivr"  # served by the voice menu, never queued: not offered to a seat


@dataclass(frozen=True)
class CallInput:
    call_id: str
    started_at: datetime
    queue: str
    outcome: CallOutcome
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    seat: str | None = None
    seat_group: str | None = None
    caller_number: str | None = None
    ticket_number: str | None = None
    recording_url: str | None = None


@dataclass(frozen=True)
class PushResult:
    created: int
    updated: int
    unchanged: int


def recording_job(
    tenant_id: int, province_id: int, call_id: str, recording_url: str
) -> outbox.NewMessage:
    """The outbox job that fetches a linked call's recording as its ticket's audio
    evidence (handled by ``channels.calls.deliver_recording``); keyed by the call and
    the recording's URL, so the push and the agent's link together queue one, and a URL
    the CTI corrects later (the first one failed) queues a job of its own."""
    url_hash = recording_url_hash(recording_url)
    return outbox.NewMessage(
        kind=RECORDING_KIND,
        tenant_id=tenant_id,
        province_id=province_id,
        payload={"call_id": call_id, "url_sha256": url_hash},
        send_key=f"call-recording-{tenant_id}-{url_hash[:16]}-{call_id}"[:160],
    )


def recording_url_hash(recording_url: str) -> str:
    return hashlib.sha256(recording_url.encode()).hexdigest()


# pg_advisory_xact_lock(CALL_LOCK, hashtext(tenant:call id)): the two-key form, a key
# space of its own (the one-key locks elsewhere never meet it).
CALL_LOCK = 0x43414C4C  # "CALL"
LOCK_CALLS_SQL = """
SELECT count(pg_advisory_xact_lock($1, k)) FROM (
    SELECT DISTINCT hashtext($2::text || ':' || c) AS k FROM unnest($3::text[]) AS c
    ORDER BY 1
) keys"""


async def lock_calls(conn: BaseDBAsyncClient, tenant_id: int, call_ids: Sequence[str]) -> None:
    """Serialize the writers of these calls until ``conn``'s transaction ends. The table
    is partitioned by day, so its unique key is (city, call id, day): two concurrent
    pushes of one call with different days would each find no row of their own and
    insert two. Taken before the upsert's statement (whose snapshot then sees what the
    other writer committed), in key order (no deadlock between two batches)."""
    await conn.execute_query(LOCK_CALLS_SQL, [CALL_LOCK, str(tenant_id), list(call_ids)])


def _text(value: str | None, name: str, limit: int, *, required: bool = False) -> str | None:
    text = (value or "").strip()
    if not text:
        if required:
            raise Invalid("{name} is required", field=name, name=name)
        return None
    if len(text) > limit:
        raise Invalid("{name} has at most {max} characters", field=name, name=name, max=limit)
    return text


def _check(call: CallInput) -> None:
    for moment in (call.started_at, call.answered_at, call.ended_at):
        if moment is not None and moment.tzinfo is None:
            raise Invalid("a moment needs its UTC offset", field="startedAt")
    answered = call.outcome is CallOutcome.ANSWERED
    if answered != (call.answered_at is not None):
        raise Invalid(
            "answeredAt is given exactly when the outcome is ANSWERED", field="answeredAt"
        )
    if call.answered_at is not None and call.answered_at < call.started_at:
        raise Invalid("a call is answered after it starts", field="answeredAt")
    if call.ended_at is not None and call.ended_at < (call.answered_at or call.started_at):
        raise Invalid("a call ends after it is answered", field="endedAt")


def _phone(number: str | None) -> str | None:
    """The canonical form of the caller's number; a number the CTI system passes in a
    form of its own (an operator's code, a withheld marker) is kept as it is."""
    text = (number or "").strip()
    if not text:
        return None
    try:
        return normalize_phone(text)
    except Invalid:
        return text[:40]


def _recording(url: str | None) -> str | None:
    text = _text(url, "recordingUrl", 1000)
    if text is not None and urlsplit(text).scheme not in ("http", "https"):
        raise Invalid(
            "{source} must be an http or https URL", field="recordingUrl", source="recordingUrl"
        )
    return text


def _row(call: CallInput, timezone: str) -> dict[str, Any]:
    _check(call)
    phone = _phone(call.caller_number)
    row: dict[str, Any] = {
        "call_id": _text(call.call_id, "callId", 100, required=True),
        "started_at": call.started_at,
        "answered_at": call.answered_at,
        "ended_at": call.ended_at,
        "queue": _text(call.queue, "queue", 64, required=True),
        "seat": _text(call.seat, "seat", 64),
        "seat_group": _text(call.seat_group, "seatGroup", 64),
        "outcome": call.outcome.value,
        "ticket_number": _text(call.ticket_number, "ticketNumber", 40),
        "phone": phone,
        "recording_url": _recording(call.recording_url),
    }
    content = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()}
    if content["recording_url"] is None:  # the digests of calls pushed before recordings
        del content["recording_url"]
    row["digest"] = keyed_hash(json.dumps(content, sort_keys=True), _DIGEST_PURPOSE)
    row["day"] = local_day(call.started_at, timezone)
    return row


# The table is partitioned by month of ``day`` (docs/operations.md "Partitioning"), so a
# call's key is (tenant_id, call_id, day). A push that moves a call to another day
# removes its row of the old day in the same statement and writes the new one with the
# old row's id, creation time, ticket link and recording (one row per city and call id,
# and the links kept across CTI updates). A partitioned table cannot return ``xmax``: a
# row is new when it was created by this push (an update or a move keeps the first
# push's ``created_at``).
_UPSERT = """
WITH moved AS (
    DELETE FROM call_records c USING unnest($4::text[], $5::date[]) AS m(call_id, day)
    WHERE c.tenant_id = $1 AND c.call_id = m.call_id AND c.day <> m.day
    RETURNING c.id, c.call_id, c.created_at, c.ticket_number, c.ticket_id, c.recording_url,
        c.recording_evidence_id
)
INSERT INTO call_records (id, tenant_id, province_id, created_at, updated_at, call_id, day,
    started_at, answered_at, ended_at, queue, seat, seat_group, outcome, caller_phone_enc,
    caller_phone_hash, ticket_number, ticket_id, digest, recording_url, recording_evidence_id)
SELECT COALESCE(mv.id, nextval(pg_get_serial_sequence('call_records', 'id'))), $1, $2,
    COALESCE(mv.created_at, $3), $3, r.call_id, r.day, r.started_at, r.answered_at,
    r.ended_at, r.queue, r.seat, r.seat_group, r.outcome, r.caller_phone_enc,
    r.caller_phone_hash, COALESCE(r.ticket_number, mv.ticket_number),
    COALESCE(r.ticket_id, mv.ticket_id), r.digest, COALESCE(r.recording_url, mv.recording_url),
    mv.recording_evidence_id
FROM unnest($4::text[], $5::date[], $6::timestamptz[],
    $7::timestamptz[], $8::timestamptz[], $9::text[], $10::text[], $11::text[], $12::text[],
    $13::text[], $14::text[], $15::text[], $16::bigint[], $17::text[], $18::text[])
    AS r(call_id, day, started_at, answered_at, ended_at, queue, seat, seat_group, outcome,
         caller_phone_enc, caller_phone_hash, ticket_number, ticket_id, digest, recording_url)
LEFT JOIN moved mv ON mv.call_id = r.call_id
ON CONFLICT (tenant_id, call_id, day) DO UPDATE SET
    updated_at = EXCLUDED.updated_at, day = EXCLUDED.day, started_at = EXCLUDED.started_at,
    answered_at = EXCLUDED.answered_at, ended_at = EXCLUDED.ended_at,
    queue = EXCLUDED.queue, seat = EXCLUDED.seat, seat_group = EXCLUDED.seat_group,
    outcome = EXCLUDED.outcome, caller_phone_enc = EXCLUDED.caller_phone_enc,
    caller_phone_hash = EXCLUDED.caller_phone_hash,
    ticket_number = COALESCE(EXCLUDED.ticket_number, call_records.ticket_number),
    ticket_id = COALESCE(EXCLUDED.ticket_id, call_records.ticket_id), digest = EXCLUDED.digest,
    recording_url = COALESCE(EXCLUDED.recording_url, call_records.recording_url)
WHERE call_records.digest <> EXCLUDED.digest
RETURNING (created_at = $3) AS inserted, call_id, ticket_id, recording_url,
    recording_evidence_id"""


async def push_calls(*, actor: Actor, calls: Sequence[CallInput]) -> PushResult:
    """Upsert a batch of the actor's city's call records (idempotent by call id); the
    caller has set the city's scope. A call id repeated inside the batch keeps its last."""
    require(actor, Action.CALLS_PUSH)
    if actor.api_key_id is None:
        raise PermissionDenied("call records come from the call center's system, with its API key")
    if actor.tenant_id is None or actor.province_id is None:
        raise NotFound("city")
    if len(calls) > MAX_BATCH:
        raise Invalid("a batch has at most {max} calls", field="calls", max=MAX_BATCH)
    tenant = await Tenant.get(id=actor.tenant_id)
    timezone = str(tenant.timezone)
    rows: dict[str, dict[str, Any]] = {}
    for call in calls:
        row = _row(call, timezone)
        rows[row["call_id"]] = row
    if not rows:
        return PushResult(0, 0, 0)
    batch = list(rows.values())
    db = CallRecord._meta.db
    numbers = sorted({r["ticket_number"] for r in batch if r["ticket_number"]})
    tickets: dict[str, int] = {}
    if numbers:
        found = await db.execute_query_dict(
            "SELECT id, number FROM tickets WHERE tenant_id = $1 AND number = ANY($2::text[])",
            [actor.tenant_id, numbers],
        )
        tickets = {r["number"]: r["id"] for r in found}

    def column(name: str) -> list[Any]:
        return [r[name] for r in batch]

    phones = column("phone")
    async with in_transaction("default") as conn:
        await lock_calls(conn, actor.tenant_id, column("call_id"))
        written = await conn.execute_query_dict(
            _UPSERT,
            [
                actor.tenant_id,
                actor.province_id,
                clock.now(),
                column("call_id"),
                column("day"),
                column("started_at"),
                column("answered_at"),
                column("ended_at"),
                column("queue"),
                column("seat"),
                column("seat_group"),
                column("outcome"),
                [encrypt(p) if p else None for p in phones],
                [keyed_hash(p, PHONE_PURPOSE) if p else None for p in phones],
                column("ticket_number"),
                [tickets.get(r["ticket_number"] or "") for r in batch],
                column("digest"),
                column("recording_url"),
            ],
        )
        await outbox.add_many(
            [
                recording_job(actor.tenant_id, actor.province_id, r["call_id"], r["recording_url"])
                for r in written
                if r["ticket_id"] and r["recording_url"] and r["recording_evidence_id"] is None
            ],
            connection=conn,
        )
    created = sum(1 for r in written if r["inserted"])
    return PushResult(
        created=created, updated=len(written) - created, unchanged=len(batch) - len(written)
    )


# --- figures ------------------------------------------------------------------------


@dataclass
class CallTotals:
    """Summed call records: the numerators and denominators of the call figures."""

    offered: int = 0  # queued for a seat (every outcome but IVR)
    answered: int = 0
    abandoned: int = 0
    overflow: int = 0
    ivr: int = 0
    wait_seconds: float = 0.0  # answered calls: answered_at - started_at
    handled: int = 0  # answered calls with an end
    handle_seconds: float = 0.0  # ended_at - answered_at

    def add(self, row: dict[str, Any]) -> None:
        for name in ("offered", "answered", "abandoned", "overflow", "ivr", "handled"):
            setattr(self, name, getattr(self, name) + int(row[name] or 0))
        self.wait_seconds += float(row["wait_seconds"] or 0)
        self.handle_seconds += float(row["handle_seconds"] or 0)


@dataclass(frozen=True)
class CallFigures:
    totals: CallTotals
    connection_rate: float | None  # answered / offered
    abandon_rate: float | None  # abandoned / offered
    average_speed_of_answer: float | None  # seconds, over answered calls
    average_handle_time: float | None  # seconds, over answered calls with an end


def call_figures_of(totals: CallTotals) -> CallFigures:
    t = totals
    return CallFigures(
        totals=t,
        connection_rate=rate(t.answered, t.offered),
        abandon_rate=rate(t.abandoned, t.offered),
        average_speed_of_answer=t.wait_seconds / t.answered if t.answered else None,
        average_handle_time=t.handle_seconds / t.handled if t.handled else None,
    )


@dataclass(frozen=True)
class CallReport:
    figures: CallFigures
    by_day: list[tuple[str, CallFigures]] = field(default_factory=list)
    by_queue: list[tuple[str, CallFigures]] = field(default_factory=list)
    by_seat_group: list[tuple[str, CallFigures]] = field(default_factory=list)


_FIGURES_SQL = """
SELECT day, queue, coalesce(seat_group, '') AS seat_group,
       count(*) FILTER (WHERE outcome <> 'ivr') AS offered,
       count(*) FILTER (WHERE outcome = 'answered') AS answered,
       count(*) FILTER (WHERE outcome = 'abandoned') AS abandoned,
       count(*) FILTER (WHERE outcome = 'overflow') AS overflow,
       count(*) FILTER (WHERE outcome = 'ivr') AS ivr,
       sum(extract(epoch FROM answered_at - started_at))
           FILTER (WHERE outcome = 'answered') AS wait_seconds,
       count(*) FILTER (WHERE outcome = 'answered' AND ended_at IS NOT NULL) AS handled,
       sum(extract(epoch FROM ended_at - answered_at))
           FILTER (WHERE outcome = 'answered' AND ended_at IS NOT NULL) AS handle_seconds
FROM call_records WHERE {where} AND day >= $2 AND day <= $3
GROUP BY 1, 2, 3"""


def _grouped(rows: Iterable[dict[str, Any]], key: str) -> list[tuple[str, CallFigures]]:
    groups: dict[str, CallTotals] = {}
    for row in rows:
        value = row[key]
        name = value.isoformat() if isinstance(value, date) else str(value)
        groups.setdefault(name, CallTotals()).add(row)
    return [(name, call_figures_of(t)) for name, t in sorted(groups.items())]


async def call_report(
    *, first: date, last: date, tenant_id: int | None = None, province_id: int | None = None
) -> CallReport:
    """The call figures of one city (``tenant_id``) or of every city of the province
    in the current scope (``province_id``) over city-local days ``[first, last]``."""
    where = "tenant_id = $1" if tenant_id is not None else "province_id = $1"
    rows = await read_connection().execute_query_dict(
        _FIGURES_SQL.format(where=where),
        [tenant_id if tenant_id is not None else province_id, first, last],
    )
    totals = CallTotals()
    for row in rows:
        totals.add(row)
    return CallReport(
        figures=call_figures_of(totals),
        by_day=_grouped(rows, "day"),
        by_queue=_grouped(rows, "queue"),
        by_seat_group=_grouped(rows, "seat_group"),
    )
