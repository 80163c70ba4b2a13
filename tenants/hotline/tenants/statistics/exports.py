"""Exports: a ticket list (with the list's filters) or a city report as CSV or XLSX,
written by a worker in constant memory into the object store and handed out as a
short-lived, access-checked download link (docs/statistics.md, "Exports").

* :func:`request_export` checks what the person may read *now* (the same selection as
  the ticket search: another city's category or area is NotFound), records the job and
  enqueues it.
* :func:`run_export` (the worker, in the city's scope) claims the job (``export_runs``:
  one live run, a heartbeat, released when it stops unfinished), streams the rows
  through a server-side cursor into a temporary file (``export_files``: CSV, or XLSX
  with XlsxWriter's ``constant_memory`` mode, which flushes every row to disk), counts
  its progress on the job every few thousand rows, uploads the file under the city's
  key prefix and marks the job done. Memory stays flat whatever the number of rows.
* :func:`download_link` hands the requester (and only the requester) a presigned GET
  valid five minutes, like evidence downloads; the object itself expires after a day.
* Every state change and progress write is announced on the export's pub/sub channel
  (``export_files.progress_channel``): the ``exportProgress`` subscription re-reads the
  row then.
* A province admin's province-wide exports (``PROVINCE_TICKETS``, ``PROVINCE_REPORT``,
  written by ``province_exports``) are rows with no city (``tenant_id`` NULL), written
  and run under the province scope: row-level security's province policy is the only
  thing that lets them read the province's cities, and a city scope never sees them.
"""

from __future__ import annotations

import enum
import tempfile
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from hotline.platform import clock, jobs, storage
from hotline.platform.tenancy import Scope, ScopeKind, current_scope, use_scope
from hotline.tenants.accounts.memberships import load_actor
from hotline.tenants.kernel.access import Action, Actor, allowed, require
from hotline.tenants.kernel.errors import DomainError, Invalid, NotFound, PermissionDenied
from hotline.tenants.provinces.models import Tenant
from hotline.tenants.statistics import dashboard, export_runs, province_exports
from hotline.tenants.statistics.export_files import (
    CONTENT_TYPES,
    REPORT_HEADER,
    TICKET_HEADER,
    Sink,
    announce,
    filter_of,
    filter_params,
    open_sink,
    place,
    report_row,
    stream,
)
from hotline.tenants.statistics.export_files import ExportFormat as ExportFormat
from hotline.tenants.statistics.export_runs import ExportStatus as ExportStatus
from hotline.tenants.statistics.models import ExportJob
from hotline.tenants.tickets.lists import TicketFilter, selection_sql

OBJECT_TTL = timedelta(days=1)  # how long a finished export can be downloaded
LINK_TTL = timedelta(minutes=5)  # a download link, like evidence's (never longer)


class ExportKind(enum.StrEnum):
    TICKETS = "tickets"  # the ticket list, with the list's filters
    CITY_REPORT = "city_report"  # the city's figures and its department ranking
    PROVINCE_TICKETS = "province_tickets"  # every city's tickets (a province admin)
    PROVINCE_REPORT = "province_report"  # the province's figures and its city ranking


PROVINCE_KINDS = frozenset({ExportKind.PROVINCE_TICKETS, ExportKind.PROVINCE_REPORT})


@dataclass(frozen=True)
class ExportRequest:
    kind: ExportKind
    format: ExportFormat
    filter: TicketFilter | None = None  # TICKETS
    first: date | None = None  # CITY_REPORT
    last: date | None = None
    department_id: int | None = None


@dataclass(frozen=True)
class DownloadLink:
    url: str
    expires_at: datetime


# --- the request ----------------------------------------------------------------------


async def _check(actor: Actor, request: ExportRequest) -> dict[str, Any]:
    """What the person may export now (raising what the list or report would); the
    job's parameters."""
    if request.kind is ExportKind.TICKETS:
        selection = request.filter or TicketFilter()
        await selection_sql(actor=actor, filter=selection)
        return {"filter": filter_params(selection)}
    if request.kind is ExportKind.PROVINCE_TICKETS:
        selection = request.filter or TicketFilter()
        province_exports.check_filter(selection)
        return {"filter": filter_params(selection)}
    if request.first is None or request.last is None:
        raise Invalid("a report needs its period", field="from")
    if request.kind is ExportKind.PROVINCE_REPORT:
        await dashboard.province_statistics(actor=actor, first=request.first, last=request.last)
    else:
        await dashboard.city_statistics(
            actor=actor,
            first=request.first,
            last=request.last,
            department_id=request.department_id,
        )
    return {
        "first": request.first.isoformat(),
        "last": request.last.isoformat(),
        "department_id": request.department_id,
    }


