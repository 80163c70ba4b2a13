"""Exports: a ticket list (with the list's filters) or a city report as CSV or XLSX,
written by a worker in constant memory into the object store and handed out as a
short-lived, access-checked download link (docs/statistics.md, "Exports").

* :func:`request_export` checks what the person may read *now* (the same selection as
  the ticket search: another city's category or area is NotFound), records the job and
  enqueues it.
* :func:`run_export` (the worker, in the city's scope) streams the rows through a
  server-side cursor into a temporary file — CSV, or XLSX with XlsxWriter's
  ``constant_memory`` mode, which flushes every row to disk — counts its progress on
  the job every few thousand rows, uploads the file under the city's key prefix and
  marks the job done. Memory stays flat whatever the number of rows.
* :func:`download_link` hands the requester (and only the requester) a presigned GET
  valid five minutes, like evidence downloads; the object itself expires after a day.
"""

from __future__ import annotations

import csv
import enum
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import IO, Any, Protocol

import xlsxwriter

from hotline.platform import clock, jobs, storage
from hotline.tenants.accounts.memberships import load_actor
from hotline.tenants.kernel.access import Action, Actor, require
from hotline.tenants.kernel.errors import DomainError, Invalid, NotFound, PermissionDenied
from hotline.tenants.provinces.models import Tenant
from hotline.tenants.statistics import dashboard
from hotline.tenants.statistics.models import ExportJob
from hotline.tenants.tickets.lists import TicketFilter, selection_sql
from hotline.tenants.tickets.models import Channel, Kind, Status

BATCH = 2000  # rows fetched per round trip of the cursor
PROGRESS_EVERY = 20_000  # rows between two progress writes
OBJECT_TTL = timedelta(days=1)  # how long a finished export can be downloaded
LINK_TTL = timedelta(minutes=5)  # a download link, like evidence's (never longer)
XLSX_SHEET_ROWS = 1_048_576  # Excel's limit: more rows continue on the next sheet


class ExportKind(enum.StrEnum):
    TICKETS = "tickets"  # the ticket list, with the list's filters
    CITY_REPORT = "city_report"  # the city's figures and its department ranking


class ExportFormat(enum.StrEnum):
    CSV = "csv"
    XLSX = "xlsx"


class ExportStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


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


def _filter_params(f: TicketFilter) -> dict[str, Any]:
    out = asdict(f)
    for name in ("received_from", "received_to"):
        out[name] = out[name].isoformat() if out[name] else None
    for name in ("statuses", "kinds", "channels"):
        out[name] = [str(v) for v in out[name]]
    return out


def _filter_of(params: dict[str, Any]) -> TicketFilter:
    p = dict(params)
    for name in ("received_from", "received_to"):
        p[name] = datetime.fromisoformat(p[name]) if p.get(name) else None
    return TicketFilter(
        **{
            **p,
            "statuses": [Status(v) for v in p.get("statuses") or ()],
            "kinds": [Kind(v) for v in p.get("kinds") or ()],
            "channels": [Channel(v) for v in p.get("channels") or ()],
        }
    )


async def _check(actor: Actor, request: ExportRequest) -> dict[str, Any]:
    """What the person may export now (raising what the list or report would); the
    job's parameters."""
    if request.kind is ExportKind.TICKETS:
        selection = request.filter or TicketFilter()
        await selection_sql(actor=actor, filter=selection)
        return {"filter": _filter_params(selection)}
    if request.first is None or request.last is None:
        raise Invalid("a report needs its period", field="from")
    await dashboard.city_statistics(
        actor=actor, first=request.first, last=request.last, department_id=request.department_id
    )
    return {
        "first": request.first.isoformat(),
        "last": request.last.isoformat(),
        "department_id": request.department_id,
    }


async def request_export(*, actor: Actor, request: ExportRequest) -> ExportJob:
    """Record the export and enqueue it; the caller has set the city's scope."""
    require(actor, Action.EXPORT_CREATE)
    if actor.user_id is None:
        raise PermissionDenied("an export is downloaded by the person who asked for it")
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
    await jobs.enqueue(
        "run_export", tenant_id=actor.tenant_id, export_id=job.id, job_id=f"export:{job.id}"
    )
    return job


