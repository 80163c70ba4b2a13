"""Writing, relaying and settling outbox rows (plain SQL on the hot paths)."""

from __future__ import annotations

import json
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import structlog
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import OperationalError
from tortoise.transactions import in_transaction

from hotline.platform import clock
from hotline.platform.observability import tracing
from hotline.platform.outbox.models import OutboxMessage, OutboxStatus
from hotline.platform.settings import get_settings

log = structlog.get_logger(__name__)

# A relayed row stays claimed for a short lease (HOTLINE_OUTBOX_LEASE_SECONDS, 30 s),
# which the delivery job renews while it runs (``hotline.platform.outbox.lease``): a
# row whose worker vanished is handed out again once the lease runs out, not minutes
# later.
BASE_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(hours=2)

# Every insert also announces itself on this channel (``pg_notify`` is transactional:
# the listeners hear it when the caller's transaction commits, never if it rolls back).
# The worker LISTENs and relays at once instead of at its next poll (``hotline.workers``).
CHANNEL = "hotline_outbox"

# A send key is written once: the hot table's unique key arbitrates the messages not
# yet archived, and a key already delivered and archived (``archive_delivered``) is
# looked up in ``outbox_delivered`` (its send-key index, one probe per month). The
# archiver holds a lock that excludes these inserts while it moves rows, so a key is
# always found in one of the two.
_INSERT = """
WITH added AS (
    INSERT INTO outbox (tenant_id, province_id, kind, payload, send_key, status, attempts,
                        max_attempts, next_attempt_at, last_error, created_at, updated_at)
    SELECT $1::bigint, $2::bigint, $3::text, $4::jsonb, $5::text, 'pending', 0, $6::smallint,
           $7::timestamptz, '', now(), now()
    WHERE NOT EXISTS (SELECT 1 FROM outbox_delivered d WHERE d.send_key = $5::text)
    ON CONFLICT (send_key) DO NOTHING
    RETURNING id
)
SELECT id, pg_notify($8, '') FROM added
"""

# One indexed range read (outbox_due, partial on pending) claims a batch; SKIP LOCKED
# lets several relays run at once without handing out a row twice.
_CLAIM_DUE = """
UPDATE outbox SET next_attempt_at = $2, updated_at = now()
WHERE id IN (
    SELECT id FROM outbox
    WHERE status = 'pending' AND next_attempt_at <= $1
    ORDER BY next_attempt_at
    LIMIT $3
    FOR UPDATE SKIP LOCKED
)
RETURNING id, tenant_id, attempts, next_attempt_at
"""

# Extends the lease of a row still being delivered; leaves alone a row settled, or
# postponed beyond the lease (a failed attempt's backoff, an SMS held to the morning).
_RENEW = """
UPDATE outbox SET next_attempt_at = now() + make_interval(secs => $2)
WHERE id = ANY($1::bigint[]) AND status = 'pending'
  AND next_attempt_at < now() + make_interval(secs => $2)
RETURNING id
"""


def lease() -> timedelta:
    return timedelta(seconds=get_settings().outbox_lease_seconds)


def _now() -> datetime:
    return clock.now()


def _traced(payload: dict[str, Any], context: dict[str, str]) -> str:
    """The payload as stored: with the writer's trace context (traces on) under
    ``_trace``, which delivery continues and removes before the handler sees it."""
    return json.dumps(
        {**payload, tracing.CARRIER_KEY: context} if context else payload, ensure_ascii=False
    )


def _db(connection: BaseDBAsyncClient | None) -> BaseDBAsyncClient:
    # ``_meta.db`` resolves through Tortoise's connection context, so inside
    # ``in_transaction("default")`` it is that transaction's connection.
    return connection if connection is not None else OutboxMessage._meta.db