async def request_export(*, actor: Actor, request: ExportRequest) -> ExportJob:
    """Record the export and enqueue it; the caller has set the city's scope (a
    province export sets the province scope itself)."""
    if actor.user_id is None:
        require(actor, Action.EXPORT_CREATE)
        raise PermissionDenied("an export is downloaded by the person who asked for it")
    if request.kind in PROVINCE_KINDS:
        return await _request_province_export(actor, request, actor.user_id)
    require(actor, Action.EXPORT_CREATE)
    if actor.tenant_id is None:
        raise NotFound("city")
    params = await _check(actor, request)
    job = await ExportJob.create(
        requested_by=actor.user_id,
        kind=request.kind.value,
        format=request.format.value,
        params=params,
        status=ExportStatus.QUEUED.value,
    )
    await jobs.enqueue_recorded(
        "run_export", tenant_id=actor.tenant_id, export_id=job.id, job_id=export_runs.job_id(job.id)
    )
    return job


def _export_province(actor: Actor) -> int | None:
    """The province of a province-wide export: the selected city's or province's, else
    the one province the actor administers (no city header needed, as for
    ``provinceStatistics``); None when there is neither, or several to choose from."""
    if actor.province_id is not None:
        return actor.province_id
    if len(actor.province_admin_of) == 1:
        return next(iter(actor.province_admin_of))
    return None


async def _request_province_export(actor: Actor, request: ExportRequest, user_id: int) -> ExportJob:
    """A province-wide export: only a province admin of the actor's province (a city's
    admin, leader or supervisor is refused), recorded and run under the province scope."""
    province_id = _export_province(actor)
    if province_id is None:
        raise NotFound("province")
    require(actor, Action.EXPORT_PROVINCE, province_id=province_id)
    if request.department_id is not None:
        raise Invalid("a province export covers every city", field="departmentId")
    params = await _check(actor, request)
    with use_scope(Scope.province(province_id, user_id)):
        job = await ExportJob.create(
            tenant_id=None,
            province_id=province_id,
            requested_by=user_id,
            kind=request.kind.value,
            format=request.format.value,
            params=params,
            status=ExportStatus.QUEUED.value,
        )
    await jobs.enqueue_recorded(
        "run_export",
        tenant_id=None,
        province_id=province_id,
        export_id=job.id,
        job_id=export_runs.job_id(job.id),
    )
    return job


async def _find(export_id: int) -> ExportJob | None:
    """The export in the current scope: a city's own, or a province-wide one."""
    if current_scope().kind is ScopeKind.PROVINCE:
        return await ExportJob.across_tenants().get_or_none(id=export_id, tenant_id=None)
    return await ExportJob.get_or_none(id=export_id)


async def access_export(*, actor: Actor, export_id: int) -> ExportJob:
    """The actor's own export of the current city, or a province admin's own
    province-wide export; NotFound for anyone else's, another city's or province's and a
    missing one alike."""
    job: ExportJob | None = None
    if actor.tenant_id is not None:
        require(actor, Action.EXPORT_CREATE)
        job = await ExportJob.get_or_none(id=export_id)
    province_id = _export_province(actor)
    if job is None and province_id is not None:
        if actor.tenant_id is None:
            require(actor, Action.EXPORT_PROVINCE, province_id=province_id)
        if allowed(actor, Action.EXPORT_PROVINCE, province_id=province_id):
            with use_scope(Scope.province(province_id, actor.user_id)):
                job = await _find(export_id)
    if job is None or actor.user_id is None or job.requested_by != actor.user_id:
        raise NotFound("export", field="exportId")
    return job


async def download_link(*, actor: Actor, job: ExportJob) -> DownloadLink | None:
    """A presigned GET of a finished, unexpired export (None before or after)."""
    if job.tenant_id is None:
        require(actor, Action.EXPORT_PROVINCE, province_id=job.province_id)
    else:
        require(actor, Action.EXPORT_CREATE)
    now = clock.now()
    if job.status != ExportStatus.DONE or job.object_key is None:
        return None
    if job.expires_at is None or job.expires_at <= now:
        return None
    name = f"{job.kind}-{job.id}.{job.format}"
    url = await storage.presigned_get(job.object_key, expires=LINK_TTL, file_name=name)
    return DownloadLink(url=url, expires_at=min(now + LINK_TTL, job.expires_at))


