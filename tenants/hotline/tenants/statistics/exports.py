"""Exports: a ticket list (with the list's filters) or a city report as CSV or XLSX,
written by a worker in constant memory into the object store and handed out as a
short-lived, access-checked download link (docs/statistics.md, "Exports").
(Over 400 lines: city and province exports share the selection, the writers and the
job's life cycle; the province part moves out when it grows.)

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
* Every state change and progress write is announced on the export's pub/sub channel
  (:func:`progress_channel`): the ``exportProgress`` subscription re-reads the row then.
* A province admin's province-wide exports (``PROVINCE_TICKETS``, ``PROVINCE_REPORT``)
  are rows with no city (``tenant_id`` NULL), written and run under the province scope:
  row-level security's province policy is the only thing that lets them read the
  province's cities, and a city scope never sees them.
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

import structlog
import xlsxwriter

from hotline.platform import clock, jobs, pubsub, storage
from hotline.platform.redis import key as redis_key
from hotline.platform.redis import tenant_key
from hotline.platform.tenancy import Scope, ScopeKind, current_scope, use_scope
from hotline.tenants.accounts.memberships import load_actor
from hotline.tenants.kernel.access import Action, Actor, allowed, require
from hotline.tenants.kernel.errors import DomainError, Invalid, NotFound, PermissionDenied
from hotline.tenants.provinces.models import Tenant
from hotline.tenants.statistics import dashboard
from hotline.tenants.statistics.models import ExportJob
from hotline.tenants.tickets.lists import TicketFilter, selection_sql
from hotline.tenants.tickets.models import Channel, Kind, Status, Ticket

BATCH = 2000  # rows fetched per round trip of the cursor
PROGRESS_EVERY = 20_000  # rows between two progress writes
OBJECT_TTL = timedelta(days=1)  # how long a finished export can be downloaded
LINK_TTL = timedelta(minutes=5)  # a download link, like evidence's (never longer)
XLSX_SHEET_ROWS = 1_048_576  # Excel's limit: more rows continue on the next sheet


class ExportKind(enum.StrEnum):
    TICKETS = "tickets"  # the ticket list, with the list's filters
    CITY_REPORT = "city_report"  # the city's figures and its department ranking
    PROVINCE_TICKETS = "province_tickets"  # every city's tickets (a province admin)
    PROVINCE_REPORT = "province_report"  # the province's figures and its city ranking


PROVINCE_KINDS = frozenset({ExportKind.PROVINCE_TICKETS, ExportKind.PROVINCE_REPORT})
log = structlog.get_logger(__name__)


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
    if request.kind is ExportKind.PROVINCE_TICKETS:
        selection = request.filter or TicketFilter()
        _province_filter(selection)
        return {"filter": _filter_params(selection)}
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


def _job_id(export_id: int) -> str:
    return f"export:{export_id}"


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
        "run_export", tenant_id=actor.tenant_id, export_id=job.id, job_id=_job_id(job.id)
    )
    return job


async def _request_province_export(actor: Actor, request: ExportRequest, user_id: int) -> ExportJob:
    """A province-wide export: only a province admin of the actor's province (a city's
    admin, leader or supervisor is refused), recorded and run under the province scope."""
    if actor.province_id is None:
        raise NotFound("province")
    require(actor, Action.EXPORT_PROVINCE, province_id=actor.province_id)
    if request.department_id is not None:
        raise Invalid("a province export covers every city", field="departmentId")
    params = await _check(actor, request)
    with use_scope(Scope.province(actor.province_id, user_id)):
        job = await ExportJob.create(
            tenant_id=None,
            province_id=actor.province_id,
            requested_by=user_id,
            kind=request.kind.value,
            format=request.format.value,
            params=params,
            status=ExportStatus.QUEUED.value,
        )
    await jobs.enqueue_recorded(
        "run_export",
        tenant_id=None,
        province_id=actor.province_id,
        export_id=job.id,
        job_id=_job_id(job.id),
    )
    return job


async def waiting_exports(older_than: datetime) -> list[jobs.Recorded]:
    """The current scope's exports queued before ``older_than`` (a city's own, or the
    province-wide ones in a province scope): the stale-job sweep enqueues them again
    under their stable job id, so one that is merely waiting in the queue runs once."""
    scope = current_scope()
    if scope.kind is ScopeKind.PROVINCE:
        rows: list[Any] = (
            await ExportJob.across_tenants()
            .filter(tenant_id=None, status=ExportStatus.QUEUED.value, created_at__lt=older_than)
            .values_list("id", flat=True)
        )
        extra: dict[str, Any] = {"province_id": scope.province_id}
    else:
        rows = await ExportJob.filter(
            status=ExportStatus.QUEUED.value, created_at__lt=older_than
        ).values_list("id", flat=True)
        extra = {}
    return [
        jobs.Recorded("run_export", _job_id(int(i)), {"export_id": int(i), **extra}) for i in rows
    ]


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
    if job is None and actor.province_id is not None:
        if actor.tenant_id is None:
            require(actor, Action.EXPORT_PROVINCE, province_id=actor.province_id)
        if allowed(actor, Action.EXPORT_PROVINCE, province_id=actor.province_id):
            with use_scope(Scope.province(actor.province_id, actor.user_id)):
                job = await _find(export_id)
    if job is None or actor.user_id is None or job.requested_by != actor.user_id:
        raise NotFound("export", field="exportId")
    return job


def progress_channel(job: ExportJob) -> str:
    """The pub/sub channel announcing the export's progress (the city's, or the
    province's for a province-wide export)."""
    if job.tenant_id is None:
        return redis_key("p", job.province_id, "export", job.id, "progress")
    return tenant_key(job.tenant_id, "export", job.id, "progress")


