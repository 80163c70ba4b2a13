"""The registry import's write (docs/business.md, "Import"): the file's rows validated and
made into COPY records a chunk at a time, and every chunk merged into the city's
registry in **one** transaction — a worker thread prepares chunk k+1 while the database
takes chunk k (COPY into a temporary staging table, then ``INSERT … ON CONFLICT
(tenant_id, uscc)`` in USCC order), so the Python part and the database's part overlap
instead of adding up; nothing is visible before the commit.

Each row carries a keyed hash of its validated content (``row_hash``): an existing row
whose hash is the same is left as it is (counted ``unchanged``), so re-importing the same
file writes nothing but counts. The upload, the job and the report are
``registry_import``'s.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from tortoise import connections

from hotline.platform.crypto import encrypt_many, keyed_hash
from hotline.platform.tenancy import current_scope
from hotline.tenants.business.rows import EnterpriseRow, Rejected, validate

CHUNK = 5_000  # rows validated, staged and merged at a time; progress is written per chunk
IMPORT_TIMEOUT_SECONDS = 900

_STAGE_COLUMNS = (
    "uscc",
    "name",
    "legal_rep_enc",
    "industry",
    "section",
    "employees",
    "revenue",
    "size_class",
    "area_id",
    "registered_capital",
    "founded_on",
    "status",
    "tags",
    "row_hash",
)
_STAGE = (
    "CREATE TEMP TABLE business_import_stage (uscc varchar(18), name varchar(200), "
    "legal_rep_enc text, industry varchar(2), section varchar(1), employees int, "
    "revenue numeric(20,2), size_class varchar(6), area_id bigint, "
    "registered_capital numeric(20,2), founded_on date, status varchar(10), tags jsonb, "
    "row_hash text) ON COMMIT DROP"
)
_UPDATED = [c for c in _STAGE_COLUMNS if c != "uscc"]
# One chunk into the registry: in USCC order (the unique index is walked in order, and
# two imports of overlapping files lock their rows in the same order), an existing row
# rewritten only when its content differs (row_hash), counted in the database.
_MERGE = (
    "WITH up AS (INSERT INTO business_enterprises (tenant_id, province_id, created_at, updated_at, "
    + ", ".join(_STAGE_COLUMNS)
    + ") SELECT $1, $2, now(), now(), "
    + ", ".join(_STAGE_COLUMNS)
    + " FROM business_import_stage ORDER BY uscc ON CONFLICT (tenant_id, uscc) DO UPDATE SET "
    + ", ".join(f"{c} = EXCLUDED.{c}" for c in _UPDATED)
    + ", updated_at = now()"
    " WHERE business_enterprises.row_hash IS DISTINCT FROM EXCLUDED.row_hash"
    " RETURNING (xmax = 0) AS inserted) "
    "SELECT count(*) FILTER (WHERE inserted) AS inserted, count(*) AS written FROM up"
)
ROW_HASH = "business-registry-row"  # the keyed hash's purpose (crypto.keyed_hash)


def row_hash_key() -> bytes:
    """The key of the rows' hashes: derived from the platform's hash key for this purpose
    alone (one HMAC per import, :func:`keyed_hash`)."""
    return bytes.fromhex(keyed_hash("key", ROW_HASH))


def row_hash(row: EnterpriseRow, tag_json: str, key: bytes) -> str:
    """A keyed hash (BLAKE2b's keyed mode) of everything an import writes of the row, the
    legal representative in clear (its ciphertext differs on every encryption). Keyed, so
    the stored hash of a row says nothing of its representative to whoever reads the
    table; one C call per row, a tenth of an HMAC through :func:`keyed_hash`."""
    text = (
        f"{row.uscc}\x1f{row.name}\x1f{row.legal_rep}\x1f{row.industry}\x1f{row.section}"
        f"\x1f{row.employees}\x1f{row.revenue}\x1f{row.size_class}\x1f{row.area_id}"
        f"\x1f{row.registered_capital}\x1f{row.founded_on}\x1f{row.status}\x1f{tag_json}"
    )
    return hashlib.blake2b(text.encode(), key=key, digest_size=32).hexdigest()


def _records(rows: Sequence[EnterpriseRow]) -> list[tuple[Any, ...]]:
    """COPY records of ``rows``: the legal representatives encrypted in one batch
    (:func:`encrypt_many`, a fresh IV each), a tag list's JSON written once per list, the
    row's hash last."""
    reps = [r.legal_rep for r in rows if r.legal_rep]
    tokens = iter(encrypt_many(reps))
    key = row_hash_key()
    tags: dict[tuple[str, ...], str] = {}
    out: list[tuple[Any, ...]] = []
    for row in rows:
        tag_json = tags.get(row.tags)
        if tag_json is None:
            tag_json = tags[row.tags] = _json_tags(row.tags)
        out.append(
            (
                row.uscc,
                row.name,
                next(tokens) if row.legal_rep else None,
                row.industry,
                row.section,
                row.employees,
                row.revenue,
                row.size_class.value if row.size_class else None,
                row.area_id,
                row.registered_capital,
                row.founded_on,
                row.status.value,
                tag_json,
                row_hash(row, tag_json, key),
            )
        )
    return out


def _json_tags(tags: Sequence[str]) -> str:
    return json.dumps(list(tags), ensure_ascii=False)


@dataclass
class Written:
    inserted: int = 0
    updated: int = 0  # already in the registry (unchanged ones included)
    unchanged: int = 0  # already in the registry with the same content: not rewritten


@dataclass(frozen=True)
class Chunk:
    records: list[tuple[Any, ...]]
    rejected: list[Rejected]
    processed: int  # rows validated so far (good and rejected)
    last: bool


class Prepare:
    """The file's rows, validated and made into COPY records a chunk at a time (in a worker
    thread: one call at a time, in order; a duplicate USCC is one of an earlier chunk too).
    """

    def __init__(self, table: list[list[str]], areas: dict[str, int], today: date) -> None:
        self._results: Iterator[EnterpriseRow | Rejected] = validate(
            table, areas=areas, today=today
        )
        self._seen = 0

    def next(self, size: int = CHUNK) -> Chunk:
        good: list[EnterpriseRow] = []
        rejected: list[Rejected] = []
        last = True
        for result in self._results:
            if isinstance(result, EnterpriseRow):
                good.append(result)
            else:
                rejected.append(result)
            if len(good) + len(rejected) >= size:
                last = False
                break
        self._seen += len(good) + len(rejected)
        return Chunk(_records(good), rejected, self._seen, last)


async def chunk_of(prepare: Prepare) -> Chunk:
    """The next chunk, prepared in a worker thread (the event loop stays free)."""
    return await asyncio.to_thread(prepare.next)


async def write(
    first: Chunk,
    following: Callable[[], Coroutine[Any, Any, Chunk]],
    progress: Callable[[int], Awaitable[None]],
) -> tuple[Written, list[Rejected]]:
    """``first`` and every chunk after it (``following()``, until one is the last) into the
    current city's registry in one transaction, the next chunk prepared while the database
    takes this one; ``progress(rows)`` after each."""
    scope = current_scope()
    written = Written()
    rejected: list[Rejected] = []
    client = connections.get("default")
    chunk, upcoming = first, None
    async with client.acquire_connection() as raw, raw.transaction():
        # A registry of hundreds of thousands of rows: the worker's import may run longer
        # than an API statement (HOTLINE_DATABASE_STATEMENT_TIMEOUT_SECONDS); LOCAL ends
        # with this transaction.
        await raw.execute(f"SET LOCAL statement_timeout = '{IMPORT_TIMEOUT_SECONDS}s'")
        await raw.execute(_STAGE)
        try:
            while True:
                upcoming = None if chunk.last else asyncio.create_task(following())
                if chunk.records:
                    await raw.execute("TRUNCATE business_import_stage")
                    await raw.copy_records_to_table(
                        "business_import_stage", records=chunk.records, columns=list(_STAGE_COLUMNS)
                    )
                    # counted in the database: the rows need not travel back to be counted
                    result = await raw.fetchrow(_MERGE, scope.tenant_id, scope.province_id)
                    assert result is not None
                    inserted, changed = int(result["inserted"]), int(result["written"])
                    written.inserted += inserted
                    written.updated += len(chunk.records) - inserted
                    written.unchanged += len(chunk.records) - changed
                rejected += chunk.rejected
                await progress(chunk.processed)
                if upcoming is None:
                    break
                chunk, upcoming = await upcoming, None
        finally:
            if upcoming is not None:  # failed mid-way: the prepared chunk is not wanted
                upcoming.cancel()
    return written, rejected


async def upsert(rows: Sequence[EnterpriseRow]) -> tuple[int, int]:
    """Rows validated already (the demo seed) into the current city's registry, in one
    transaction: (inserted, updated)."""

    async def nothing(rows: int) -> None:
        return None

    async def no_more() -> Chunk:
        raise AssertionError("one chunk only")

    written, _ = await write(Chunk(_records(rows), [], len(rows), True), no_more, nothing)
    return written.inserted, written.updated