def _ticket_sql(selection: str, count: int) -> str:
    tz = f"${count + 1}"
    local = "to_char({} AT TIME ZONE " + tz + ", 'YYYY-MM-DD HH24:MI')"
    return (
        f"SELECT t.number, {local.format('t.received_at')}, t.channel, t.kind, t.priority, "
        "t.status, c.name, a.name, t.address, t.content, "
        f"{local.format('t.reply_deadline')}, {local.format('t.closed_at')}, t.satisfaction "
        "FROM tickets t "
        "LEFT JOIN categories c ON c.tenant_id = t.tenant_id AND c.id = t.category_id "
        "LEFT JOIN departments a ON a.tenant_id = t.tenant_id AND a.id = t.area_id "
        f"WHERE t.id IN ({selection}) ORDER BY t.received_at, t.id"
    )


async def _write_report(job: ExportJob, actor: Actor, sink: Sink) -> int:
    p = job.params
    report = await dashboard.city_statistics(
        actor=actor,
        first=date.fromisoformat(p["first"]),
        last=date.fromisoformat(p["last"]),
        department_id=p.get("department_id"),
    )
    sink.row(report_row("", "全部 all", None, report.figures))
    for r in report.departments:
        sink.row(report_row(place(r.rank, r.unranked), r.name, r.score, r.figures))
    return 1 + len(report.departments)


async def _stream_tickets(job: ExportJob, actor: Actor, timezone: str, sink: Sink) -> int:
    selection, params = await selection_sql(actor=actor, filter=filter_of(job.params["filter"]))
    return await stream(
        job,
        _ticket_sql(selection, len(params)),
        [*params, timezone],
        (selection, params),
        sink,
    )


async def run_export(export_id: int) -> int:
    """Write the export (the worker, in the city's scope — or the province's for a
    province-wide one); the rows written. Only a run that claims the job writes: a job
    already finished, or running elsewhere with a live heartbeat, is left alone (a
    retried or re-enqueued job does not write twice). A requester who lost the right to
    read what was asked fails the job with the reason; a run stopped unfinished
    (cancelled, or a transient failure arq retries) releases it."""
    job = await _find(export_id)
    if job is None:
        return 0
    attempt = await export_runs.claim(job.id)
    if attempt is None:
        return 0
    job.status, job.rows_done = ExportStatus.RUNNING.value, 0
    await announce(job)
    try:
        async with export_runs.heartbeat(job.id, attempt):
            return await _run(job)
    except BaseException:
        await export_runs.release(job.id, attempt)
        raise


async def _run(job: ExportJob) -> int:
    fmt = ExportFormat(job.format)
    rows_of = ExportJob.across_tenants().filter(id=job.id)
    try:
        actor = await load_actor(
            user_id=job.requested_by or 0, tenant_id=job.tenant_id, province_id=job.province_id
        )
        with tempfile.TemporaryDirectory(prefix="hotline-export-") as tmpdir:
            path = Path(tmpdir) / f"export.{fmt.value}"
            kind = ExportKind(job.kind)
            if kind is ExportKind.PROVINCE_TICKETS:
                sink = open_sink(fmt, path, tmpdir, province_exports.PROVINCE_TICKET_HEADER)
                rows = await province_exports.stream_tickets(job, sink)
            elif kind is ExportKind.PROVINCE_REPORT:
                sink = open_sink(fmt, path, tmpdir, province_exports.PROVINCE_REPORT_HEADER)
                rows = await province_exports.write_report(job, actor, sink)
            elif kind is ExportKind.TICKETS:
                tenant = await Tenant.get(id=job.tenant_id)
                sink = open_sink(fmt, path, tmpdir, TICKET_HEADER)
                rows = await _stream_tickets(job, actor, str(tenant.timezone), sink)
            else:
                sink = open_sink(fmt, path, tmpdir, REPORT_HEADER)
                rows = await _write_report(job, actor, sink)
            sink.close()
            if job.tenant_id is None:
                key = storage.province_key("exports", str(job.id)) + f".{fmt.value}"
            else:
                key = storage.tenant_key("exports", str(job.id)) + f".{fmt.value}"
            await storage.upload_file(key, path, content_type=CONTENT_TYPES[fmt])
    except DomainError as exc:
        await rows_of.update(
            status=ExportStatus.FAILED.value, error=exc.message, finished_at=clock.now()
        )
        job.status = ExportStatus.FAILED.value
        await announce(job)
        return 0
    now = clock.now()
    await rows_of.update(
        status=ExportStatus.DONE.value,
        rows_done=rows,
        rows_total=rows,
        object_key=key,
        finished_at=now,
        expires_at=now + OBJECT_TTL,
    )
    job.status = ExportStatus.DONE.value
    await announce(job)
    return rows
