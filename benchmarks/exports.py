"""Exports: throughput (rows/s) and peak memory of a ticket-list export through the
worker's function — server-side cursor, CSV or XLSX (XlsxWriter constant_memory) in a
temporary file, upload to the object store — with N tickets written by SQL.

The memory figure is the growth of the process's peak resident memory during the export
(Linux ``clear_refs`` resets the peak, ``VmHWM`` reads it): what a worker really needs.
The baseline, in the same run, is PostgreSQL's own ``COPY (SELECT …) TO STDOUT`` of the
same rows into a file: the floor any export pays to read its rows.

``python -m benchmarks.exports [tickets]`` (default 1,000,000; ``--smoke`` 5,000)
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
from tortoise import Tortoise

from benchmarks.environment import bench_environment
from hotline.platform import storage
from hotline.platform.db.config import credentials, init_orm
from hotline.platform.db.migrate import ensure_app_role, run_migrations
from hotline.platform.jobs import close_pools
from hotline.platform.redis import close_redis
from hotline.platform.settings import Settings, get_settings
from hotline.platform.tenancy import Scope, use_scope
from hotline.tenants.accounts.models import Membership, User
from hotline.tenants.departments.models import Department, DepartmentKind
from hotline.tenants.kernel.access import Actor
from hotline.tenants.kernel.roles import Role
from hotline.tenants.provinces.models import Province, Tenant
from hotline.tenants.statistics import exports
from hotline.tenants.statistics.models import ExportJob
from hotline.tenants.tickets.lists import TicketFilter

TICKETS = 1_000_000
SMOKE_TICKETS = 5_000
XLSX_SHARE = 5  # XLSX is measured over 1/5 of the rows (its writer is the slow part)
SH = ZoneInfo("Asia/Shanghai")

_BULK = """
INSERT INTO tickets (tenant_id, province_id, created_at, updated_at, number, query_code_hash,
  channel, kind, priority, status, title, content, anonymous, confidential, address,
  area_id, received_at, direct_answer, public_reply, revisit_attempts,
  reopen_count, urge_count, reject_reason, timeline_seq, timeline_hash, version)
SELECT $1, $2, r, r, 'JN' || i, md5(i::text), 'phone', 'complaint', 'normal', 'received',
  '', '路边违章建筑挡住人行道，影响通行 ' || i, false, false, '历下区泉城路' || (i % 500) || '号',
  $3, r, false, '', 0, 0, 0, '', 0, '', 0
