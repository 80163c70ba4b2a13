"""Ticket numbers and query codes.

A number is ``<prefix><yyyymmdd><6 digits>`` with the date in the city's time zone
(``JN20261123000123``). The per-city, per-day counter is one row bumped by
``INSERT … ON CONFLICT DO UPDATE … RETURNING`` in its own autocommit statement before
the ticket's transaction (``intake.create_ticket``'s opening, which bumps it only once
the creation's checks passed), so concurrent creations hold the row for that statement
only; a creation that fails afterwards leaves a gap (allowed, docs/tickets.md "Numbers").
The query code (6 digits) goes to the citizen; only its keyed hash is kept.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import date, datetime
from zoneinfo import ZoneInfo

from tortoise.backends.base.client import BaseDBAsyncClient

from hotline.platform.crypto import keyed_hash

QUERY_CODE_PURPOSE = "ticket-query-code"
_NEXT = (
    'INSERT INTO "ticket_counters" (tenant_id, province_id, day, last_number, created_at) '
    "VALUES ($1, $2, $3, 1, now()) ON CONFLICT (tenant_id, day) "
    'DO UPDATE SET last_number = "ticket_counters".last_number + 1 RETURNING last_number'
)


def local_day(moment: datetime, timezone: str) -> date:
    return moment.astimezone(ZoneInfo(timezone)).date()


def format_number(prefix: str, day: date, serial: int) -> str:
    if not 1 <= serial <= 999_999:
        raise ValueError("a city hands out at most 999,999 numbers a day")
    return f"{prefix}{day:%Y%m%d}{serial:06d}"


async def next_number(
    conn: BaseDBAsyncClient,
    *,
    tenant_id: int,
    province_id: int,
    prefix: str,
    timezone: str,
    at: datetime,
) -> str:
    day = local_day(at, timezone)
    rows = await conn.execute_query_dict(_NEXT, [tenant_id, province_id, day])
    return format_number(prefix, day, int(rows[0]["last_number"]))


def new_query_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


def query_code_for_key(tenant_id: int, idempotency_key: str) -> str:
    """The code of a ticket created with an idempotency key, derivable again on a retry
    (a gateway that retries must get the same code); unpredictable without the hash key."""
    digest = keyed_hash(f"{tenant_id}:{idempotency_key}", "ticket-query-code-seed")
    return f"{int(digest[:12], 16) % 1_000_000:06d}"


def hash_query_code(tenant_id: int, code: str) -> str:
    return keyed_hash(f"{tenant_id}:{code}", QUERY_CODE_PURPOSE)


def query_code_matches(tenant_id: int, code: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_query_code(tenant_id, code), stored_hash)