async def add(
    *,
    kind: str,
    tenant_id: int | None,
    payload: dict[str, Any],
    send_key: str,
    province_id: int | None = None,
    deliver_after: datetime | None = None,
    max_attempts: int = 8,
    connection: BaseDBAsyncClient | None = None,
) -> int | None:
    """Append a message in the current transaction; the id, or None if the send key exists."""
    rows = await _db(connection).execute_query_dict(
        _INSERT,
        [
            tenant_id,
            province_id,
            kind,
            _traced(payload, tracing.carrier()),
            send_key,
            max_attempts,
            deliver_after or _now(),
            CHANNEL,
        ],
    )
    return int(rows[0]["id"]) if rows else None


@dataclass(frozen=True)
class NewMessage:
    kind: str
    tenant_id: int | None
    province_id: int | None
    payload: dict[str, Any]
    send_key: str
    max_attempts: int = 8
    deliver_after: datetime | None = None


_INSERT_MANY = """
WITH added AS (
    INSERT INTO outbox (tenant_id, province_id, kind, payload, send_key, status, attempts,
                        max_attempts, next_attempt_at, last_error, created_at, updated_at)
    SELECT t, p, k, j, s, 'pending', 0, m, d, '', now(), now()
    FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::jsonb[], $5::text[],
                $6::smallint[], $7::timestamptz[]) AS u(t, p, k, j, s, m, d)
    WHERE NOT EXISTS (SELECT 1 FROM outbox_delivered o WHERE o.send_key = u.s)
    ON CONFLICT (send_key) DO NOTHING
    RETURNING id
)
SELECT id, pg_notify($8, '') FROM added
"""


async def add_many(
    messages: list[NewMessage], *, connection: BaseDBAsyncClient | None = None
) -> int:
    """Append many messages in one statement (same semantics as :func:`add`); rows added."""
    if not messages:
        return 0
    now = _now()
    context = tracing.carrier()
    rows = await _db(connection).execute_query_dict(
        _INSERT_MANY,
        [
            [m.tenant_id for m in messages],
            [m.province_id for m in messages],
            [m.kind for m in messages],
            [_traced(m.payload, context) for m in messages],
            [m.send_key for m in messages],
            [m.max_attempts for m in messages],
            [m.deliver_after or now for m in messages],
            CHANNEL,
        ],
    )
    return len(rows)


@dataclass(frozen=True)
class Relayed:
    outbox_id: int
    tenant_id: int | None
    attempt: int
    # The end of this claim's lease: tells one claim of the row from the next (a row
    # handed out again after its worker vanished gets a new job, not the dead one's).
    lease_until: datetime


async def renew_leases(outbox_ids: list[int]) -> list[int]:
    """Extend the rows' lease by another lease period from now; returns the ids still
    held (a settled or postponed row has nothing to hold any more)."""
    if not outbox_ids:
        return []
    rows = await _db(None).execute_query_dict(
        _RENEW, [outbox_ids, get_settings().outbox_lease_seconds]
    )
    return [int(r["id"]) for r in rows]


async def relay_due_batches(
    enqueue: Callable[[int | None, list[Relayed]], Awaitable[object]],
    *,
    limit: int = 500,
    batch: int = 50,
    now: datetime | None = None,
) -> int:
    """Claim due rows (a short lease) and hand them out in batches of at most ``batch``
    rows of one city each (one delivery job per batch); returns how many were handed out.

    The claim commits before enqueueing: if the process dies in between, the lease runs
    out and the next relay hands the rows out again (at-least-once).
    """
    at = now or _now()
    rows = await _db(None).execute_query_dict(_CLAIM_DUE, [at, at + lease(), limit])
    by_city: dict[int | None, list[Relayed]] = {}
    for row in rows:
        by_city.setdefault(row["tenant_id"], []).append(
            Relayed(
                outbox_id=int(row["id"]),
                tenant_id=row["tenant_id"],
                attempt=row["attempts"],
                lease_until=row["next_attempt_at"],
            )
        )
    for tenant_id, relayed in by_city.items():
        relayed.sort(key=lambda r: r.outbox_id)
        for start in range(0, len(relayed), batch):
            await enqueue(tenant_id, relayed[start : start + batch])
    return len(rows)


