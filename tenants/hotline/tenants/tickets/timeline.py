"""The append-only, hash-chained timeline of a ticket.

Each event's ``hash`` is sha256 over the previous event's hash and the event's
canonical JSON (sorted keys, UTC ISO times), so rewriting or dropping an event
breaks every later hash. The table also refuses UPDATE and DELETE (a trigger).
Appending happens inside the caller's transaction, with the ticket row locked,
which serialises ``seq``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from hotline.platform.db.rows import insert_values, written
from hotline.tenants.tickets.models import Ticket, TimelineEvent

HASHED_FIELDS = (
    "ticket_id",
    "seq",
    "action",
    "actor_id",
    "actor_role",
    "department_id",
    "assignment_id",
    "from_status",
    "to_status",
    "reason",
    "data",
    "created_at",
)


def _default(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return str(value)


def json_safe(data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` as it reads back from JSONB (dates and decimals as strings)."""
    result: dict[str, Any] = json.loads(json.dumps(data, default=_default, ensure_ascii=False))
    return result


def canonical(event: Mapping[str, Any]) -> str:
    return json.dumps(
        {k: event[k] for k in HASHED_FIELDS},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
        default=_default,
    )


def event_hash(prev_hash: str, event: Mapping[str, Any]) -> str:
    return hashlib.sha256((prev_hash + "\n" + canonical(event)).encode()).hexdigest()


def _fields(event: TimelineEvent) -> dict[str, Any]:
    return {k: getattr(event, k) for k in HASHED_FIELDS}


def verify_chain(events: Iterable[TimelineEvent]) -> bool:
    """True when the events (in ``seq`` order) form an unbroken chain from seq 1."""
    prev = ""
    for expected_seq, event in enumerate(events, start=1):
        if event.seq != expected_seq or event.prev_hash != prev:
            return False
        if event_hash(prev, _fields(event)) != event.hash:
            return False
        prev = event.hash
    return True


def prepare(
    ticket: Ticket,
    *,
    action: str,
    at: datetime,
    actor_id: int | None,
    actor_role: str,
    from_status: str,
    to_status: str,
    department_id: int | None = None,
    assignment_id: int | None = None,
    reason: str = "",
    data: Mapping[str, Any] | None = None,
) -> TimelineEvent:
    """The next event of the ticket's chain, not yet written; advances the ticket's chain
    head in memory (the caller writes the events, :func:`insert_many`, and the ticket)."""
    fields: dict[str, Any] = {
        "ticket_id": ticket.id,
        "seq": ticket.timeline_seq + 1,
        "action": action,
        "actor_id": actor_id,
        "actor_role": actor_role,
        "department_id": department_id,
        "assignment_id": assignment_id,
        "from_status": from_status,
        "to_status": to_status,
        "reason": reason,
        "data": json_safe(data or {}),
        "created_at": at.astimezone(UTC),
    }
    digest = event_hash(ticket.timeline_hash, fields)
    event = TimelineEvent(
        tenant_id=ticket.tenant_id,
        province_id=ticket.province_id,
        prev_hash=ticket.timeline_hash,
        hash=digest,
        **fields,
    )
    ticket.timeline_seq = fields["seq"]
    ticket.timeline_hash = digest
    return event


# Every prepared event of a unit of work in one statement (a sweep batch appends hundreds).
_INSERT = """
INSERT INTO timeline_events (tenant_id, province_id, created_at, ticket_id, seq, action,
    actor_id, actor_role, department_id, assignment_id, from_status, to_status, reason,
    data, prev_hash, hash)
SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::timestamptz[], $4::bigint[], $5::int[],
    $6::text[], $7::bigint[], $8::text[], $9::bigint[], $10::bigint[], $11::text[],
    $12::text[], $13::text[], $14::jsonb[], $15::text[], $16::text[])
RETURNING id, ticket_id, seq
"""


async def insert_many(
    conn: BaseDBAsyncClient, events: Sequence[TimelineEvent], tickets: Sequence[Ticket] = ()
) -> None:
    """Write prepared events (in the caller's transaction) and give each its id.
    ``tickets``: new tickets (their ids taken from the sequence) written in the same
    statement, before their events (their foreign keys are checked when it ends)."""
    if tickets and not events:
        insert, values = insert_values(tickets)
        await conn.execute_query(insert, values)
        written(tickets)
        return
    if not events:
        return
    columns = [
        [getattr(e, name) for e in events]
        for name in (
            "tenant_id",
            "province_id",
            "created_at",
            "ticket_id",
            "seq",
            "action",
            "actor_id",
            "actor_role",
            "department_id",
            "assignment_id",
            "from_status",
            "to_status",
            "reason",
        )
    ]
    columns.append([json.dumps(e.data, ensure_ascii=False) for e in events])
    columns += [[e.prev_hash for e in events], [e.hash for e in events]]
    sql = _INSERT
    if tickets:
        insert, values = insert_values(tickets, start=len(columns))
        sql = f"WITH new_tickets AS ({insert}) {_INSERT}"
        columns += values
    rows = await conn.execute_query_dict(sql, columns)
    if tickets:
        written(tickets)
    ids = {(r["ticket_id"], r["seq"]): r["id"] for r in rows}
    for event in events:
        event.id = ids[(event.ticket_id, event.seq)]
        event._saved_in_db = True


async def append(ticket: Ticket, **event: Any) -> TimelineEvent:
    """Append one event now and advance the ticket's chain head (the caller saves the
    ticket); :func:`prepare` + :func:`insert_many` write many in one statement."""
    prepared = prepare(ticket, **event)
    await prepared.save(force_create=True)
    return prepared