async def access_export(*, actor: Actor, export_id: int) -> ExportJob:
    """The actor's own export of the current city, or NotFound (anyone else's, another
    city's and a missing one alike)."""
    require(actor, Action.EXPORT_CREATE)
    job = await ExportJob.get_or_none(id=export_id)
    if job is None or actor.user_id is None or job.requested_by != actor.user_id:
        raise NotFound("export", field="exportId")
    return job


async def download_link(*, actor: Actor, job: ExportJob) -> DownloadLink | None:
    """A presigned GET of a finished, unexpired export (None before or after)."""
    require(actor, Action.EXPORT_CREATE)
    now = clock.now()
    if job.status != ExportStatus.DONE or job.object_key is None:
        return None
    if job.expires_at is None or job.expires_at <= now:
        return None
    name = f"{job.kind}-{job.id}.{job.format}"
    url = await storage.presigned_get(job.object_key, expires=LINK_TTL, file_name=name)
    return DownloadLink(url=url, expires_at=min(now + LINK_TTL, job.expires_at))


# --- writing --------------------------------------------------------------------------


class Sink(Protocol):
    def row(self, values: Sequence[Any]) -> None: ...
    def close(self) -> None: ...


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    """A cell as text a spreadsheet will not run: a leading =, +, -, @ gets a quote."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


class CsvSink:
    def __init__(self, path: Path, header: Sequence[str]) -> None:
        # utf-8 with a BOM: Excel opens Chinese text right
        self._file: IO[str] = path.open("w", newline="", encoding="utf-8-sig")
        self._writer = csv.writer(self._file)
        self._writer.writerow(header)

    def row(self, values: Sequence[Any]) -> None:
        self._writer.writerow([_cell(v) for v in values])

    def close(self) -> None:
        self._file.close()


class XlsxSink:
    """XlsxWriter in ``constant_memory`` mode: each row goes to a temporary file as it
    is written (rows strictly in order), so memory does not grow with the row count."""

    def __init__(self, path: Path, tmpdir: str, header: Sequence[str]) -> None:
        self._book = xlsxwriter.Workbook(
            str(path),
            {
                "constant_memory": True,
                "tmpdir": tmpdir,
                "strings_to_formulas": False,
                "strings_to_urls": False,
                "strings_to_numbers": False,
            },
        )
        self._header = list(header)
        self._sheet: Any = None
        self._row = XLSX_SHEET_ROWS

    def row(self, values: Sequence[Any]) -> None:
        if self._row >= XLSX_SHEET_ROWS:
            self._sheet = self._book.add_worksheet()
            self._sheet.write_row(0, 0, self._header)
            self._row = 1
        self._sheet.write_row(self._row, 0, values)
        self._row += 1

    def close(self) -> None:
        self._book.close()


def open_sink(fmt: ExportFormat, path: Path, tmpdir: str, header: Sequence[str]) -> Sink:
    if fmt is ExportFormat.XLSX:
        return XlsxSink(path, tmpdir, header)
    return CsvSink(path, header)


TICKET_HEADER = (
    "工单编号 number",
    "受理时间 received",
    "渠道 channel",
    "类型 kind",
    "紧急程度 priority",
    "状态 status",
    "分类 category",
    "区域 area",
    "地址 address",
    "诉求内容 content",
    "办理时限 reply deadline",
    "办结时间 closed",
    "满意度 satisfaction",
)


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


async def _stream_tickets(job: ExportJob, actor: Actor, timezone: str, sink: Sink) -> int:
    selection, params = await selection_sql(actor=actor, filter=_filter_of(job.params["filter"]))
    db = ExportJob._meta.db
    counted = await db.execute_query_dict(
        f"SELECT count(*) AS n FROM ({selection}) s",
        params,
    )
    await ExportJob.filter(id=job.id).update(rows_total=counted[0]["n"])
    done = 0
    async with db.acquire_connection() as conn, conn.transaction(readonly=True):
        # each FETCH is short, but the first one sorts the whole selection
        await conn.execute("SET LOCAL statement_timeout = '30min'")
        cursor = conn.cursor(_ticket_sql(selection, len(params)), *params, timezone)
        async for record in cursor:
            sink.row(tuple(record))
            done += 1
            if done % PROGRESS_EVERY == 0:
                await ExportJob.filter(id=job.id).update(rows_done=done)
    return done


REPORT_HEADER = (
    "名次 rank",
    "部门 department",
    "综合得分 score",
    "受理 received",
    "直接答复 direct answered",
    "派单 dispatched",
    "按时签收率 signed on time",
    "按时答复率 replied on time",
    "满意率 satisfaction",
    "办理率 handling",
    "办结率 completion",
    "平均签收工时 sign hours",
    "平均答复工时 reply hours",
)


def _report_row(rank: int | str, name: str, score: float | None, f: Any) -> list[Any]:
    t = f.totals
    return [
        rank,
        name,
        score,
        t.received,
        t.direct_answered,
        t.dispatched,
        f.signed_on_time_rate,
        f.replied_on_time_rate,
        f.satisfaction_rate,
        f.handling_rate,
        f.completion_rate,
        f.sign_hours_avg,
        f.reply_hours_avg,
    ]


async def _write_report(job: ExportJob, actor: Actor, sink: Sink) -> int:
    p = job.params
    report = await dashboard.city_statistics(
        actor=actor,
        first=date.fromisoformat(p["first"]),
        last=date.fromisoformat(p["last"]),
        department_id=p.get("department_id"),
    )
    sink.row(_report_row("", "全部 all", None, report.figures))
    for r in report.departments:
        sink.row(_report_row(r.rank, r.name, r.score, r.figures))
    return 1 + len(report.departments)


_CONTENT_TYPES = {
    ExportFormat.CSV: "text/csv; charset=utf-8",
    ExportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


async def run_export(export_id: int) -> int:
    """Write the export (the worker, in the city's scope); the rows written. A job
    already finished is left alone (a retried job does not write twice); a requester
    who lost the right to read what was asked fails the job with the reason."""
    job = await ExportJob.get_or_none(id=export_id)
    if job is None or job.status in (ExportStatus.DONE, ExportStatus.FAILED):
        return 0
    fmt = ExportFormat(job.format)
    await ExportJob.filter(id=job.id).update(status=ExportStatus.RUNNING.value, rows_done=0)
    try:
        actor = await load_actor(
            user_id=job.requested_by or 0, tenant_id=job.tenant_id, province_id=job.province_id
        )
        tenant = await Tenant.get(id=job.tenant_id)
        with tempfile.TemporaryDirectory(prefix="hotline-export-") as tmpdir:
            path = Path(tmpdir) / f"export.{fmt.value}"
            if job.kind == ExportKind.TICKETS:
                sink = open_sink(fmt, path, tmpdir, TICKET_HEADER)
                rows = await _stream_tickets(job, actor, str(tenant.timezone), sink)
            else:
                sink = open_sink(fmt, path, tmpdir, REPORT_HEADER)
                rows = await _write_report(job, actor, sink)
            sink.close()
            key = storage.tenant_key("exports", str(job.id)) + f".{fmt.value}"
            await storage.upload_file(key, path, content_type=_CONTENT_TYPES[fmt])
    except DomainError as exc:
        await ExportJob.filter(id=job.id).update(
            status=ExportStatus.FAILED.value, error=exc.message, finished_at=clock.now()
        )
        return 0
    now = clock.now()
    await ExportJob.filter(id=job.id).update(
        status=ExportStatus.DONE.value,
        rows_done=rows,
        rows_total=rows,
        object_key=key,
        finished_at=now,
        expires_at=now + OBJECT_TTL,
    )
    return rows