async def claim_for_delivery(outbox_id: int) -> OutboxMessage | None:
    """The row if it still waits for delivery (a repeated job finds it settled: None)."""
    return await OutboxMessage.get_or_none(id=outbox_id, status=OutboxStatus.PENDING)


async def claim_many_for_delivery(outbox_ids: list[int]) -> list[OutboxMessage]:
    """Those of the rows that still wait for delivery, in id order (one query)."""
    return await OutboxMessage.filter(id__in=outbox_ids, status=OutboxStatus.PENDING).order_by("id")


async def mark_sent(message: OutboxMessage) -> None:
    await mark_sent_many([message])


async def mark_sent_many(messages: list[OutboxMessage]) -> None:
    """Settle delivered messages in one statement (a row settled meanwhile stays as it is)."""
    if not messages:
        return
    await _db(None).execute_query(
        "UPDATE outbox SET status = 'sent', sent_at = $2, attempts = attempts + 1,"
        " last_error = '', updated_at = now() WHERE id = ANY($1) AND status = 'pending'",
        [[m.id for m in messages], _now()],
    )


# Delivered rows leave the hot table in batches (oldest first, along the primary key):
# the relay's and the dead letters' partial indexes, the send-key index and vacuum stay
# sized by what is in flight, and the archive is partitioned by month for retention.
_ARCHIVE = """
WITH moved AS (
    DELETE FROM outbox WHERE id IN (
        SELECT id FROM outbox WHERE status = 'sent' AND sent_at < $1 ORDER BY id LIMIT $2
    )
    RETURNING id, created_at, tenant_id, province_id, kind, payload, send_key, attempts, sent_at
), kept AS (
    INSERT INTO outbox_delivered (id, created_at, tenant_id, province_id, kind, payload,
                                  send_key, attempts, sent_at)
    SELECT id, created_at, tenant_id, province_id, kind, payload, send_key, attempts, sent_at
    FROM moved
    RETURNING 1
)
SELECT count(*) AS n FROM kept
"""


async def archive_delivered(
    *, older_than: datetime, batch: int = 2000, batches: int = 50, lock_timeout_ms: int = 500
) -> int:
    """Move messages delivered before ``older_than`` to ``outbox_delivered``; rows moved.

    Each batch runs in its own short transaction holding ``SHARE ROW EXCLUSIVE`` on the
    outbox, which excludes every write of it (``add`` included) until the batch commits:
    an ``add`` of a key being moved waits and then finds it in the archive, never in
    neither table. The lock is waited for at most ``lock_timeout_ms`` (writers queue
    behind a waiting lock); a busy outbox leaves the rest to the next run.
    """
    moved = 0
    for _ in range(batches):
        try:
            async with in_transaction("default") as conn:
                await conn.execute_query(f"SET LOCAL lock_timeout = {int(lock_timeout_ms)}")
                await conn.execute_query("LOCK TABLE outbox IN SHARE ROW EXCLUSIVE MODE")
                [row] = await conn.execute_query_dict(_ARCHIVE, [older_than, batch])
        except (OperationalError, asyncpg.LockNotAvailableError) as exc:
            if not isinstance(exc, asyncpg.LockNotAvailableError) and not isinstance(
                exc.__cause__, asyncpg.LockNotAvailableError
            ):
                raise
            log.info("outbox.archive_busy", moved=moved)
            break
        moved += int(row["n"])
        if row["n"] < batch:
            break
    return moved


def backoff_delay(attempts: int, *, base: timedelta = BASE_DELAY) -> timedelta:
    """Exponential backoff with jitter after ``attempts`` failures: base·2^(n-1), ±50 %."""
    exponential: timedelta = min(base * (2 ** max(attempts - 1, 0)), MAX_DELAY)
    return exponential * (0.5 + random.random())  # noqa: S311 — jitter, not security