async def _announce(job: ExportJob) -> None:
    """Best effort: the row is the truth, a subscriber that misses this re-reads it on
    its next notice or its re-check timer."""
    try:
        await pubsub.publish(progress_channel(job), {"export_id": job.id})
    except Exception as exc:
        log.warning("export.announce_failed", export_id=job.id, error=repr(exc))


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
    return await _stream(
        job,
        _ticket_sql(selection, len(params)),
        [*params, timezone],
        (selection, params),
        sink,
    )


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


def _province_filter(f: TicketFilter) -> None:
    """A province-wide list filters by what every city shares: statuses, kinds,
    channels and the received period (categories and areas are each city's own)."""
    for name in ("category_id", "area_id", "keyword", "overdue"):
        if getattr(f, name) is not None:
            raise Invalid(
                "a province export filters by status, kind, channel and period", field=name
            )


def _province_selection(province_id: int, f: TicketFilter) -> tuple[str, list[Any]]:
    """The ids of the province's tickets matching ``f`` (run under the province scope:
    row-level security, not this filter, is what keeps other provinces out)."""
    query = Ticket.across_tenants().filter(province_id=province_id)
    if f.statuses:
        query = query.filter(status__in=list(f.statuses))
    if f.kinds:
        query = query.filter(kind__in=list(f.kinds))
    if f.channels:
        query = query.filter(channel__in=list(f.channels))
    if f.received_from is not None:
        query = query.filter(received_at__gte=f.received_from)
    if f.received_to is not None:
        query = query.filter(received_at__lt=f.received_to)
    ids = query.values_list("id", flat=True)
    ids._choose_db_if_not_chosen()
    ids._make_query()
    sql, params = ids.query.get_parameterized_sql()
    return sql, list(params)


PROVINCE_TICKET_HEADER = ("城市 city", *TICKET_HEADER)


def _province_ticket_sql(selection: str) -> str:
    """Each ticket with its city's name, its times in its city's own zone."""
    local = "to_char({} AT TIME ZONE tn.timezone, 'YYYY-MM-DD HH24:MI')"
    return (
        f"SELECT tn.name, t.number, {local.format('t.received_at')}, t.channel, t.kind, "
        "t.priority, t.status, c.name, a.name, t.address, t.content, "
        f"{local.format('t.reply_deadline')}, {local.format('t.closed_at')}, t.satisfaction "
        "FROM tickets t JOIN tenants tn ON tn.id = t.tenant_id "
        "LEFT JOIN categories c ON c.tenant_id = t.tenant_id AND c.id = t.category_id "
        "LEFT JOIN departments a ON a.tenant_id = t.tenant_id AND a.id = t.area_id "
        f"WHERE t.id IN ({selection}) ORDER BY t.received_at, t.id"
    )


