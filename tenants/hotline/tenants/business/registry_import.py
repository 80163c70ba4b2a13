"""Registry imports: a CSV or XLSX export uploaded to the object store, validated row by
row in a worker and written in one transaction (docs/business.md, "Import").

A file that cannot be read as a whole (not CSV/XLSX, not UTF-8/GBK, a required column
missing) fails the import and writes nothing; bad rows are rejected with their reason
(``rejected_sample`` and a CSV report in the object store) while the good ones are
upserted by USCC.

The write is a pipeline of chunks of ``CHUNK`` rows inside **one** transaction: a worker
thread validates and encrypts the next chunk while the database takes the current one
(COPY into a temporary staging table, then ``INSERT … ON CONFLICT (tenant_id, uscc)`` in
USCC order), so the Python part and the database's part overlap instead of adding up;
nothing is visible before the commit. Each row carries a keyed hash of its validated
content (``row_hash``): a row whose hash is already stored is left as it is (counted
``unchanged``), so re-importing the same file writes nothing but counts.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast

from tortoise import connections

from hotline.platform import clock, jobs, storage
from hotline.platform.crypto import encrypt_many, keyed_hash
from hotline.platform.tenancy import current_scope
from hotline.tenants.business.access import city_scope, require_business
from hotline.tenants.business.models import ImportStatus, RegistryImport
from hotline.tenants.business.rows import BadFile, EnterpriseRow, Rejected, read_table, validate
from hotline.tenants.departments.models import Department
from hotline.tenants.kernel.access import Action, Actor
from hotline.tenants.kernel.audit import record_audit
from hotline.tenants.kernel.errors import Conflict, Invalid, NotFound

MAX_BYTES = 200 * 1024 * 1024
SAMPLE = 100  # rejected rows kept on the import row (the report has them all)
CHUNK = 5_000  # rows validated, staged and merged at a time; progress is written per chunk
IMPORT_TIMEOUT_SECONDS = 900
CONTENT_TYPES = {
    ".csv": "text/csv",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
UPLOAD_EXPIRES = timedelta(hours=1)
REPORT_EXPIRES = timedelta(minutes=15)

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


@dataclass(frozen=True)
class Upload:
    registry_import: RegistryImport
    post: storage.PresignedPost


def _content_type(file_name: str) -> str:
    for suffix, content_type in CONTENT_TYPES.items():
        if file_name.lower().endswith(suffix):
            return content_type
    raise Invalid("the registry file must be .csv or .xlsx", field="fileName")


async def create_import(*, actor: Actor, file_name: str, size: int) -> Upload:
    """An import waiting for its file, and the form to upload it to the object store."""
    await require_business(actor, Action.BUSINESS_MANAGE)
    name = file_name.strip()
    if not 1 <= len(name) <= 200:
        raise Invalid("the file name must be 1-200 characters", field="fileName")
    content_type = _content_type(name)
    if not 0 < size <= MAX_BYTES:
        raise Invalid("the file must be 1 byte to {max} bytes", field="size", max=MAX_BYTES)
    with city_scope(actor):
        key = storage.tenant_key("business-imports")
        row = await RegistryImport.create(
            file_name=name,
            object_key=key,
            status=ImportStatus.AWAITING_UPLOAD,
            created_by_id=actor.user_id,
        )
        post = await storage.presigned_post(
            key, content_type=content_type, min_size=1, max_size=size, expires=UPLOAD_EXPIRES
        )
    return Upload(row, post)


async def access_import(*, actor: Actor, import_id: int) -> RegistryImport:
    await require_business(actor, Action.BUSINESS_MANAGE)
    with city_scope(actor):
        found = await RegistryImport.get_or_none(id=import_id)
    if found is None:
        raise NotFound("import")
    return found


async def start_import(*, actor: Actor, import_id: int) -> RegistryImport:
    """Queue the uploaded file for the worker (once)."""
    row = await access_import(actor=actor, import_id=import_id)
    if row.status is not ImportStatus.AWAITING_UPLOAD:
        raise Conflict("the import has already started", field="id")
    if await storage.stat(row.object_key) is None:
        raise Invalid("upload the file first", field="id")
    with city_scope(actor):
        changed = await RegistryImport.filter(
            id=row.id, status=ImportStatus.AWAITING_UPLOAD
        ).update(status=ImportStatus.QUEUED)
        if not changed:
            raise Conflict("the import has already started", field="id")
        row.status = ImportStatus.QUEUED
        await record_audit(
            actor_id=actor.user_id,
            action="business.import",
            target=f"import:{row.id}",
            detail={"file": row.file_name},
            tenant_id=row.tenant_id,
            province_id=row.province_id,
        )
    await jobs.enqueue_recorded(
        "import_enterprises",
        tenant_id=row.tenant_id,
        job_id=f"business-import:{row.id}",
        import_id=row.id,
    )
    return row


async def waiting_imports(older_than: datetime) -> list[jobs.Recorded]:
    """The current city's imports queued before ``older_than`` whose job never started
    (the stale-job sweep enqueues them again under the same job id)."""
    ids: list[Any] = await RegistryImport.filter(
        status=ImportStatus.QUEUED, created_at__lt=older_than
    ).values_list("id", flat=True)
    return [
        jobs.Recorded("import_enterprises", f"business-import:{i}", {"import_id": int(i)})
        for i in ids
    ]


async def report_url(row: RegistryImport) -> str | None:
    if row.report_key is None:
        return None
    return await storage.presigned_get(
        row.report_key, expires=REPORT_EXPIRES, file_name=f"rejected-{row.id}.csv"
    )


async def _areas() -> dict[str, int]:
    """What a row's area may say: a department's id or its exact name (active ones)."""
    rows = await Department.filter(is_active=True).values_list("id", "name")
    out: dict[str, int] = {}
    for department_id, name in cast(list[tuple[int, str]], rows):
        out.setdefault(name, department_id)
        out[str(department_id)] = department_id
    return out


def row_hash(row: EnterpriseRow, tag_json: str) -> str:
    """A keyed hash of everything an import writes of the row (the legal representative in
    clear: its ciphertext differs on every encryption). Keyed, so the stored hash of a
    name says nothing to whoever reads the table."""
    values = (
        row.uscc,
        row.name,
        row.legal_rep,
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
    )
    return keyed_hash("\x1f".join("\x00" if v is None else str(v) for v in values), ROW_HASH)


def _records(rows: Sequence[EnterpriseRow]) -> list[tuple[Any, ...]]:
    """COPY records of ``rows``: the legal representatives encrypted in one batch
    (:func:`encrypt_many`, a fresh IV each), a tag list's JSON written once per list, the
    row's hash last."""
    reps = [r.legal_rep for r in rows if r.legal_rep]
    tokens = iter(encrypt_many(reps))
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
                row_hash(row, tag_json),
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