FROM (SELECT i, $4::timestamptz + (i * interval '1 second') AS r
      FROM generate_series(1, $5) AS i) s"""


def _rss(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


def _reset_peak() -> int:
    # not Linux: the figure is then the process's lifetime peak
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")
    return _rss("VmRSS")


async def _city() -> tuple[Tenant, Actor, int]:
    with use_scope(Scope.platform()):
        province = await Province.create(code="370000", slug="shandong", name="Shandong")
        tenant = await Tenant.create(
            province=province, code="370100", slug="jinan", name="Jinan", number_prefix="JN"
        )
    with use_scope(Scope.city(tenant.id, province.id)):
        center = await Department.create(kind=DepartmentKind.CENTER, name="中心", path="/")
        center.path = f"/{center.id}/"
        await center.save(update_fields=["path"])
    actor = Actor(
        user_id=None,
        tenant_id=tenant.id,
        province_id=province.id,
        roles=frozenset({Role.SUPERVISOR}),
    )
    return tenant, actor, center.id


async def _export(
    tenant: Tenant, actor: Actor, fmt: exports.ExportFormat, selection: TicketFilter
) -> tuple[int, float, int]:
    """rows, seconds, peak RSS growth of one export (the worker's own function)."""
    with use_scope(Scope.platform()):
        user = await User.get_or_none(username="bench-supervisor")
        if user is None:
            user = await User.create(username="bench-supervisor", display_name="bench")
    with use_scope(Scope.city(tenant.id, tenant.province_id, user.id)):
        if not await Membership.filter(user_id=user.id).exists():
            await Membership.create(user=user, role=Role.SUPERVISOR)
        person = Actor(
            user_id=user.id,
            tenant_id=tenant.id,
            province_id=tenant.province_id,
            roles=actor.roles,
        )
        job = await exports.request_export(
            actor=person,
            request=exports.ExportRequest(
                kind=exports.ExportKind.TICKETS, format=fmt, filter=selection
            ),
        )
        base = _reset_peak()
        began = time.perf_counter()
        rows = await exports.run_export(job.id)
        seconds = time.perf_counter() - began
        growth = _rss("VmHWM") - base
        done = await ExportJob.get(id=job.id)
        assert done.status == "done", done.error
    return rows, seconds, growth


async def measure(settings: Settings, tickets: int) -> dict[str, float]:
    await storage.ensure_bucket(settings)
    tenant, actor, center = await _city()
    start = datetime(2026, 3, 1, tzinfo=SH)
    conn = await asyncpg.connect(**credentials(settings.database_url))
    try:
        began = time.perf_counter()
        await conn.execute(_BULK, tenant.id, tenant.province_id, center, start, tickets)
        await conn.execute("ANALYZE tickets")
        loaded = time.perf_counter() - began
        with tempfile.TemporaryDirectory() as tmp:
            began = time.perf_counter()
            with (Path(tmp) / "copy.csv").open("wb") as out:
                await conn.copy_from_query(
                    "SELECT number, received_at, channel, kind, priority, status, address, "
                    "content FROM tickets WHERE tenant_id = $1 ORDER BY received_at, id",
                    tenant.id,
                    output=out,
                    format="csv",
                )
            copy_s = time.perf_counter() - began
    finally:
        await conn.close()
    csv_rows, csv_s, csv_mem = await _export(
        tenant, actor, exports.ExportFormat.CSV, TicketFilter()
    )
    share = max(1, tickets // XLSX_SHARE)
    xlsx_rows, xlsx_s, xlsx_mem = await _export(
        tenant,
        actor,
        exports.ExportFormat.XLSX,
        TicketFilter(received_to=start + timedelta(seconds=share + 1)),
    )
    assert (csv_rows, xlsx_rows) == (tickets, share), (csv_rows, xlsx_rows)
    return {
        "tickets": tickets,
        "load_s": loaded,
        "copy_s": copy_s,
        "csv_rows": csv_rows,
        "csv_s": csv_s,
        "csv_mib": csv_mem / 2**20,
        "xlsx_rows": xlsx_rows,
        "xlsx_s": xlsx_s,
        "xlsx_mib": xlsx_mem / 2**20,
    }


def report(f: dict[str, float]) -> None:
    print("exports: ticket list through the worker's function (cursor -> file -> object store)")
    print(f"  {int(f['tickets']):,} tickets loaded in {f['load_s']:.1f} s")
    copy_rate = f["tickets"] / f["copy_s"]
    csv_rate = f["csv_rows"] / f["csv_s"]
    print(f"  baseline COPY TO file: {copy_rate:,.0f} rows/s")
    print(
        f"  CSV : {int(f['csv_rows']):,} rows, {csv_rate:,.0f} rows/s "
        f"(ratio to COPY {copy_rate / csv_rate:.1f}), peak RSS growth {f['csv_mib']:.1f} MiB"
    )
    print(
        f"  XLSX: {int(f['xlsx_rows']):,} rows, {f['xlsx_rows'] / f['xlsx_s']:,.0f} rows/s, "
        f"peak RSS growth {f['xlsx_mib']:.1f} MiB"
    )


async def _run(settings: Settings, tickets: int) -> None:
    await run_migrations(settings)
    await ensure_app_role(settings)
    await init_orm(settings)
    try:
        report(await measure(settings, tickets))
    finally:
        await close_pools()  # the job pool of this event loop: the next benchmark has its own
        await close_redis()
        await Tortoise.close_connections()


def main(tickets: int = TICKETS, *, smoke: bool = False) -> int:
    with bench_environment(need_s3=True):
        asyncio.run(_run(get_settings(), SMOKE_TICKETS if smoke else tickets))
    return 0


if __name__ == "__main__":
    smoke = "--smoke" in sys.argv
    args = [int(a) for a in sys.argv[1:2] if a.isdigit()]
    sys.exit(main(*args, smoke=smoke))
