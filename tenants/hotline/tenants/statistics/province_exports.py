"""Province-wide exports (docs/statistics.md, "Province-wide exports"): a province
admin's list of every ticket of the province's cities, and the province's report with
its city ranking. Run under the province scope: row-level security's province policy
is the only thing that lets them read several cities (no ``BYPASSRLS``).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from hotline.tenants.kernel.access import Actor
from hotline.tenants.kernel.errors import Invalid
from hotline.tenants.statistics import dashboard
from hotline.tenants.statistics.export_files import (
    REPORT_HEADER,
    TICKET_HEADER,
    Sink,
    filter_of,
    place,
    report_row,
    stream,
)
from hotline.tenants.statistics.models import ExportJob
from hotline.tenants.tickets.lists import TicketFilter, plain_filter
from hotline.tenants.tickets.models import Ticket


def check_filter(f: TicketFilter) -> None:
    """A province-wide list filters by what every city shares: statuses, kinds,
    channels and the received period (categories and areas are each city's own)."""
    for name in ("category_id", "area_id", "keyword", "overdue"):
        if getattr(f, name) is not None:
            raise Invalid(
                "a province export filters by status, kind, channel and period", field=name
            )


def _selection(province_id: int, f: TicketFilter) -> tuple[str, list[Any]]:
    """The ids of the province's tickets matching ``f`` (run under the province scope:
    row-level security, not this filter, is what keeps other provinces out)."""
    query = plain_filter(Ticket.across_tenants().filter(province_id=province_id), f)
    ids = query.values_list("id", flat=True)
    ids._choose_db_if_not_chosen()
    ids._make_query()
    sql, params = ids.query.get_parameterized_sql()
    return sql, list(params)


PROVINCE_TICKET_HEADER = ("城市 city", *TICKET_HEADER)


def _ticket_sql(selection: str) -> str:
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


async def stream_tickets(job: ExportJob, sink: Sink) -> int:
    selection, params = _selection(job.province_id, filter_of(job.params["filter"]))
    return await stream(
        job,
        _ticket_sql(selection),
        params,
        (selection, params),
        sink,
    )


PROVINCE_REPORT_HEADER = ("名次 rank", "城市 city", *REPORT_HEADER[2:])


async def write_report(job: ExportJob, actor: Actor, sink: Sink) -> int:
    p = job.params
    report = await dashboard.province_statistics(
        actor=actor, first=date.fromisoformat(p["first"]), last=date.fromisoformat(p["last"])
    )
    sink.row(report_row("", "全省 province", None, report.figures))
    for r in report.cities:
        sink.row(report_row(place(r.rank, r.unranked), r.name, r.score, r.figures))
    return 1 + len(report.cities)