async def _chunk(prepare: Prepare) -> Chunk:
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


def _report(rejected: Sequence[Rejected]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["row", "uscc", "field", "reason"])
    for r in rejected:
        writer.writerow([r.line, r.uscc, r.field, r.reason])
    return out.getvalue().encode("utf-8-sig")  # Excel opens UTF-8 with a BOM


async def run_import(import_id: int) -> RegistryImport:
    """The worker's part (in the import's city scope); re-running a finished import
    does nothing."""
    row = await RegistryImport.get(id=import_id)
    if row.status in (ImportStatus.DONE, ImportStatus.FAILED, ImportStatus.AWAITING_UPLOAD):
        return row
    await RegistryImport.filter(id=row.id).update(status=ImportStatus.RUNNING)

    async def progress(rows: int) -> None:  # its own statement: visible while it runs
        await RegistryImport.filter(id=row.id).update(processed_rows=rows)

    try:
        data = await _read(row.object_key)
        table, encoding = read_table(data, row.file_name)
        if len(table) < 1:
            raise BadFile("the file is empty")
        await RegistryImport.filter(id=row.id).update(
            total_rows=max(len(table) - 1, 0), encoding=encoding
        )
        prepare = Prepare(table, await _areas(), clock.now().date())
        first = await _chunk(prepare)  # a bad header fails here, before any write
    except BadFile as exc:
        await RegistryImport.filter(id=row.id).update(
            status=ImportStatus.FAILED, error=str(exc), finished_at=clock.now()
        )
        return await RegistryImport.get(id=row.id)
    written, rejected = await write(first, lambda: _chunk(prepare), progress)
    report_key = None
    if rejected:
        report_key = storage.tenant_key("business-imports", "rejected")
        await storage.put(report_key, _report(rejected), content_type="text/csv")
    await RegistryImport.filter(id=row.id).update(
        status=ImportStatus.DONE,
        processed_rows=written.inserted + written.updated + len(rejected),
        inserted=written.inserted,
        updated=written.updated,
        unchanged=written.unchanged,
        rejected=len(rejected),
        report_key=report_key,
        rejected_sample=[
            {"row": r.line, "uscc": r.uscc, "field": r.field, "reason": r.reason}
            for r in rejected[:SAMPLE]
        ],
        finished_at=clock.now(),
    )
    return await RegistryImport.get(id=row.id)


async def _read(key: str) -> bytes:
    chunks: list[bytes] = []
    if not await storage.consume(key, chunks.append):
        raise BadFile("the uploaded file is missing")
    return b"".join(chunks)
