"""The registry import's write (docs/business.md, "Import"): the file's rows prepared a
chunk at a time in worker processes (``registry_prepare``: validated, hashed, the changed
ones encrypted into COPY records) and every chunk merged into the city's registry in
**one** transaction — while the database takes chunk k (COPY into a temporary staging
table, then a plain ``INSERT`` of the rows new to the registry and ``INSERT … ON
CONFLICT (tenant_id, uscc)`` of those it holds, in USCC order), the workers
prepare the chunks after it, so the Python part and the database's part overlap instead
of adding up; nothing is visible before the commit.

Each row carries a keyed hash of its validated content (``row_hash``). Before a chunk is
prepared the transaction reads the stored hashes of its USCCs, so a row that would not
change is validated but neither encrypted nor staged (counted ``unchanged``); the merge
still compares the hashes, for a code the file writes otherwise than canonically.
Re-importing the same file writes nothing but counts. The upload, the job and the
report are ``registry_import``'s.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import date

import asyncpg
from tortoise import connections

from hotline.platform.tenancy import current_scope
from hotline.tenants.business import registry_prepare
from hotline.tenants.business.registry_prepare import (
    Batch,
    Context,
    Prepared,
    Record,
    prepare,
    records,
    row_hash_key,
    usccs,
)
from hotline.tenants.business.rows import EnterpriseRow, Rejected, header_map

CHUNK = 5_000  # rows validated, staged and merged at a time; progress is written per chunk
IMPORT_TIMEOUT_SECONDS = 900
IMPORT_LOCK = (
    "SELECT pg_advisory_xact_lock(hashtextextended('hotline registry import ' || $1::bigint, 0))"
)

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
# A chunk's rows whose USCC the registry did not hold when their stored hashes were read:
# a plain INSERT, without the upsert's speculative insertion and RETURNING (a first
# import's rows, about 15 % of the merge's time). It runs under a savepoint; a USCC that
# exists after all (written otherwise than canonically in the file, or registered by hand
# since) fails it with a unique violation, and the chunk is merged by _MERGE instead.
_INSERT = (
    "INSERT INTO business_enterprises (tenant_id, province_id, created_at, updated_at, "
    + ", ".join(_STAGE_COLUMNS)
    + ") SELECT $1::bigint, $2::bigint, now(), now(), "
    + ", ".join(_STAGE_COLUMNS)
    + " FROM business_import_stage ORDER BY uscc"
)
# The stored hashes of a chunk's USCCs, read in the import's transaction before the chunk
# is prepared (a USCC the file repeats is rejected as a duplicate, whatever was read).
_STORED = (
    "SELECT uscc, row_hash FROM business_enterprises"
    " WHERE tenant_id = $1 AND uscc = ANY($2::varchar[])"
)
# Chunks prepared or being prepared while the database merges one: in worker processes,
# one per worker and one queued; in a thread, one (threads share the interpreter's lock:
# more would only finish together, later).
AHEAD_THREAD = 1


@dataclass
class Written:
    inserted: int = 0
    updated: int = 0  # already in the registry (unchanged ones included)
    unchanged: int = 0  # already in the registry with the same content: not rewritten


@dataclass(frozen=True)
class Chunk:
    records: list[Record]  # to merge
    rejected: list[Rejected]
    unchanged: int  # good rows the same as their stored row: not staged
    processed: int  # rows validated so far (good and rejected)


class Prepare:
    """An import's file, a chunk at a time: the batches to prepare (in order) and, from
    each one prepared, the chunk to merge — a USCC already seen in an earlier row of the
    file is rejected here as its duplicate, whichever worker prepared the rows."""

    def __init__(
        self, table: list[list[str]], areas: dict[str, int], today: date, *, size: int = CHUNK
    ) -> None:
        self.context = Context(
            header_map(table[0] if table else []), areas, today, row_hash_key()
        )  # a bad header fails here, before any write
        self._table = table
        self._size = size
        self._next = 1  # the table's index of the next batch's first row
        self._seen: dict[str, int] = {}
        self._processed = 0

    def rows(self) -> tuple[list[list[str]], int] | None:
        """The next batch's rows and the file's line of its first, or None at the end."""
        if self._next >= len(self._table):
            return None
        start, self._next = self._next, self._next + self._size
        return self._table[start : self._next], start + 1

    def usccs(self, rows: Sequence[list[str]]) -> list[str]:
        return usccs(rows, self.context.columns)

    def chunk(self, prepared: Prepared) -> Chunk:
        """The next chunk from the next batch prepared (called in the batches' order)."""
        rejected = list(prepared.rejected)
        out: list[Record] = []
        unchanged = 0
        for line, uscc, record in prepared.good:
            first = self._seen.get(uscc)
            if first is not None:
                rejected.append(Rejected(line, uscc, "uscc", f"duplicate of row {first}"))
                continue
            self._seen[uscc] = line
            if record is None:
                unchanged += 1
            else:
                out.append(record)
        rejected.sort(key=lambda r: r.line)
        self._processed += len(prepared.good) + len(prepared.rejected)
        return Chunk(out, rejected, unchanged, self._processed)


@dataclass(frozen=True)
class Run:
    """Where batches are prepared, and how many at once."""

    call: Callable[[Context, Batch], Awaitable[Prepared]]
    ahead: int


# one thread: the batches prepared here while the workers start finish one after another
_LOCAL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="registry-prepare")