@dataclass(frozen=True)
class DeliveryOutcome:
    status: OutboxStatus
    attempts: int
    next_attempt_at: datetime | None


async def mark_failed(
    message: OutboxMessage, error: str, *, base: timedelta = BASE_DELAY, permanent: bool = False
) -> DeliveryOutcome:
    """Count a failed attempt: back off and retry, or move to the dead-letter list
    (after the last attempt, or at once for a failure no retry can fix)."""
    attempts = message.attempts + 1
    if permanent or attempts >= message.max_attempts:
        await OutboxMessage.filter(id=message.id, status=OutboxStatus.PENDING).update(
            status=OutboxStatus.DEAD, attempts=attempts, last_error=error[:2000]
        )
        return DeliveryOutcome(OutboxStatus.DEAD, attempts, None)
    due = _now() + backoff_delay(attempts, base=base)
    await OutboxMessage.filter(id=message.id, status=OutboxStatus.PENDING).update(
        attempts=attempts, next_attempt_at=due, last_error=error[:2000]
    )
    return DeliveryOutcome(OutboxStatus.PENDING, attempts, due)


async def defer(message: OutboxMessage, until: datetime) -> None:
    """Postpone without counting an attempt (an SMS held back by a citizen's quiet hours)."""
    await defer_many({message.id: until})


async def defer_many(until: dict[int, datetime]) -> None:
    """:func:`defer` for several messages: one statement per distinct time (a batch's
    SMS held back at night share their city's morning)."""
    ids_by_time: dict[datetime, list[int]] = {}
    for outbox_id, at in until.items():
        ids_by_time.setdefault(at, []).append(outbox_id)
    for at, ids in ids_by_time.items():
        await OutboxMessage.filter(id__in=ids, status=OutboxStatus.PENDING).update(
            next_attempt_at=at
        )


async def dead_letters(
    *, tenant_id: int, limit: int, after_id: int | None = None
) -> list[OutboxMessage]:
    """One city's dead letters, newest first (keyset on id)."""
    query = OutboxMessage.filter(tenant_id=tenant_id, status=OutboxStatus.DEAD)
    if after_id is not None:
        query = query.filter(id__lt=after_id)
    return await query.order_by("-id").limit(limit)


async def retry_dead(*, tenant_id: int, outbox_id: int, attempts: int = 8) -> OutboxMessage | None:
    """Put one of the city's dead letters back in line with ``attempts`` more tries.

    The attempt counter keeps counting (it is part of the delivery job's id, which must
    not repeat); the limit moves up instead.
    """
    rows = await _db(None).execute_query_dict(
        "UPDATE outbox SET status = 'pending', max_attempts = attempts + $3,"
        " next_attempt_at = now(), updated_at = now()"
        " WHERE id = $1 AND tenant_id = $2 AND status = 'dead' RETURNING id",
        [outbox_id, tenant_id, attempts],
    )
    if not rows:
        return None
    return await OutboxMessage.get(id=outbox_id)


@dataclass(frozen=True)
class OutboxStats:
    oldest_due_seconds: float  # 0 when nothing is due
    dead: int


_STATS = """
SELECT (SELECT min(next_attempt_at) FROM outbox
        WHERE status = 'pending' AND next_attempt_at <= $1) AS oldest_due,
       (SELECT count(*) FROM outbox WHERE status = 'dead') AS dead
"""


async def stats(now: datetime) -> OutboxStats:
    """For the outbox gauges: the oldest due row (``outbox_due``) and the dead letters
    (``outbox_dead``), both partial indexes."""
    rows = await _db(None).execute_query_dict(_STATS, [now])
    oldest = rows[0]["oldest_due"]
    return OutboxStats(
        oldest_due_seconds=max(0.0, (now - oldest).total_seconds()) if oldest else 0.0,
        dead=int(rows[0]["dead"]),
    )