async def _stream(
    job: ExportJob, sql: str, params: list[Any], selection: tuple[str, list[Any]], sink: Sink
) -> int:
    """Count ``selection``, then stream ``sql`` through a server-side cursor into
    ``sink``, writing and announcing the progress every ``PROGRESS_EVERY`` rows."""
    db = ExportJob._meta.db
    counted = await db.execute_query_dict(
        f"SELECT count(*) AS n FROM ({selection[0]}) s", selection[1]
    )
    job.rows_total = int(counted[0]["n"])
    await ExportJob.across_tenants().filter(id=job.id).update(rows_total=job.rows_total)
    await _announce(job)
    done = 0
    async with db.acquire_connection() as conn, conn.transaction(readonly=True):
        # each FETCH is short, but the first one sorts the whole selection
        await conn.execute("SET LOCAL statement_timeout = '30min'")
        cursor = conn.cursor(sql, *params)
        async for record in cursor:
            sink.row(tuple(record))
            done += 1
            if done % PROGRESS_EVERY == 0:
                await ExportJob.across_tenants().filter(id=job.id).update(rows_done=done)
                await _announce(job)
    return done


async def _stream_province_tickets(job: ExportJob, sink: Sink) -> int:
    selection, params = _province_selection(job.province_id, _filter_of(job.params["filter"]))
    return await _stream(
        job,
        _province_ticket_sql(selection),
        params,
        (selection, params),
        sink,
    )


PROVINCE_REPORT_HEADER = ("名次 rank", "城市 city", *REPORT_HEADER[2:])


async def _write_province_report(job: ExportJob, actor: Actor, sink: Sink) -> int:
    p = job.params
    report = await dashboard.province_statistics(
        actor=actor, first=date.fromisoformat(p["first"]), last=date.fromisoformat(p["last"])
    )
    sink.row(_report_row("", "全省 province", None, report.figures))
    for r in report.cities:
        sink.row(_report_row(r.rank, r.name, r.score, r.figures))
    return 1 + len(report.cities)


_CONTENT_TYPES = {
    ExportFormat.CSV: "text/csv; charset=utf-8",
    ExportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


async def run_export(export_id: int) -> int:
    """Write the export (the worker, in the city's scope — or the province's for a
    province-wide one); the rows written. A job already finished is left alone (a
    retried or re-enqueued job does not write twice); a requester who lost the right to
    read what was asked fails the job with the reason."""
    job = await _find(export_id)
    if job is None or job.status in (ExportStatus.DONE, ExportStatus.FAILED):
        return 0
    fmt = ExportFormat(job.format)
    rows_of = ExportJob.across_tenants().filter(id=job.id)
    await rows_of.update(status=ExportStatus.RUNNING.value, rows_done=0)
    job.status, job.rows_done = ExportStatus.RUNNING.value, 0
    await _announce(job)
    try:
        actor = await load_actor(
            user_id=job.requested_by or 0, tenant_id=job.tenant_id, province_id=job.province_id
        )
        with tempfile.TemporaryDirectory(prefix="hotline-export-") as tmpdir:
            path = Path(tmpdir) / f"export.{fmt.value}"
            kind = ExportKind(job.kind)
            if kind is ExportKind.PROVINCE_TICKETS:
                sink = open_sink(fmt, path, tmpdir, PROVINCE_TICKET_HEADER)
                rows = await _stream_province_tickets(job, sink)
            elif kind is ExportKind.PROVINCE_REPORT:
                sink = open_sink(fmt, path, tmpdir, PROVINCE_REPORT_HEADER)
                rows = await _write_province_report(job, actor, sink)
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
            await storage.upload_file(key, path, content_type=_CONTENT_TYPES[fmt])
    except DomainError as exc:
        await rows_of.update(
            status=ExportStatus.FAILED.value, error=exc.message, finished_at=clock.now()
        )
        job.status = ExportStatus.FAILED.value
        await _announce(job)
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
    await _announce(job)
    return rows