def in_processes(pool: ProcessPoolExecutor) -> Run:
    """Batches prepared in ``pool`` (registry_prepare.workers()) — in a thread of this
    process while its workers are still starting."""

    def call(context: Context, batch: Batch) -> Awaitable[Prepared]:
        here = pool if registry_prepare.started() else _LOCAL
        return asyncio.get_running_loop().run_in_executor(here, prepare, context, batch)

    return Run(call, registry_prepare.count() + 1)


async def _in_thread(context: Context, batch: Batch) -> Prepared:
    return await asyncio.to_thread(prepare, context, batch)


# a small file's batches prepared in a thread of this process
in_thread = Run(_in_thread, AHEAD_THREAD)


async def write(
    source: Prepare,
    progress: Callable[[int], Awaitable[None]],
    run: Run = in_thread,
) -> tuple[Written, list[Rejected]]:
    """Every chunk of ``source`` into the current city's registry in one transaction: up
    to ``run.ahead`` batches prepared while the database merges the chunk before them;
    ``progress(rows)`` after each chunk."""
    scope = current_scope()
    written = Written()
    rejected: list[Rejected] = []
    client = connections.get("default")
    # each batch being prepared, with the USCCs the registry held when it was submitted
    pending: deque[tuple[asyncio.Future[Prepared], set[str]]] = deque()
    async with client.acquire_connection() as raw, raw.transaction():
        # A registry of hundreds of thousands of rows: the worker's import may run longer
        # than an API statement (HOTLINE_DATABASE_STATEMENT_TIMEOUT_SECONDS); LOCAL ends
        # with this transaction.
        await raw.execute(f"SET LOCAL statement_timeout = '{IMPORT_TIMEOUT_SECONDS}s'")
        # One import of a city at a time: an import skips the rows whose stored hash
        # matches, read before its merge, so one committing in between would leave its
        # rows as they were while this one reports them unchanged. The lock ends with
        # the transaction.
        await raw.execute(IMPORT_LOCK, scope.tenant_id)
        await raw.execute(_STAGE)

        async def submit() -> None:  # up to run.ahead batches being prepared
            while len(pending) < run.ahead and (rows := source.rows()) is not None:
                found = await raw.fetch(_STORED, scope.tenant_id, source.usccs(rows[0]))
                stored = {r["uscc"]: r["row_hash"] for r in found}
                batch = Batch(rows[0], rows[1], stored)
                future = asyncio.ensure_future(run.call(source.context, batch))
                pending.append((future, set(stored)))

        async def stage(records: list[Record]) -> None:
            await raw.execute("TRUNCATE business_import_stage")
            await raw.copy_records_to_table(
                "business_import_stage", records=records, columns=list(_STAGE_COLUMNS)
            )

        async def merge(records: list[Record]) -> None:  # staged already
            # counted in the database: the rows need not travel back to be counted
            result = await raw.fetchrow(_MERGE, scope.tenant_id, scope.province_id)
            assert result is not None
            inserted, changed = int(result["inserted"]), int(result["written"])
            written.inserted += inserted
            written.updated += len(records) - inserted
            written.unchanged += len(records) - changed

        try:
            while True:
                await submit()
                if not pending:
                    break
                future, known = pending[0]
                prepared = await future
                pending.popleft()
                await submit()  # the next ones are prepared while this one is merged
                chunk = source.chunk(prepared)
                new = [r for r in chunk.records if r[0] not in known]
                if new:
                    await stage(new)
                    try:
                        async with raw.transaction():  # a savepoint
                            status = await raw.execute(_INSERT, scope.tenant_id, scope.province_id)
                        written.inserted += int(status.rsplit(" ", 1)[1])
                    except asyncpg.UniqueViolationError:
                        await merge(new)  # one of them is in the registry after all
                if len(new) < len(chunk.records):  # rows the registry holds, changed
                    old = [r for r in chunk.records if r[0] in known]
                    await stage(old)
                    await merge(old)
                written.updated += chunk.unchanged
                written.unchanged += chunk.unchanged
                rejected += chunk.rejected
                await progress(chunk.processed)
        except BrokenProcessPool:
            registry_prepare.discard()  # a worker died: the next import starts new ones
            raise
        finally:
            for future, _ in pending:  # failed mid-way: the prepared chunks are not wanted
                future.cancel()
    return written, rejected


async def upsert(rows: Sequence[EnterpriseRow]) -> tuple[int, int]:
    """Rows validated already (the demo seed) into the current city's registry, in one
    transaction: (inserted, updated)."""
    scope = current_scope()
    client = connections.get("default")
    async with client.acquire_connection() as raw, raw.transaction():
        await raw.execute(_STAGE)
        await raw.copy_records_to_table(
            "business_import_stage",
            records=records(rows, row_hash_key()),
            columns=list(_STAGE_COLUMNS),
        )
        result = await raw.fetchrow(_MERGE, scope.tenant_id, scope.province_id)
    assert result is not None
    return int(result["inserted"]), len(rows) - int(result["inserted"])
