"""Registry imports: a CSV or XLSX export uploaded to the object store, validated row by
row in a worker, written in one transaction by COPY into a staging table and one
``INSERT … ON CONFLICT (tenant_id, uscc)`` (docs/business.md, "Import").

A file that cannot be read as a whole (not CSV/XLSX, not UTF-8/GBK, a required column
missing) fails the import and writes nothing; bad rows are rejected with their reason
(``rejected_sample`` and a CSV report in the object store) while the good ones are
upserted. Re-importing the same file changes nothing but ``updated_at``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from tortoise.transactions import in_transaction

from hotline.platform import clock, jobs, storage
from hotline.platform.crypto import encrypt_many
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
PROGRESS_EVERY = 5_000
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
)
_STAGE = (
    "CREATE TEMP TABLE business_import_stage (uscc varchar(18), name varchar(200), "
    "legal_rep_enc text, industry varchar(2), section varchar(1), employees int, "
    "revenue numeric(20,2), size_class varchar(6), area_id bigint, "
    "registered_capital numeric(20,2), founded_on date, status varchar(10), tags jsonb) "
    "ON COMMIT DROP"
)
_UPDATED = [c for c in _STAGE_COLUMNS if c != "uscc"]
_UPSERT = (
    "WITH up AS (INSERT INTO business_enterprises (tenant_id, province_id, created_at, updated_at, "
    + ", ".join(_STAGE_COLUMNS)
    + ") SELECT $1, $2, now(), now(), "
    + ", ".join(_STAGE_COLUMNS)
    + " FROM business_import_stage ON CONFLICT (tenant_id, uscc) DO UPDATE SET "
    + ", ".join(f"{c} = EXCLUDED.{c}" for c in _UPDATED)
    + ", updated_at = now() RETURNING (xmax = 0) AS inserted) "
    "SELECT count(*) FILTER (WHERE inserted) AS inserted, count(*) AS total FROM up"
)


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


def _records(rows: Sequence[EnterpriseRow]) -> list[tuple[Any, ...]]:
    """COPY records of ``rows``: the legal representatives encrypted in one batch
    (:func:`encrypt_many`, a fresh IV each), a tag list's JSON written once per list."""
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
            )
        )
    return out


def _json_tags(tags: Sequence[str]) -> str:
    return json.dumps(list(tags), ensure_ascii=False)


async def upsert(rows: Sequence[EnterpriseRow]) -> tuple[int, int]:
    """Write ``rows`` into the current city's registry in one transaction:
    (inserted, updated)."""
    scope = current_scope()
    records = _records(rows)
    async with in_transaction("default") as conn, conn.acquire_connection() as raw:
        # A registry of hundreds of thousands of rows is one upsert: the worker's import
        # may run longer than an API statement (HOTLINE_DATABASE_STATEMENT_TIMEOUT_SECONDS);
        # LOCAL ends with this transaction.
        await raw.execute(f"SET LOCAL statement_timeout = '{IMPORT_TIMEOUT_SECONDS}s'")
        await raw.execute(_STAGE)
        await raw.copy_records_to_table(
            "business_import_stage", records=records, columns=list(_STAGE_COLUMNS)
        )
        # counted in the database: 100,000 rows need not travel back to be counted
        result = await raw.fetchrow(_UPSERT, scope.tenant_id, scope.province_id)
    assert result is not None
    return int(result["inserted"]), int(result["total"]) - int(result["inserted"])


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
    try:
        data = await _read(row.object_key)
        table, encoding = read_table(data, row.file_name)
        if len(table) < 1:
            raise BadFile("the file is empty")
        await RegistryImport.filter(id=row.id).update(
            total_rows=max(len(table) - 1, 0), encoding=encoding
        )
        good: list[EnterpriseRow] = []
        rejected: list[Rejected] = []
        areas = await _areas()
        today = clock.now().date()
        for n, result in enumerate(validate(table, areas=areas, today=today), start=1):
            if isinstance(result, EnterpriseRow):
                good.append(result)
            else:
                rejected.append(result)
            if n % PROGRESS_EVERY == 0:
                await RegistryImport.filter(id=row.id).update(processed_rows=n)
    except BadFile as exc:
        await RegistryImport.filter(id=row.id).update(
            status=ImportStatus.FAILED, error=str(exc), finished_at=clock.now()
        )
        return await RegistryImport.get(id=row.id)
    inserted, updated = await upsert(good) if good else (0, 0)
    report_key = None
    if rejected:
        report_key = storage.tenant_key("business-imports", "rejected")
        await storage.put(report_key, _report(rejected), content_type="text/csv")
    await RegistryImport.filter(id=row.id).update(
        status=ImportStatus.DONE,
        processed_rows=len(good) + len(rejected),
        inserted=inserted,
        updated=updated,
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
