"""Registry imports: a CSV or XLSX export uploaded to the object store, validated row by
row in a worker and written in one transaction (docs/business.md, "Import").

A file that cannot be read as a whole (not CSV/XLSX, not UTF-8/GBK, a required column
missing) fails the import and writes nothing; bad rows are rejected with their reason
(``rejected_sample`` and a CSV report in the object store) while the good ones are
upserted by USCC.

The write — chunks prepared in worker processes while the database merges the one
before, all in one transaction, unchanged rows left alone — is ``registry_write``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from hotline.platform import clock, jobs, storage
from hotline.platform.settings import get_settings
from hotline.tenants.business import registry_prepare
from hotline.tenants.business.access import city_scope, require_business
from hotline.tenants.business.models import ImportStatus, RegistryImport
from hotline.tenants.business.registry_write import Prepare, in_processes, in_thread, write
from hotline.tenants.business.rows import BadFile, Rejected, read_table
from hotline.tenants.departments.models import Department
from hotline.tenants.kernel.access import Action, Actor
from hotline.tenants.kernel.audit import record_audit
from hotline.tenants.kernel.errors import Conflict, Invalid, NotFound

MAX_BYTES = 200 * 1024 * 1024
SAMPLE = 100  # rejected rows kept on the import row (the report has them all)
CONTENT_TYPES = {
    ".csv": "text/csv",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
UPLOAD_EXPIRES = timedelta(hours=1)
REPORT_EXPIRES = timedelta(minutes=15)
# A file this small (a few hundred rows) is prepared in a thread of the job's process;
# a larger one in the worker processes (registry_prepare.workers) if there are any
# (HOTLINE_IMPORT_WORKERS).
SMALL_FILE_BYTES = 64 * 1024


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
        # the workers start (an interpreter each) while the file is parsed
        large = len(data) > SMALL_FILE_BYTES and get_settings().import_workers > 0
        if large:
            registry_prepare.warm()
        table, encoding = read_table(data, row.file_name)
        if len(table) < 1:
            raise BadFile("the file is empty")
        await RegistryImport.filter(id=row.id).update(
            total_rows=max(len(table) - 1, 0), encoding=encoding
        )
        # a bad header fails here, before any write
        prepare = Prepare(table, await _areas(), clock.now().date())
    except BadFile as exc:
        await RegistryImport.filter(id=row.id).update(
            status=ImportStatus.FAILED, error=str(exc), finished_at=clock.now()
        )
        return await RegistryImport.get(id=row.id)
    run = in_processes(registry_prepare.workers()) if large else in_thread
    written, rejected = await write(prepare, progress, run)
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
