"""Writing an export's file: the sinks (CSV, or XLSX in XlsxWriter's ``constant_memory``
mode), the column headers, the server-side cursor that streams a selection into a sink
with its progress, and the progress announcements (docs/statistics.md, "Exports").
Shared by the city exports (``exports.py``) and the province-wide ones
(``province_exports.py``).
"""

from __future__ import annotations

import csv
import enum
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Protocol

import structlog
import xlsxwriter

from hotline.platform import pubsub
from hotline.platform.redis import key as redis_key
from hotline.platform.redis import tenant_key
from hotline.tenants.statistics.metrics import Unranked
from hotline.tenants.statistics.models import ExportJob
from hotline.tenants.tickets.lists import TicketFilter
from hotline.tenants.tickets.models import Channel, Kind, Status

BATCH = 2000  # rows fetched per round trip of the cursor
PROGRESS_EVERY = 20_000  # rows between two progress writes
XLSX_SHEET_ROWS = 1_048_576  # Excel's limit: more rows continue on the next sheet
log = structlog.get_logger(__name__)


class ExportFormat(enum.StrEnum):
    CSV = "csv"
    XLSX = "xlsx"


CONTENT_TYPES = {
    ExportFormat.CSV: "text/csv; charset=utf-8",
    ExportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def filter_params(f: TicketFilter) -> dict[str, Any]:
    """A ticket filter as the job keeps it (JSON)."""
    out = asdict(f)
    for name in ("received_from", "received_to"):
        out[name] = out[name].isoformat() if out[name] else None
    for name in ("statuses", "kinds", "channels"):
        out[name] = [str(v) for v in out[name]]
    return out


def filter_of(params: dict[str, Any]) -> TicketFilter:
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


def progress_channel(job: ExportJob) -> str:
    """The pub/sub channel announcing the export's progress (the city's, or the
    province's for a province-wide export)."""
    return _channel(job.id, job.tenant_id, job.province_id)


def _channel(export_id: int, tenant_id: int | None, province_id: int) -> str:
    if tenant_id is None:
        return redis_key("p", province_id, "export", export_id, "progress")
    return tenant_key(tenant_id, "export", export_id, "progress")


async def announce(job: ExportJob) -> None:
    await announce_row(job.id, job.tenant_id, job.province_id)


async def announce_row(export_id: int, tenant_id: int | None, province_id: int) -> None:
    """Best effort: the row is the truth, a subscriber that misses this re-reads it on
    its next notice or its re-check timer."""
    try:
        await pubsub.publish(_channel(export_id, tenant_id, province_id), {"export_id": export_id})
    except Exception as exc:
        log.warning("export.announce_failed", export_id=export_id, error=repr(exc))


class Sink(Protocol):
    def row(self, values: Sequence[Any]) -> None: ...
    def close(self) -> None: ...


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> Any:
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
        self._writer.writerow([cell(v) for v in values])

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


# A ranking's entry without a score (dashboard.Ranked.unranked) is not given a place.
_UNRANKED = {
    Unranked.NO_WORK_ORDERS: "未排名：无工单 unranked: no work orders",
    Unranked.NOTHING_TO_SCORE: "未排名：无可评分项 unranked: nothing to score",
}


def place(rank: int, unranked: Unranked | None) -> int | str:
    """The rank column of a ranking's entry: its place, or why it has none."""
    return rank if unranked is None else _UNRANKED[unranked]


def report_row(rank: int | str, name: str, score: float | None, f: Any) -> list[Any]:
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


async def stream(
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
    await announce(job)
    done = 0
    async with db.acquire_connection() as conn, conn.transaction(readonly=True):
        # each FETCH is short, but the first one sorts the whole selection
        await conn.execute("SET LOCAL statement_timeout = '30min'")
        cursor = conn.cursor(sql, *params, prefetch=BATCH)
        async for record in cursor:
            sink.row(tuple(record))
            done += 1
            if done % PROGRESS_EVERY == 0:
                await ExportJob.across_tenants().filter(id=job.id).update(rows_done=done)
                await announce(job)
    return done
